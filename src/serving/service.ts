import os from 'node:os';
import { z } from 'zod';
import { formatKeyPath, loadPipelineConfig, type PipelineConfig, readParam } from '../config/pipelineConfig.js';
import { listResolvedModels, resolvePipelineModels } from '../config/models.js';
import { ApiError, ConfigError } from '../errors.js';
import { fetchUrl, DEFAULT_FETCH_LIMITS, type FetchLimits } from '../io/fetchUrl.js';
import { decodeBase64, isUrl } from '../io/input.js';
import {
  type EndpointContext,
  type EndpointSpec,
  NO_PROGRESS,
  type PipelineDescriptor,
  type ProgressReporter,
  type ServingConfig,
} from '../pipelines/define.js';
import { type DocumentServingExtra, documentLanes } from '../pipelines/shared/documentInput.js';
import { pipelineDescriptor } from '../pipelines/registry.js';
import { optional } from '../pipelines/shared/request.js';
import { type ImageFields, imageFields, withoutImages } from '../pipelines/shared/schemas.js';
import { cudaInstalled, type DeviceSpec, formatDevice, parseDevice } from '../runtime/device.js';
import { type DynamicBatching, InstancePool, type Lease, type RecycleOptions } from '../runtime/instancePool.js';
import { validateBody } from './validation.js';

export interface ServiceOptions {
  /** `--pipeline` values: built-in names or YAML paths */
  pipelines: string[];
  /** `--device`; undefined = gpu:0 when CUDA is usable, else cpu (PaddleX's default) */
  device?: string;
  /** instances per pipeline unless the pipeline says otherwise (`--workers`) */
  workers?: number;
  /** tasks that may wait per pipeline unless the pipeline says otherwise (`--max-queue`; default 16 × its instances) */
  maxQueue?: number;
  /** per pipeline_name: instances and queue bound (CLI `--pipeline-workers NAME=N`), over the YAML's Serving.workers / Serving.max_queue */
  pipelineWorkers?: Record<string, number>;
  pipelineMaxQueue?: Record<string, number>;
  /** `--timeout`: seconds a request may take before it gets 504 (default 600) */
  timeoutSeconds?: number;
  /** replace instances after N tasks or above an RSS limit (off by default) */
  recycle?: RecycleOptions;
  /** dynamic batching per endpoint path (high-stability serving's `dynamic_batching`; off in basic serving, as in PaddleX) */
  batching?: Record<string, DynamicBatching>;
  /** intra-op threads of each instance's sessions; default cores / instances (basic serving shares the cores out) */
  intraOpThreads?: number;
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
  pool: InstancePool;
}

/** Where a request's time went, for logs. */
export interface StageTimings {
  downloadMs: number;
  queueMs: number;
  computeMs: number;
}

export interface InvokeOptions {
  /** aborted when the client goes away: the request's waiting and not-yet-started tasks are dropped */
  signal?: AbortSignal;
  /** filled in when the request ends, successful or not */
  stages?: StageTimings;
  /** the request's admission from `admitEarly` (taken over: ended when the request ends); else it is admitted here */
  lease?: Lease;
  /** files sent as multipart parts or raw bodies, by the placeholder their request field holds (see `uploads.ts`) */
  uploads?: ReadonlyMap<string, Uint8Array>;
  /** told about pages as they finish (async jobs) */
  progress?: ProgressReporter;
  /** when `signal` aborts, kill (and replace) the instances running the request's tasks rather than let them finish (cancelled jobs) */
  killOnAbort?: boolean;
  /** overrides `--timeout` (async jobs have their own): milliseconds, and the option that set them (for the 504) */
  timeout?: { ms: number; option: string };
}

/** A request admitted to its pipeline and running; its result settles when the endpoint's handler ends. */
export interface RunningRequest {
  result: Promise<Record<string, unknown>>;
}

