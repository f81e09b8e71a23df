/**
 * `npm run bench:ipc`: where the HTTP process spends its CPU per request, to decide how requests
 * should reach the inference instances (child processes). Two parts:
 *
 * 1. Each step the HTTP process runs for one classification request, timed alone on this thread:
 *    reading and parsing the JSON body, validating it, Base64 decoding, and one IPC round trip to a
 *    child process (advanced serialization, as InstancePool uses) carrying the compressed image
 *    bytes (what is sent today), the Base64 string (decoding moved into the instance), or decoded
 *    RGB pixels (decoding in the HTTP process), plus what decoding the image here would cost.
 * 2. CPU per request at saturation on the classification fixture server, split between this process
 *    and the instances: over HTTP (server and undici client in this process, as `npm run bench`
 *    measures), through service.invoke (the "in-process" side of the bench ratio), and the undici
 *    client alone against a sink that answers a canned envelope.
 *
 * CPU time is reported next to wall time: on a busy machine wall time is noise, CPU time much less.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { decodeImage } from '../src/io/codec.js';
import { decodeBase64 } from '../src/io/input.js';
import { imageClassificationPipeline } from '../src/pipelines/image_classification/pipeline.js';
import { createBasicApp } from '../src/serving/basic/app.js';
import { DEFAULT_JSON_BODY_LIMITS, readJsonBody } from '../src/serving/basic/jsonBody.js';
import { PipelineService } from '../src/serving/service.js';
import { validateBody } from '../src/serving/validation.js';
import { classifierFixtureDir, fixturePipelineYaml } from '../test/helpers/fixtures.js';
import { OPENCV_DATA, SKIMAGE_DATA } from '../test/helpers/paths.js';
import { JsonClient, median } from './load.js';
import { CpuWatch, descendantSeconds } from './machine.js';
import { SATURATED } from './measure.js';
import { formatTable, percent, perSecond, ratio } from './table.js';

const QUICK = process.env.BENCH_QUICK === '1';
const STEP_REPS = QUICK ? 50 : 200;
const SATURATED_REQUESTS = QUICK ? 150 : 600;
const CHUNK_BYTES = 64 * 1024;
const MAX_BODY_BYTES = 100 * 2 ** 20;
const PEER = fileURLToPath(new URL('./ipcPeer.js', import.meta.url));
const endpoint = imageClassificationPipeline.endpoints[0]!;

interface Cost {
  /** this process's CPU (all its threads), µs per call */
  cpuUs: number;
  /** wall time, µs per call (median of batches) */
  wallUs: number;
}

const cpuMicros = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

/** Runs `call` `reps` times in 5 batches, one after the other; per-call CPU over all batches and the median batch's wall time. */
async function cost(reps: number, call: () => unknown): Promise<Cost> {
  await call(); // warm-up
  const batch = Math.max(1, Math.floor(reps / 5));
  const walls: number[] = [];
  const cpuStart = cpuMicros();
  for (let b = 0; b < 5; b++) {
    const started = performance.now();
    for (let i = 0; i < batch; i++) await call();
    walls.push(((performance.now() - started) * 1000) / batch);
  }
  return { cpuUs: (cpuMicros() - cpuStart) / (batch * 5), wallUs: median(walls) };
}

interface Peer {
  child: ChildProcess;
  /** one task message out, one result back */
  roundTrip(payload: unknown): Promise<void>;
  httpOrigin: string;
}

async function startPeer(): Promise<Peer> {
  const child = fork(PEER, [], { serialization: 'advanced', execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve) => {
    child.once('message', (msg: { port: number }) => resolve(msg.port));
  });
  let nextId = 1;
  const waiting = new Map<number, () => void>();
  child.on('message', (msg: { id?: number }) => {
    if (msg.id !== undefined) waiting.get(msg.id)?.();
  });
  return {
    child,
    httpOrigin: `http://127.0.0.1:${port}`,
    roundTrip: (payload) =>
      new Promise<void>((resolve) => {
        const id = nextId++;
        waiting.set(id, () => {
          waiting.delete(id);
          resolve();
        });
        child.send({ type: 'task', id, op: 'predict', payload });
      }),
  };
}

function chunks(body: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  for (let at = 0; at < body.length; at += CHUNK_BYTES) parts.push(body.subarray(at, at + CHUNK_BYTES));
  return parts;
}

const us = (c: Cost) => `${c.cpuUs.toFixed(0)} / ${c.wallUs.toFixed(0)}`;

async function stepTable(peer: Peer, images: Array<{ name: string; bytes: Uint8Array }>): Promise<string> {
  const rows: string[][] = [];
  for (const { name, bytes } of images) {
    const base64 = Buffer.from(bytes).toString('base64');
    const body = Buffer.from(JSON.stringify({ image: base64, visualize: false }));
    const parts = chunks(body);
    const parsed = { image: base64, visualize: false };
    const pixels = await decodeImage(bytes, 'image');
    const steps: Array<[string, () => unknown]> = [
      [
        'read + check + parse body, Base64 decoded from its bytes',
        () => readJsonBody(Readable.from(parts), body.length, { ...DEFAULT_JSON_BODY_LIMITS, maxBytes: MAX_BODY_BYTES }, 'image'),
      ],
      ['validate (zod)', () => validateBody(endpoint.request, parsed)],
      ['Base64 decode of the string (bodies not taking the byte path)', () => decodeBase64(base64, 'image')],
      ['IPC round trip: compressed bytes (today)', () => peer.roundTrip({ image: bytes, visualize: false })],
      ['IPC round trip: Base64 string', () => peer.roundTrip({ image: base64, visualize: false })],
      [`IPC round trip: RGB pixels (${pixels.width}x${pixels.height})`, () => peer.roundTrip({ image: pixels, visualize: false })],
      ['image decode (sharp)', () => decodeImage(bytes, 'image')],
      [
        'response JSON.stringify',
        () =>
          JSON.stringify({ logId: 'x', result: { categories: [{ id: 1, name: 'cat', score: 0.5 }] }, errorCode: 0, errorMsg: 'Success' }),
      ],
    ];
    for (const [step, call] of steps)
      rows.push([`${name} (${(body.length / 1024).toFixed(0)} KB body): ${step}`, us(await cost(STEP_REPS, call))]);
  }
  return formatTable(['step (one call at a time, this thread)', 'CPU / wall µs'], rows);
}

