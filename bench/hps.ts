/**
 * High-stability serving in `npm run bench`: the pipeline behind the Triton protocol (the SDK's
 * model repository as written, one instance with every core) against basic serving with one worker
 * and the raw model compute; and instance_group count 2 against count 1 with the same intra-op
 * threads per instance (one), as Triton scales: count N = N instances, each configured alike. All
 * in the same run and measured interleaved.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { closeClients, tritonRequest } from '@pipeserve/hps-client';
import { Pool } from 'undici';
import { INTRA_OP_THREADS_PARAMETER, modelNameOfEndpoint } from '../src/serving/triton/modelRepository.js';
import { defaultModelConfig, writeHpsSdk } from '../src/serving/triton/sdk.js';
import { type HpsServer, startHpsServer } from '../src/serving/triton/server.js';
import { RecordingRuntime } from './capture.js';
import { interleavedLatency, interleavedThroughput, JsonClient, type Load, mean } from './load.js';
import { captureWorkerRuns, CORES, note, type PipelineSpec, SATURATED, threadsFor, withServer } from './measure.js';
import { formatTable, ms, perSecond, ratio, verdict } from './table.js';

const CPU = { kind: 'cpu', id: 0 } as const;
/** concurrencies of the throughput rows: one request per instance of count 2, and saturated */
const HPS_CONCURRENCIES = [2, SATURATED];
/** intra-op threads per instance in the instance_group scaling rows (count 1 and count 2 alike) */
const SCALING_THREADS = 1;

export interface HpsFigures {
  key: string;
  /** c=1 ms/img, mean over the images of each image's median */
  rawMs: number;
  basicMs: number;
  grpcMs: number;
  httpMs: number;
  /** images/s per concurrency (SDK configuration: count 1, every core) */
  rates: Array<{ concurrency: number; basic: number; grpc: number; http: number }>;
  /** images/s over gRPC at concurrency 2 with SCALING_THREADS per instance: instance_group count 1 and 2 */
  scaling: { count1: number; count2: number };
}

/**
 * The pipeline's SDK model repository served on free ports in this process: as written, or with
 * `count` instances of `threads` intra-op threads each.
 */
async function startHps(spec: PipelineSpec, group?: { count: number; threads: number }): Promise<HpsServer> {
  const sdk = await writeHpsSdk(spec.pipeline, await mkdtemp(path.join(os.tmpdir(), 'pipeserve-bench-hps-')));
  const repo = path.join(sdk, 'server', 'model_repo');
  if (group) {
    await writeFile(
      path.join(repo, modelNameOfEndpoint(spec.endpoint), 'config.pbtxt'),
      `${defaultModelConfig('KIND_CPU').replace('count: 1', `count: ${group.count}`)}parameters: { key: "${INTRA_OP_THREADS_PARAMETER}" value: { string_value: "${group.threads}" } }\n`,
    );
  }
  return startHpsServer({
    pipelineConfig: path.join(sdk, 'server', 'pipeline_config.yaml'),
    modelRepository: repo,
    host: '127.0.0.1',
    httpPort: 0,
    grpcPort: 0,
    metricsPort: 0,
    deviceType: 'cpu',
    log: () => {},
  });
}

/** KServe v2 infer over HTTP with pre-built JSON bodies (as the basic-serving client pre-builds its bodies). */
class KserveClient {
  private readonly pool: Pool;

  constructor(port: number, connections: number) {
    this.pool = new Pool(`http://127.0.0.1:${port}`, { connections, pipelining: 1 });
  }

  static body(request: unknown): Buffer {
    const inputs = [{ name: 'input', shape: [1, 1], datatype: 'BYTES', data: [JSON.stringify(request)] }];
    return Buffer.from(JSON.stringify({ inputs, outputs: [{ name: 'output' }] }));
  }