/** PaddleX's default request timeout is none; a generous one still frees instances from runaway inputs. */
export const DEFAULT_TIMEOUT_SECONDS = 600;

export interface ServedEndpoint {
  endpoint: EndpointSpec;
  pipeline: ServedPipeline;
  /** the endpoint's request schema plus the server's own request options (`returnImages`) */
  request: z.ZodType;
  /** result fields holding Base64 images, left out when a request says `returnImages: false` */
  imageFields: ImageFields;
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
 * The pipelines of one server: configs loaded, models resolved, one instance pool per pipeline,
 * endpoints indexed. Used by the HTTP app, local `--input` prediction and the benchmarks alike.
 */
export class PipelineService {
  private readonly byPath = new Map<string, ServedEndpoint>();
  private readonly inflight = new Map<string, number>();
  private draining = false;

  private constructor(
    readonly pipelines: ServedPipeline[],
    readonly device: DeviceSpec,
    private readonly fetchLimits: FetchLimits,
    private readonly timeoutMs: number,
  ) {
    for (const pipeline of pipelines) {
      for (const endpoint of pipeline.descriptor.endpoints) {
        this.byPath.set(endpoint.path, { endpoint, pipeline, request: servedRequest(endpoint), imageFields: imageFields(endpoint.result) });
      }
    }
  }

  static async start(options: ServiceOptions): Promise<PipelineService> {
    const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    const device = options.device ? parseDevice(options.device) : defaultDevice();
    checkDevice(device);
    const timeoutSeconds = options.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
    if (!(timeoutSeconds > 0)) throw new ConfigError(`--timeout ${timeoutSeconds}: expected a positive number of seconds`);
    const loaded = await loadPipelines(options.pipelines, log);
    const opened: Array<Omit<ServedPipeline, 'pool'>> = [];
    const served: ServedPipeline[] = [];
    try {
      for (const pipeline of loaded) {
        await pipeline.descriptor.open?.(pipeline.config, pipeline.serving);
        opened.push(pipeline);
      }
      for (const pipeline of loaded) served.push({ ...pipeline, pool: await startPool(pipeline, device, options, log) });
    } catch (err) {
      await Promise.all(served.map((p) => p.pool.close()));
      await closePipelines(opened);
      throw err;
    }
    return new PipelineService(served, device, { ...DEFAULT_FETCH_LIMITS, ...options.fetchLimits }, timeoutSeconds * 1000);
  }

  endpoints(): ServedEndpoint[] {
    return [...this.byPath.values()];
  }

  endpoint(path: string): ServedEndpoint | undefined {
    return this.byPath.get(path);
  }

  /** Why the server is not ready (empty = ready): draining, or a pipeline without a live instance with its models loaded. */
  readinessProblems(): string[] {
    if (this.draining) return ['the server is shutting down'];
    return this.pipelines.filter((p) => !p.pool.ready).map((p) => `${p.config.pipeline_name} has no live inference instance (restarting)`);
  }

  /** requests of an endpoint being handled now */
  inflightRequests(path: string): number {
    return this.inflight.get(path) ?? 0;
  }

  /**
   * Admit a request to an endpoint with one lane before its body is read, so that a full pipeline
   * refuses it (503) without receiving or parsing the body. `invoke` widens the lease once the body
   * shows the request needs more lanes (a PDF's pages); whoever holds it must end it.
   */
  admitEarly(served: ServedEndpoint): Lease {
    return this.admit(served, 1);
  }

  /** Lanes of the pipeline's instances for a request, unless its endpoint runs nothing on them. */
  private admit(served: ServedEndpoint, lanes: number): Lease {
    const { pool } = served.pipeline;
    return served.endpoint.usesInstances === false ? pool.withoutInstances(served.endpoint.path) : pool.admit(lanes, served.endpoint.path);
  }

