/**
 * The measurements of one pipeline: raw model compute, the worker op in-process, HTTP and
 * service.invoke, and two workers × threads configurations (OCR's peers: ocrPeers.ts). Figures that are
 * compared with each other are measured interleaved, so a busy neighbour on the machine slows all
 * sides of a ratio alike.
 */
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { decodeBase64 } from '../src/io/input.js';
import { type EndpointContext, NO_PROGRESS } from '../src/pipelines/define.js';
import type { WorkerModule, WorkerOps } from '../src/runtime/context.js';
import { createSession } from '../src/runtime/session.js';
import { createBasicApp } from '../src/serving/basic/app.js';
import { PipelineService, type ServedEndpoint } from '../src/serving/service.js';
import { validateBody } from '../src/serving/validation.js';
import { RecordingRuntime, type RecordedRun } from './capture.js';
import { interleavedLatency, interleavedThroughput, JsonClient, mean, median, type Load } from './load.js';
import { CpuWatch } from './machine.js';

export const CORES = os.availableParallelism();
export const CONCURRENCIES = [1, 2, 4, 8];
/** requests in flight for "saturated" throughput */
export const SATURATED = 8;
/** the server's default --max-body-mb */
const MAX_BODY_BYTES = 100 * 2 ** 20;
const CPU = { kind: 'cpu', id: 0 } as const;

/** PipelineService gives each worker floor(cores / workers) intra-op threads. */
export const threadsFor = (workers: number) => Math.max(1, Math.floor(CORES / workers));
export const configName = (workers: number) => `${workers}x${threadsFor(workers)}`;
/** The configurations compared: PipelineService's default (one single-threaded worker per core) first. */
export const WORKER_COUNTS = CORES > 1 ? [CORES, 1] : [1];

export function note(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

export interface BenchImage {
  name: string;
  bytes: Uint8Array;
}

export interface PipelineSpec {
  key:
    | 'classification'
    | 'classification_compute_bound'
    | 'detection'
    | 'ocr'
    | 'ocr_rec_batch1'
    | 'doc_preprocessing'
    | 'semantic_segmentation'
    | 'anomaly_detection'
    | 'multilabel_classification'
    | 'instance_segmentation'
    | 'open_vocabulary_detection'
    | 'ts_forecast'
    | 'ts_anomaly'
    | 'ts_classification'
    | 'rotated'
    | 'pedestrian'
    | 'vehicle'
    | 'keypoints'
    | 'table_recognition'
    | 'table_recognition_v2'
    | 'formula'
    | 'speech_recognition'
    | 'video_classification'
    | 'video_detection'
    | 'bev_detection';
  /** model(s) and input size, for the legend */
  description: string;
  /** --pipeline value */
  pipeline: string;
  endpoint: string;
  images: BenchImage[];
  /** the JSON request for one Base64 image, visualize off */
  request(base64: string): Record<string, unknown>;
  /** timed rounds over the images for latency figures */
  rounds: number;
  /** throughput: each load runs `slices` times for `sliceMs` */
  sliceMs: number;
  slices: number;
}

interface SessionVariant {
  name: string;
  threads: number;
  spinWait?: boolean;
}

/** Session settings a --use_hpip could pick, compared on the recorded tensors. */
export const SESSION_VARIANTS: SessionVariant[] = [
  { name: '1 intra-op thread', threads: 1 },
  ...(CORES > 1
    ? [
        { name: `${CORES} intra-op threads`, threads: CORES },
        { name: `${CORES} intra-op threads, no spin-wait`, threads: CORES, spinWait: false },
      ]
    : []),
];

export interface ConfigFigures {
  workers: number;
  /** HTTP ms/img at concurrency 1 */
  c1Ms: number;
  /** HTTP images/s at SATURATED */
  saturatedRate: number;
}

export interface PipelineFigures {
  spec: PipelineSpec;
  /** ms/img: mean over the images of each image's median */
  rawMs: number;
  /** raw ms/img per SESSION_VARIANTS entry */
  rawByVariant: number[];
  inProcessMs: number;
  /** per image: what the raw figure ran */
  rawDetail: string[];
  /** the main configuration (WORKER_COUNTS[0]) first */
  configs: ConfigFigures[];
  /** main configuration: HTTP images/s by concurrency */
  rates: Map<number, number>;
  /** main configuration: service.invoke images/s at SATURATED (no HTTP) */
  invokeRate: number;
  /** main configuration: the first HTTP result of each image */
  results: unknown[];
  /** share of the machine other processes used meanwhile */
  foreignCpu?: number;
}

// ------------------------------------------------------------------------------------- servers

export interface Server {
  workers: number;
  service: PipelineService;
  served: ServedEndpoint;
  origin: string;
}

export async function withServer<T>(spec: PipelineSpec, workers: number, use: (server: Server) => Promise<T>): Promise<T> {
  const service = await PipelineService.start({ pipelines: [spec.pipeline], workers, device: 'cpu', log: () => {} });
  try {
    const app = await createBasicApp(service, { maxBodyBytes: MAX_BODY_BYTES });
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = app.server.address() as AddressInfo;
      const served = service.endpoint(spec.endpoint);
      if (!served) throw new Error(`${spec.pipeline} does not serve ${spec.endpoint}`);
      return await use({ workers, service, served, origin: `http://127.0.0.1:${port}` });
    } finally {
      await app.close();
    }
  } finally {
    await service.close();
  }
}

