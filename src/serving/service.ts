import os from 'node:os';
import { formatKeyPath, loadPipelineConfig, type PipelineConfig } from '../config/pipelineConfig.js';
import { listResolvedModels, resolvePipelineModels } from '../config/models.js';
import { ConfigError } from '../errors.js';
import { fetchUrl, DEFAULT_FETCH_LIMITS, type FetchLimits } from '../io/fetchUrl.js';
import { decodeBase64, isUrl } from '../io/input.js';
import type { EndpointContext, EndpointSpec, PipelineDescriptor, ServingConfig } from '../pipelines/define.js';
import { pipelineDescriptor } from '../pipelines/registry.js';
import { cudaInstalled, type DeviceSpec, formatDevice, parseDevice } from '../runtime/device.js';
import { WorkerPool } from '../runtime/workerPool.js';
import { validateBody } from './validation.js';

export interface ServiceOptions {
  /** `--pipeline` values: built-in names or YAML paths */
  pipelines: string[];
  /** `--device`; undefined = gpu:0 when CUDA is usable, else cpu (PaddleX's default) */
  device?: string;
  workers?: number;
  maxQueue?: number;
  /**
   * `--use_hpip`: the configuration `npm run bench` found fastest per request: one worker whose
   * sessions use every core (lower latency; the default of one worker per core has more throughput).
   */
  highPerformance?: boolean;
  fetchLimits?: Partial<FetchLimits>;
  /** startup lines (model sources); defaults to stderr */
  log?: (line: string) => void;
}

export interface ServedPipeline {
  key: string;
  source: string;
  config: PipelineConfig;
  descriptor: PipelineDescriptor;
  serving: ServingConfig<unknown>;
}

export interface ServedEndpoint {
  endpoint: EndpointSpec;
  pipeline: ServedPipeline;
}

export function defaultDevice(): DeviceSpec {
  return cudaInstalled() ? { kind: 'gpu', id: 0 } : { kind: 'cpu', id: 0 };
}

function checkDevice(device: DeviceSpec): void {
  if (device.kind === 'gpu' && !cudaInstalled()) {
    throw new ConfigError(
      `--device ${formatDevice(device)}: onnxruntime-node's CUDA execution provider is not installed, so no GPU can be used. ` +
        'Install it with `npm rebuild onnxruntime-node --onnxruntime-node-install=true` on a machine with CUDA 12 and cuDNN 9, or use --device cpu.',
    );
  }
}

/** `Serving` of the YAML with PaddleX's defaults; `extra` must satisfy the pipeline's schema, else startup stops. */
function servingConfig(config: PipelineConfig, descriptor: PipelineDescriptor, source: string): ServingConfig<unknown> {
  const parsed = descriptor.servingExtra.safeParse(config.Serving?.extra ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) =>
      `  Serving.extra.${formatKeyPath(i.path)}: ${i.message}`.replace('extra.(top level)', 'extra'),
    );
    throw new ConfigError(`${source}: invalid Serving.extra for ${config.pipeline_name}:\n${problems.join('\n')}`);
  }
  return { visualize: config.Serving?.visualize ?? true, extra: parsed.data };
}

/**
 * The pipelines of one server: configs loaded, models resolved, workers started, endpoints indexed.
 * Used by the HTTP app, local `--input` prediction and the benchmarks alike.
 */
export class PipelineService {
  private readonly byPath = new Map<string, ServedEndpoint>();

  private constructor(
    readonly pipelines: ServedPipeline[],
    readonly pool: WorkerPool,
    readonly device: DeviceSpec,
    private readonly fetchLimits: FetchLimits,
  ) {
    for (const pipeline of pipelines) {
      for (const endpoint of pipeline.descriptor.endpoints) this.byPath.set(endpoint.path, { endpoint, pipeline });
    }
  }

  static async start(options: ServiceOptions): Promise<PipelineService> {
    const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    const device = options.device ? parseDevice(options.device) : defaultDevice();
    checkDevice(device);
    const pipelines = await loadPipelines(options.pipelines, log);
    const opened: ServedPipeline[] = [];
    try {
      for (const p of pipelines) {
        await p.descriptor.open?.(p.config, p.serving);
        opened.push(p);
      }
    } catch (err) {
      await closePipelines(opened);
      throw err;
    }
    const cores = os.availableParallelism();
    const workers = options.workers ?? (options.highPerformance ? 1 : cores);
    if (!Number.isInteger(workers) || workers < 1) throw new ConfigError(`--workers ${workers}: expected a whole number ≥ 1`);
    const pool = await WorkerPool.start({
      workers,
      maxQueue: options.maxQueue ?? workers * 16,
      init: {
        session: {
          device,
          intraOpThreads: Math.max(1, Math.floor(cores / workers)),
        },
        pipelines: pipelines.map((p) => ({ key: p.key, config: p.config, workerModule: p.descriptor.worker })),
      },
    }).catch(async (err: unknown) => {
      await closePipelines(pipelines);
      throw err;
    });
    return new PipelineService(pipelines, pool, device, { ...DEFAULT_FETCH_LIMITS, ...options.fetchLimits });
  }

  endpoints(): ServedEndpoint[] {
    return [...this.byPath.values()];
  }

  endpoint(path: string): ServedEndpoint | undefined {
    return this.byPath.get(path);
  }

  /** Validate a request body and run the endpoint; returns PaddleX's `result` object. */
  async invoke(served: ServedEndpoint, body: unknown, logId: string): Promise<Record<string, unknown>> {
    const request = validateBody(served.endpoint.request, body);
    return served.endpoint.handle(request, this.context(served.pipeline, logId));
  }

  context(pipeline: ServedPipeline, logId: string): EndpointContext<any, any> {
    return {
      logId,
      config: pipeline.config,
      serving: pipeline.serving,
      run: (op, payload, options = {}) => this.pool.run(pipeline.key, op, payload, options.transfer, options),
      workers: this.pool.size,
      loadInput: async (value, field) => (isUrl(value) ? fetchUrl(value, field, this.fetchLimits) : decodeBase64(value, field)),
    };
  }

  async close(): Promise<void> {
    await this.pool.close();
    await closePipelines(this.pipelines);
  }
}

async function closePipelines(pipelines: ServedPipeline[]): Promise<void> {
  for (const p of pipelines) await p.descriptor.close?.(p.serving);
}

async function loadPipelines(names: string[], log: (line: string) => void): Promise<ServedPipeline[]> {
  if (!names.length) throw new ConfigError('No pipeline given: pass --pipeline <name|path.yaml> (repeatable)');
  const served: ServedPipeline[] = [];
  const owners = new Map<string, string>();
  for (const [index, name] of names.entries()) {
    const { config, source } = await loadPipelineConfig(name);
    const descriptor = pipelineDescriptor(config.pipeline_name);
    const serving = servingConfig(config, descriptor, source);
    for (const endpoint of descriptor.endpoints) {
      const owner = owners.get(endpoint.path);
      if (owner) {
        throw new ConfigError(
          `Endpoint ${endpoint.path} would be served twice: by ${owner} and by ${source}. Each --pipeline must bring its own endpoints.`,
        );
      }
      owners.set(endpoint.path, source);
    }
    const resolved = resolvePipelineModels(descriptor.activeConfig?.(config) ?? config);
    for (const { keyPath, model } of listResolvedModels(resolved)) {
      log(`INFO:     Creating model: ${model.modelName} (${config.pipeline_name}: ${keyPath}) from ${model.source}`);
    }
    served.push({ key: `${index}:${config.pipeline_name}`, source, config: resolved, descriptor, serving });
  }
  return served;
}