  /** Validate a request body, admit it and run it: `begin` with its result awaited. */
  async invoke(served: ServedEndpoint, body: unknown, logId: string, options: InvokeOptions = {}): Promise<Record<string, unknown>> {
    return this.begin(served, body, logId, options).result;
  }

  /**
   * Validate a request body and admit it now, or widen its early admission (`options.lease`) to the
   * lanes it needs: throws 422, or 503 at once when its pipeline is full (before any URL is
   * downloaded). The endpoint then runs within the timeout; `result` is PaddleX's `result` object.
   */
  begin(served: ServedEndpoint, body: unknown, logId: string, options: InvokeOptions = {}): RunningRequest {
    let request: Record<string, unknown>;
    let returnImages: unknown;
    let lease: Lease;
    try {
      ({ returnImages, ...request } = validateBody(served.request, body) as Record<string, unknown>);
      // no drawing whose image would be dropped
      if (returnImages === false && takesVisualize(served.endpoint)) request.visualize = false;
      const lanes = served.endpoint.usesInstances === false ? 0 : this.lanes(served, request);
      lease = options.lease ?? this.admit(served, lanes);
      lease.widen(lanes);
    } catch (err) {
      // an invalid body, or a PDF too wide for what is left: its early admission is given back now
      options.lease?.end();
      throw err;
    }
    const result = this.run(served, request, lease, logId, options);
    return { result: returnImages === false ? result.then((r) => withoutImages(r, served.imageFields)) : result };
  }
  private async run(
    served: ServedEndpoint,
    request: unknown,
    lease: Lease,
    logId: string,
    options: InvokeOptions,
  ): Promise<Record<string, unknown>> {
    const { pipeline, endpoint } = served;
    const timeout = options.timeout ?? { ms: this.timeoutMs, option: '--timeout' };
    const controller = new AbortController();
    const deadline = performance.now() + timeout.ms;
    const timeoutError = () =>
      new ApiError(504, `The request did not finish within the server's timeout of ${timeout.ms / 1000} s (${timeout.option})`);
    const timer = setTimeout(() => controller.abort(timeoutError()), timeout.ms);
    const clientGone = () => {
      controller.abort(new ApiError(499, 'The client closed the connection'));
      if (options.killOnAbort) lease.killRunning();
    };
    options.signal?.addEventListener('abort', clientGone, { once: true });
    const stages: StageTimings = options.stages ?? { downloadMs: 0, queueMs: 0, computeMs: 0 };
    this.inflight.set(endpoint.path, this.inflightRequests(endpoint.path) + 1);
    try {
      const context = this.context(pipeline, logId, lease, { signal: controller.signal, deadline, timeoutError, stages, options });
      const handling = endpoint.handle(request, context);
      // once aborted the answer is given; the handler ends on its own (its further tasks are refused)
      handling.catch(() => {});
      return await Promise.race([handling, rejectWhenAborted(controller.signal)]);
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', clientGone);
      controller.abort(new ApiError(499, 'The request ended'));
      lease.end();
      stages.queueMs = lease.queueMs;
      stages.computeMs = lease.computeMs;
      this.inflight.set(endpoint.path, this.inflightRequests(endpoint.path) - 1);
    }
  }

  private lanes(served: ServedEndpoint, request: any): number {
    if (served.endpoint.input.kind !== 'document') return 1;
    return documentLanes(request, served.pipeline.serving.extra as DocumentServingExtra, served.pipeline.pool.size);
  }

  private context(
    pipeline: ServedPipeline,
    logId: string,
    lease: Lease,
    run: { signal: AbortSignal; deadline: number; timeoutError: () => ApiError; stages: StageTimings; options: InvokeOptions },
  ): EndpointContext<any, any> {
    const { signal, deadline, timeoutError, stages, options } = run;
    return {
      logId,
      config: pipeline.config,
      serving: pipeline.serving,
      run: (op, payload) => lease.run(op, payload, { signal, deadline, timeoutError }),
      releaseInstances: () => lease.end(),
      parallelism: lease.lanes,
      signal,
      progress: options.progress ?? NO_PROGRESS,
      allowPrivateUrls: this.fetchLimits.allowPrivate,
      loadInput: async (value, field) => {
        const uploaded = options.uploads?.get(value);
        if (uploaded) return uploaded;
        if (!isUrl(value)) return decodeBase64(value, field);
        const started = performance.now();
        try {
          return await fetchUrl(value, field, this.fetchLimits);
        } finally {
          stages.downloadMs += performance.now() - started;
        }
      },
    };
  }