/** One server per worker count, all up at once (idle workers cost memory, not CPU). */
function withServers<T>(
  spec: PipelineSpec,
  workerCounts: number[],
  use: (servers: Server[]) => Promise<T>,
  started: Server[] = [],
): Promise<T> {
  if (started.length === workerCounts.length) return use(started);
  return withServer(spec, workerCounts[started.length]!, (server) => withServers(spec, workerCounts, use, [...started, server]));
}

// ------------------------------------------------------------------------------------- latency

interface WorkerTask {
  op: string;
  payload: unknown;
}

/**
 * The task the endpoint sends to a worker for `body`, found by running the real handler with an
 * in-process runTask (which also warms the instance up).
 */
async function workerTaskOf(served: ServedEndpoint, instance: WorkerOps, body: unknown): Promise<WorkerTask> {
  let task: WorkerTask | undefined;
  const ctx: EndpointContext<WorkerOps, unknown> = {
    logId: 'bench',
    config: served.pipeline.config,
    serving: served.pipeline.serving,
    parallelism: 1,
    signal: new AbortController().signal,
    progress: NO_PROGRESS,
    allowPrivateUrls: false,
    run: async (op, payload) => {
      task ??= { op, payload };
      return instance[op]!(payload);
    },
    releaseInstances: () => {},
    loadInput: async (value, field) => decodeBase64(value, field),
  };
  await served.endpoint.handle(validateBody(served.endpoint.request, body), ctx);
  if (!task) throw new Error(`${served.endpoint.path}: the handler ran no worker task`);
  return task;
}

/**
 * The pipeline's worker created on this thread (sessions from `runtime`), the worker task of each
 * request, and the session runs each task made, to replay alone as raw model compute.
 */
export async function captureWorkerRuns(
  served: ServedEndpoint,
  requests: unknown[],
  runtime: RecordingRuntime,
): Promise<{ runOp(item: number): Promise<unknown>; recorded: RecordedRun[][] }> {
  const worker = ((await import(served.pipeline.descriptor.worker)) as { default: WorkerModule }).default;
  const instance = await worker.create(served.pipeline.config, runtime);
  const tasks: WorkerTask[] = [];
  for (const request of requests) tasks.push(await workerTaskOf(served, instance, request));
  const runOp = (item: number) => instance[tasks[item]!.op]!(tasks[item]!.payload);
  const recorded: RecordedRun[][] = [];
  for (let item = 0; item < tasks.length; item++) recorded.push(await runtime.record(() => runOp(item)));
  return { runOp, recorded };
}

/** Mean raw ms/img of the recorded runs on fresh sessions of each variant, interleaved. */
async function rawBySessionVariant(recorded: RecordedRun[][], rounds: number): Promise<number[]> {
  const paths = [...new Set(recorded.flat().map((r) => r.onnxPath))];
  const variants = await Promise.all(
    SESSION_VARIANTS.map(async (variant) => {
      const options = { device: CPU, intraOpThreads: variant.threads, spinWait: variant.spinWait };
      return new Map(await Promise.all(paths.map(async (p) => [p, await createSession(p, options)] as const)));
    }),
  );
  try {
    const calls = variants.map((sessions) => async (item: number) => {
      for (const run of recorded[item]!) await sessions.get(run.onnxPath)!.run(run.feeds);
    });
    return (await interleavedLatency(recorded.length, rounds, calls)).map(mean);
  } finally {
    await Promise.all(variants.flatMap((sessions) => [...sessions.values()].map((s) => s.release())));
  }
}

function describeRuns(runs: RecordedRun[], byModel: Map<string, number>): string {
  const models = [...new Set(runs.map((r) => r.model))];
  return models
    .map((model) => {
      const own = runs.filter((r) => r.model === model);
      const shapes = [...new Set(own.map((r) => r.inputs))];
      const shown = shapes.length > 2 ? `${shapes.slice(0, 2).join(' | ')} | …` : shapes.join(' | ');
      return `${model}: ${own.length} run${own.length > 1 ? 's' : ''} [${shown}] ${byModel.get(model)!.toFixed(1)} ms`;
    })
    .join('; ');
}

interface LatencyFigures {
  rawMs: number;
  rawByVariant: number[];
  inProcessMs: number;
  rawDetail: string[];
  /** HTTP ms/img at concurrency 1, per server */
  httpMs: number[];
  results: unknown[];
}

/**
 * Concurrency 1, interleaved per image: the model sessions alone replaying the tensors the pipeline
 * fed them (raw), the worker op called on this thread (sessions with the main configuration's thread
 * count), and one HTTP request to each server.
 */
