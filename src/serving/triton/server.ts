/**
 * High-stability serving: one pipeline behind Triton's three ports (HTTP 8000, gRPC 8001, metrics
 * 8002), its endpoints exposed as the models of a PaddleX HPS model repository.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { ConfigError } from '../../errors.js';
import { PipelineService } from '../service.js';
import { TritonCore } from './core.js';
import { startTritonGrpc } from './grpc.js';
import { createTritonHttpApp } from './http.js';
import { TritonMetrics } from './metrics.js';
import { bindModels, endpointPathOfModel, INTRA_OP_THREADS_PARAMETER, loadModelRepository, type TritonModel } from './modelRepository.js';

/** How long gRPC calls in flight may take to finish after SIGTERM before their channels are closed. */
const GRPC_GRACE_MS = 5000;

/** Triton's default ports, which PaddleX's HPS clients and KServe's v2 protocol expect. */
export const TRITON_DEFAULT_PORTS = { http: 8000, grpc: 8001, metrics: 8002 } as const;

export interface HpsOptions {
  /** the pipeline YAML (PADDLEX_HPS_PIPELINE_CONFIG_PATH / --pipeline_config) */
  pipelineConfig: string;
  modelRepository: string;
  host?: string;
  httpPort?: number;
  grpcPort?: number;
  metricsPort?: number;
  /** cpu or gpu: picks config_<device>.pbtxt where a model has no config.pbtxt (PADDLEX_HPS_DEVICE_TYPE) */
  deviceType?: 'cpu' | 'gpu';
  useHpip?: boolean;
  allowPrivateUrls?: boolean;
  log?: (line: string) => void;
}

export interface HpsServer {
  core: TritonCore;
  service: PipelineService;
  ports: { http: number; grpc: number; metrics: number };
  close(): Promise<void>;
}

/**
 * Intra-op threads of every instance. As in Triton (and PaddleX's HPS, whose instances each get its
 * fixed cpu_threads), an instance's threads do not depend on instance_group.count: count N = N
 * instances with the same threads each. Default every core, onnxruntime's own default; the models'
 * `intra_op_thread_count` parameter (Triton's onnxruntime backend key) sets it. The models of one
 * pipeline share its instances, so they must agree.
 */
function instanceThreads(repository: Array<Omit<TritonModel, 'served'>>): number {
  const set = repository.filter((m) => m.intraOpThreads !== undefined);
  const values = new Set(set.map((m) => m.intraOpThreads!));
  if (values.size > 1) {
    throw new ConfigError(
      `parameters["${INTRA_OP_THREADS_PARAMETER}"] differs between ${set.map((m) => `${m.name} (${m.intraOpThreads})`).join(', ')}: ` +
        'the models of one pipeline run in the same instances, so set the same value (or leave it out) in each config.pbtxt',
    );
  }
  return set[0]?.intraOpThreads ?? os.availableParallelism();
}

export async function startHpsServer(options: HpsOptions): Promise<HpsServer> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const host = options.host ?? '0.0.0.0';
  const deviceType = options.deviceType ?? 'cpu';
  const repository = loadModelRepository(options.modelRepository, deviceType);
  // Each model's instance_group asks for isolated pipeline copies; the pipeline gets as many as its busiest model asks for.
  const instances = Math.max(...repository.map((m) => m.instances));
  const gpuGroup = repository.flatMap((m) => m.config.instance_group ?? []).find((g) => g.kind === 'KIND_GPU');
  if (gpuGroup && deviceType === 'cpu') {
    throw new ConfigError(
      'instance_group kind KIND_GPU in a CPU deployment: set PADDLEX_HPS_DEVICE_TYPE=gpu or use config_cpu.pbtxt (KIND_CPU)',
    );
  }
  const threads = instanceThreads(repository);
  const batching = Object.fromEntries(
    repository.flatMap((m) =>
      m.dynamicBatching && m.maxBatchSize > 0
        ? [
            [
              endpointPathOfModel(m.name),
              {
                maxBatchSize: m.maxBatchSize,
                maxQueueDelayMs: m.dynamicBatching.maxQueueDelayUs / 1000,
                preferredBatchSizes: m.dynamicBatching.preferredBatchSizes,
              },
            ],
          ]
        : [],
    ),
  );
  const service = await PipelineService.start({
    pipelines: [options.pipelineConfig],
    workers: instances,
    intraOpThreads: threads,
    batching,
    device: gpuGroup ? `gpu:${gpuGroup.gpus?.[0] ?? 0}` : 'cpu',
    highPerformance: options.useHpip,
    fetchLimits: { allowPrivate: Boolean(options.allowPrivateUrls) },
    log,
  });
  try {
    const models = bindModels(repository, service.endpoints());
    for (const m of models)
      log(
        `I1201 model_lifecycle] successfully loaded '${m.name}' version 1 (${m.instances} instance${m.instances > 1 ? 's' : ''}, ${threads} intra-op thread${threads > 1 ? 's' : ''} each)`,
      );
    const metrics = new TritonMetrics();
    const core = new TritonCore(service, models, metrics);

    const http = await createTritonHttpApp(core);
    await http.listen({ host, port: options.httpPort ?? TRITON_DEFAULT_PORTS.http });
    const { server: grpc, port: grpcPort } = await startTritonGrpc(core, host, options.grpcPort ?? TRITON_DEFAULT_PORTS.grpc);
    const metricsServer: Server = createServer((req, res) => {
      if (req.url?.split('?')[0] !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      metrics.registry.metrics().then((text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text));
    });
    await new Promise<void>((resolve) => metricsServer.listen(options.metricsPort ?? TRITON_DEFAULT_PORTS.metrics, host, resolve));
    const ports = {
      http: (http.server.address() as AddressInfo).port,
      grpc: grpcPort,
      metrics: (metricsServer.address() as AddressInfo).port,
    };
    log(`I1201 grpc_server] Started GRPCInferenceService at ${host}:${ports.grpc}`);
    log(`I1201 http_server] Started HTTPService at ${host}:${ports.http}`);
    log(`I1201 http_server] Started Metrics Service at ${host}:${ports.metrics}`);
    return {
      core,
      service,
      ports,
      async close() {
        core.exiting = true;
        // In-flight calls get a grace period; clients that keep their channels open must not hold the exit.
        const grace = setTimeout(() => grpc.forceShutdown(), GRPC_GRACE_MS);
        await new Promise<void>((resolve) => grpc.tryShutdown(() => resolve()));
        clearTimeout(grace);
        await http.close();
        const metricsClosed = new Promise((resolve) => metricsServer.close(resolve));
        metricsServer.closeAllConnections();
        await metricsClosed;
        await service.close();
      },
    };
  } catch (err) {
    await service.close();
    throw err;
  }
}