  async infer(model: string, body: Buffer): Promise<void> {
    const res = await this.pool.request({ path: `/v2/models/${model}/infer`, method: 'POST', body });
    const text = await res.body.text();
    const envelope = res.statusCode === 200 ? JSON.parse(JSON.parse(text).outputs[0].data[0]) : undefined;
    if (envelope?.errorCode !== 0) throw new Error(`HPS HTTP infer: ${res.statusCode} ${text.slice(0, 300)}`);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/** rounds of every page at once on a fresh server, so each of its instances has run most pages */
const WARM_ROUNDS = 3;

export async function measureHps(spec: PipelineSpec): Promise<HpsFigures> {
  const model = modelNameOfEndpoint(spec.endpoint);
  const requests = spec.images.map((img) => spec.request(Buffer.from(img.bytes).toString('base64')));
  const basicBodies = requests.map((r) => Buffer.from(JSON.stringify(r)));
  const kserveBodies = requests.map((r) => KserveClient.body(r));
  note(`${spec.key}: HPS servers (SDK config; count 1 and 2 with ${SCALING_THREADS} thread each) and basic serving with 1 worker`);
  const hps = [
    await startHps(spec),
    await startHps(spec, { count: 1, threads: SCALING_THREADS }),
    await startHps(spec, { count: 2, threads: SCALING_THREADS }),
  ] as const;
  const grpcUrl = (server: HpsServer) => `127.0.0.1:${server.ports.grpc}`;
  const grpc = (server: HpsServer) => async (item: number) => {
    const envelope = await tritonRequest(grpcUrl(server), model, requests[item], { timeout: 600 });
    if (envelope.errorCode !== 0) throw new Error(`HPS gRPC infer: ${envelope.errorCode} ${envelope.errorMsg}`);
  };
  const runtime = new RecordingRuntime({ device: CPU, intraOpThreads: threadsFor(1) });
  try {
    return await withServer(spec, 1, async (basic) => {
      const { recorded } = await captureWorkerRuns(basic.served, requests, runtime);
      const replay = async (item: number) => {
        for (const run of recorded[item]!) await run.replay();
      };
      const basicClient = new JsonClient(basic.origin, 1);
      const kserve = new KserveClient(hps[0].ports.http, 1);
      note(`${spec.key}: HPS c=1 latency (raw, basic HTTP, HPS gRPC, HPS HTTP)`);
      const [raw, basicMs, grpcMs, httpMs] = (
        await interleavedLatency(requests.length, spec.rounds, [
          replay,
          (item) => basicClient.post(spec.endpoint, basicBodies[item]!),
          grpc(hps[0]),
          (item) => kserve.infer(model, kserveBodies[item]!),
        ])
      ).map(mean);
      await Promise.all([basicClient.close(), kserve.close()]);

      const rates: HpsFigures['rates'] = [];
      for (const concurrency of HPS_CONCURRENCIES) {
        const basicLoad = new JsonClient(basic.origin, concurrency);
        const kserveLoad = new KserveClient(hps[0].ports.http, concurrency);
        try {
          const loads: Load[] = [
            { concurrency, run: (item) => basicLoad.post(spec.endpoint, basicBodies[item]!) },
            { concurrency, run: grpc(hps[0]) },
            { concurrency, run: (item) => kserveLoad.infer(model, kserveBodies[item]!) },
          ];
          note(`${spec.key}: HPS throughput c=${concurrency} (basic 1 worker, HPS gRPC, HPS HTTP)`);
          const [basicRate, grpcRate, httpRate] = await interleavedThroughput(loads, requests.length, spec.sliceMs, spec.slices);
          rates.push({ concurrency, basic: basicRate!, grpc: grpcRate!, http: httpRate! });
        } finally {
          await Promise.all([basicLoad.close(), kserveLoad.close()]);
        }
      }
      note(`${spec.key}: instance_group scaling, gRPC c=2 (count 1 and count 2, ${SCALING_THREADS} thread per instance)`);
      // onnxruntime runs a session's first calls at each new input shape slowly, and these servers have
      // served nothing yet: every instance sees the pages before the measurement (a few short slices would
      // otherwise mostly time first calls)
      for (const server of [hps[1], hps[2]])
        for (let round = 0; round < WARM_ROUNDS; round++) await Promise.all(requests.map((_, item) => grpc(server)(item)));
      const [count1, count2] = await interleavedThroughput(
        [
          { concurrency: 2, run: grpc(hps[1]) },
          { concurrency: 2, run: grpc(hps[2]) },
        ],
        requests.length,
        spec.sliceMs,
        spec.slices,
      );
      return {
        key: spec.key,
        rawMs: raw!,
        basicMs: basicMs!,
        grpcMs: grpcMs!,
        httpMs: httpMs!,
        rates,
        scaling: { count1: count1!, count2: count2! },
      };
    });
  } finally {
    closeClients();
    await runtime.release();
    await Promise.all(hps.map((s) => s.close()));
  }
}

export function hpsTable(all: HpsFigures[]): string {
  const row = (label: string, cell: (f: HpsFigures) => string) => [label, ...all.map(cell)];
  const at = (f: HpsFigures, c: number) => f.rates.find((r) => r.concurrency === c)!;
  return formatTable(
    ['high-stability serving, per image', ...all.map((f) => f.key)],
    [
      row('raw model compute (session.run replay), ms', (f) => ms(f.rawMs)),
      row('basic HTTP c=1 (1 worker), ms', (f) => ms(f.basicMs)),
      row('HPS gRPC c=1 (count 1), ms', (f) => ms(f.grpcMs)),
      row('HPS HTTP c=1 (count 1), ms', (f) => ms(f.httpMs)),
      row('latency c=1: HPS gRPC / basic', (f) => ratio(f.grpcMs / f.basicMs)),
      row('latency c=1: HPS HTTP / basic', (f) => ratio(f.httpMs / f.basicMs)),
      row('latency c=1: HPS gRPC / raw', (f) => ratio(f.grpcMs / f.rawMs)),
      ...HPS_CONCURRENCIES.flatMap((c) => [
        row(`basic HTTP images/s c=${c} (1 worker)`, (f) => perSecond(at(f, c).basic)),
        row(`HPS gRPC images/s c=${c}`, (f) => perSecond(at(f, c).grpc)),
        row(`HPS HTTP images/s c=${c}`, (f) => perSecond(at(f, c).http)),
      ]),
      row(`HPS gRPC images/s c=2, count 1 x ${SCALING_THREADS} thread`, (f) => perSecond(f.scaling.count1)),
      row(`HPS gRPC images/s c=2, count 2 x ${SCALING_THREADS} thread`, (f) => perSecond(f.scaling.count2)),
      row('throughput c=2: count 2 / count 1', (f) => ratio(f.scaling.count2 / f.scaling.count1)),
    ],
  );
}

export const HPS_LEGEND = `(HPS = the SDK's config, instance_group count 1 with ${CORES} intra-op threads (every core, the default per instance); basic serving with --workers 1 = the same single instance; raw = the sessions of one ${threadsFor(1)}-thread instance replayed alone; the scaling rows give every instance ${SCALING_THREADS} intra-op thread (config.pbtxt parameter ${INTRA_OP_THREADS_PARAMETER}), count 1 and count 2 alike, on ${CORES} cores)`;

export function hpsTargets(all: HpsFigures[]): string[] {
  return all.flatMap((f) => {
    const overhead = f.grpcMs / f.basicMs - 1;
    const value = f.scaling.count2 / f.scaling.count1;
    return [
      `${verdict(overhead <= 0.05)}  ${f.key}: HPS gRPC latency c=1 <= 5% over basic serving: ${(overhead * 100).toFixed(1)}%`,
      `${verdict(value >= 1.6)}  ${f.key}: HPS throughput c=2, instance_group count 2 >= 1.6x count 1 (${SCALING_THREADS} thread per instance): ${ratio(value)}`,
    ];
  });
}