async function measureLatency(spec: PipelineSpec, servers: Server[], requests: unknown[], bodies: Buffer[]): Promise<LatencyFigures> {
  const main = servers[0]!;
  const runtime = new RecordingRuntime({ device: CPU, intraOpThreads: threadsFor(main.workers) });
  const clients = servers.map((s) => new JsonClient(s.origin, 1));
  try {
    const { runOp, recorded } = await captureWorkerRuns(main.served, requests, runtime);
    const results: unknown[] = [];
    for (const body of bodies) results.push(await clients[0]!.post(spec.endpoint, body));

    // per image: model → ms of each call (the first call is the warm-up round)
    const modelSamples = recorded.map(() => new Map<string, number[]>());
    const replay = async (item: number) => {
      const perModel = new Map<string, number>();
      for (const run of recorded[item]!) {
        const started = performance.now();
        await run.replay();
        perModel.set(run.model, (perModel.get(run.model) ?? 0) + performance.now() - started);
      }
      for (const [model, value] of perModel) modelSamples[item]!.set(model, [...(modelSamples[item]!.get(model) ?? []), value]);
    };
    note(`${spec.key}: c=1 latency (raw, in-process, ${servers.map((s) => `HTTP ${configName(s.workers)}`).join(', ')})`);
    const [raw, predict, ...http] = await interleavedLatency(recorded.length, spec.rounds, [
      replay,
      runOp,
      ...clients.map((client) => (item: number) => client.post(spec.endpoint, bodies[item]!)),
    ]);
    note(`${spec.key}: raw model compute by session options`);
    const rawByVariant = await rawBySessionVariant(recorded, Math.max(2, Math.ceil(spec.rounds / 2)));
    const byModel = modelSamples.map((samples) => new Map([...samples].map(([model, values]) => [model, median(values.slice(1))])));
    return {
      rawMs: mean(raw!),
      rawByVariant,
      inProcessMs: mean(predict!),
      rawDetail: spec.images.map(
        (img, i) =>
          `${img.name}: ${raw![i]!.toFixed(1)} ms = ${describeRuns(recorded[i]!, byModel[i]!)}; in-process predict ${predict![i]!.toFixed(1)} ms`,
      ),
      httpMs: http.map(mean),
      results,
    };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await runtime.release();
  }
}

// ------------------------------------------------------------------------------------- throughput

interface ThroughputFigures {
  rates: Map<number, number>;
  invokeRate: number;
  /** HTTP images/s at SATURATED, per server */
  saturatedRates: number[];
}

/**
 * Closed-loop images/s through HTTP at each concurrency (main server); at SATURATED also
 * service.invoke on the main server and HTTP on the other servers, interleaved.
 */
async function measureThroughput(spec: PipelineSpec, servers: Server[], requests: unknown[], bodies: Buffer[]): Promise<ThroughputFigures> {
  const main = servers[0]!;
  const rates = new Map<number, number>();
  let invokeRate = 0;
  let saturatedRates: number[] = [];
  for (const concurrency of CONCURRENCIES) {
    const saturated = concurrency === SATURATED;
    const clients = (saturated ? servers : [main]).map((s) => new JsonClient(s.origin, concurrency));
    try {
      const loads: Record<string, Load> = {};
      clients.forEach((client, i) => {
        loads[`HTTP ${configName(servers[i]!.workers)}`] = { concurrency, run: (item) => client.post(spec.endpoint, bodies[item]!) };
      });
      if (saturated) loads['service.invoke'] = { concurrency, run: (item) => main.service.invoke(main.served, requests[item], 'bench') };
      note(`${spec.key}: throughput c=${concurrency} (${Object.keys(loads).join(', ')})`);
      const measured = await interleavedThroughput(Object.values(loads), bodies.length, spec.sliceMs, spec.slices);
      const rateOf = (name: string) => measured[Object.keys(loads).indexOf(name)]!;
      rates.set(concurrency, rateOf(`HTTP ${configName(main.workers)}`));
      if (saturated) {
        invokeRate = rateOf('service.invoke');
        saturatedRates = measured.slice(0, clients.length);
      }
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  }
  return { rates, invokeRate, saturatedRates };
}

export async function measurePipeline(spec: PipelineSpec): Promise<PipelineFigures> {
  const watch = new CpuWatch();
  const requests = spec.images.map((img) => spec.request(Buffer.from(img.bytes).toString('base64')));
  const bodies = requests.map((r) => Buffer.from(JSON.stringify(r)));
  note(`${spec.key}: starting servers ${WORKER_COUNTS.map(configName).join(', ')}`);
  return withServers(spec, WORKER_COUNTS, async (servers) => {
    const latency = await measureLatency(spec, servers, requests, bodies);
    const throughput = await measureThroughput(spec, servers, requests, bodies);
    return {
      spec,
      rawMs: latency.rawMs,
      rawByVariant: latency.rawByVariant,
      inProcessMs: latency.inProcessMs,
      rawDetail: latency.rawDetail,
      configs: servers.map((s, i) => ({ workers: s.workers, c1Ms: latency.httpMs[i]!, saturatedRate: throughput.saturatedRates[i]! })),
      rates: throughput.rates,
      invokeRate: throughput.invokeRate,
      results: latency.results,
      foreignCpu: watch.foreignShare(),
    };
  });
}