  /** Refuse new requests (readiness goes false), let admitted ones finish, then stop every instance. */
  async close(): Promise<void> {
    this.draining = true;
    await Promise.all(this.pipelines.map((p) => p.pool.close()));
    await closePipelines(this.pipelines);
  }
}

async function closePipelines(pipelines: Array<Pick<ServedPipeline, 'descriptor' | 'serving'>>): Promise<void> {
  for (const p of pipelines) await p.descriptor.close?.(p.serving);
}

/** The request options this server adds to every endpoint's own (documented in the README). */
const servingRequestOptions = {
  /** false: leave every Base64 image out of the result (PaddleX has `visualize`, which only drops drawings) */
  returnImages: optional(z.boolean()).meta({
    description:
      'pipeserve extension: false leaves every Base64 image (visualisations, input and output images) out of the result; default true',
  }),
};

/** An endpoint's request schema as this server accepts it: the endpoint's own plus the server's request options. */
export function servedRequest(endpoint: EndpointSpec): z.ZodType {
  return endpoint.request instanceof z.ZodObject ? endpoint.request.extend(servingRequestOptions) : endpoint.request;
}

/** Whether the endpoint's request has PaddleX's `visualize` field (speech, video and BEV requests have none). */
export function takesVisualize(endpoint: EndpointSpec): boolean {
  return endpoint.request instanceof z.ZodObject && 'visualize' in endpoint.request.shape;
}

function rejectWhenAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
}

const instanceCount = z.number().int().positive();

/** The pipeline's instance pool: CLI per-pipeline value, else its YAML's Serving.workers / max_queue, else the server-wide one. */
function startPool(
  pipeline: Omit<ServedPipeline, 'pool'>,
  device: DeviceSpec,
  options: ServiceOptions,
  log: (line: string) => void,
): Promise<InstancePool> {
  const name = pipeline.config.pipeline_name;
  const yaml = (pipeline.config.Serving ?? {}) as Record<string, unknown>;
  const cores = os.availableParallelism();
  const instances =
    options.pipelineWorkers?.[name] ??
    readParam(yaml, 'workers', instanceCount, `${pipeline.source}: Serving`, options.workers ?? (options.highPerformance ? 1 : cores));
  if (!Number.isInteger(instances) || instances < 1) throw new ConfigError(`--workers ${instances}: expected a whole number ≥ 1`);
  const maxQueue =
    options.pipelineMaxQueue?.[name] ??
    readParam(yaml, 'max_queue', instanceCount, `${pipeline.source}: Serving`, options.maxQueue ?? instances * 16);
  return InstancePool.start({
    name,
    instances,
    maxQueue,
    recycle: options.recycle,
    batching: options.batching,
    log,
    init: {
      session: { device, intraOpThreads: options.intraOpThreads ?? Math.max(1, Math.floor(cores / instances)) },
      widenLoneRequests: options.intraOpThreads === undefined,
      pipeline: { config: pipeline.config, workerModule: pipeline.descriptor.worker },
    },
  });
}

async function loadPipelines(names: string[], log: (line: string) => void): Promise<Array<Omit<ServedPipeline, 'pool'>>> {
  if (!names.length) throw new ConfigError('No pipeline given: pass --pipeline <name|path.yaml> (repeatable)');
  const served: Array<Omit<ServedPipeline, 'pool'>> = [];
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