interface Split {
  rate: number;
  /** this process, ms CPU per request */
  selfMs: number;
  /** the inference instances (child processes), ms CPU per request */
  instancesMs: number;
}

/** `requests` calls with SATURATED in flight; CPU per request of this process and of its children. */
async function split(requests: number, call: (i: number) => Promise<unknown>): Promise<Split> {
  const cpuStart = cpuMicros();
  const childStart = descendantSeconds();
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: SATURATED }, async () => {
      while (next < requests) await call(next++);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return {
    rate: requests / seconds,
    selfMs: (cpuMicros() - cpuStart) / 1000 / requests,
    instancesMs: ((descendantSeconds() - childStart) * 1000) / requests,
  };
}

async function saturationTable(peer: Peer, images: Array<{ name: string; bytes: Uint8Array }>): Promise<string[]> {
  const requests = images.map(({ bytes }) => ({ image: Buffer.from(bytes).toString('base64'), visualize: false }));
  const bodies = requests.map((r) => Buffer.from(JSON.stringify(r)));
  const service = await PipelineService.start({
    pipelines: [await fixturePipelineYaml('image_classification', await classifierFixtureDir())],
    device: 'cpu',
    log: () => {},
  });
  const app = await createBasicApp(service, { maxBodyBytes: MAX_BODY_BYTES });
  try {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const served = service.endpoint(endpoint.path)!;
    const server = new JsonClient(origin, SATURATED);
    const sink = new JsonClient(peer.httpOrigin, SATURATED);
    try {
      const viaHttp = (i: number) => server.post(endpoint.path, bodies[i % bodies.length]!);
      const viaInvoke = (i: number) => service.invoke(served, requests[i % requests.length], 'bench');
      const clientOnly = (i: number) => sink.post(endpoint.path, bodies[i % bodies.length]!);
      await split(SATURATED * 4, viaHttp); // warm-up
      const watch = new CpuWatch();
      // alternated halves, so a neighbour's load hits both sides alike
      const halves = [viaHttp, viaInvoke, clientOnly, viaHttp, viaInvoke, clientOnly];
      const measured: Split[] = [];
      for (const call of halves) measured.push(await split(SATURATED_REQUESTS / 2, call));
      const mean = (a: Split, b: Split): Split => ({
        rate: (a.rate + b.rate) / 2,
        selfMs: (a.selfMs + b.selfMs) / 2,
        instancesMs: (a.instancesMs + b.instancesMs) / 2,
      });
      const [h, v, c] = [mean(measured[0]!, measured[3]!), mean(measured[1]!, measured[4]!), mean(measured[2]!, measured[5]!)];
      const serverHttpMs = h.selfMs - c.selfMs;
      const rows = [
        ['HTTP (server + undici client here)', perSecond(h.rate), h.selfMs.toFixed(2), h.instancesMs.toFixed(2)],
        ['service.invoke (the bench "in-process")', perSecond(v.rate), v.selfMs.toFixed(2), v.instancesMs.toFixed(2)],
        ['undici client alone (canned answers)', perSecond(c.rate), c.selfMs.toFixed(2), '-'],
      ];
      const ceiling = (overheadMs: number) => v.instancesMs / (v.instancesMs + overheadMs);
      return [
        formatTable(
          [
            `classification fixture, c=${SATURATED}, ${SATURATED_REQUESTS} requests each`,
            'req/s',
            'this process ms CPU/req',
            'instances ms CPU/req',
          ],
          rows,
        ),
        `other processes used ${percent(watch.foreignShare() ?? Number.NaN)} of the machine meanwhile`,
        `server-side HTTP cost per request (HTTP minus client alone): ${serverHttpMs.toFixed(2)} ms CPU; service.invoke's own: ${v.selfMs.toFixed(2)} ms`,
        `measured HTTP / in-process throughput: ${ratio(h.rate / v.rate)}`,
        `CPU-bound ceilings when every core is busy (instances' CPU / all CPU per request): in-process ${ratio(ceiling(v.selfMs))}, HTTP with the client elsewhere ${ratio(ceiling(serverHttpMs))}, HTTP with the client on the same cores ${ratio(ceiling(h.selfMs))}`,
      ];
    } finally {
      await server.close();
      await sink.close();
    }
  } finally {
    await app.close();
    await service.close();
  }
}

async function main(): Promise<void> {
  const images = await Promise.all(
    [path.join(OPENCV_DATA, 'messi5.jpg'), path.join(OPENCV_DATA, 'orange.jpg'), path.join(SKIMAGE_DATA, 'chelsea.png')].map(
      async (file) => ({
        name: path.basename(file),
        bytes: new Uint8Array(await readFile(file)),
      }),
    ),
  );
  const peer = await startPeer();
  try {
    const out = [
      `pipeserve bench:ipc${QUICK ? ' (BENCH_QUICK)' : ''}: node ${process.versions.node}; a request costs 2 IPC messages (task out, result back)`,
      '',
      await stepTable(peer, images),
      '',
      ...(await saturationTable(peer, images)),
    ];
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    peer.child.disconnect();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
