/**
 * Overload: more requests in flight than a pipeline admits, while one client probes one request at a
 * time (its latency is the server's, not a queue of our own sockets). Used by `npm run bench` and
 * `npm run bench:soak`; the target is a 503 in < 50 ms at p99.
 */
import { fork } from 'node:child_process';
import os from 'node:os';
import { Pool } from 'undici';
import { ms, verdict } from './table.js';

export interface Outcome {
  kind: string;
  status: number;
  ms: number;
  message?: string;
}

export interface OverloadFigures {
  /** the probes answered 503, ms */
  refusedMs: number[];
  /** GET /health one at a time meanwhile, ms: how long this machine takes to answer anything now */
  healthMs: number[];
  probes: number;
  requests: number;
  served: number;
  /** answers other than 200 and 503 */
  unexpected: Outcome[];
}

/** Target of the issue (Triton / Ray Serve style load shedding): a refusal costs the client nearly nothing. */
export const REFUSAL_P99_TARGET_MS = 50;

export function percentile(values: readonly number[], p: number): number {
  if (!values.length) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export async function post(client: Pool, path: string, body: Buffer, kind: string): Promise<Outcome> {
  const started = performance.now();
  const res = await client.request({ path, method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const envelope = (await res.body.json()) as { errorCode?: number; errorMsg?: string };
  return { kind, status: res.statusCode, ms: performance.now() - started, message: res.statusCode === 200 ? undefined : envelope.errorMsg };
}

/** Closed loop of `lanes` clients over `bodies` until `until` (performance.now() ms). */
export async function closedLoop(
  client: Pool,
  path: string,
  bodies: ReadonlyArray<{ kind: string; body: Buffer }>,
  lanes: number,
  until: number,
): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (performance.now() < until) {
        const item = bodies[next++ % bodies.length]!;
        outcomes.push(await post(client, path, item.body, item.kind));
      }
    }),
  );
  return outcomes;
}

/** Niceness of the filler process, as the server's instances have: the server and the probes come first. */
const FILLER_NICENESS = 10;

/** Runs the filler clients in a low-priority process of their own (see overloadFillers.ts). */
function fillInAnotherProcess(origin: string, path: string, body: Buffer, lanes: number, durationMs: number): Promise<Outcome[]> {
  const child = fork(new URL('./overloadFillers.js', import.meta.url), [], { serialization: 'advanced', execArgv: [] });
  os.setPriority(child.pid!, Math.min(19, os.getPriority() + FILLER_NICENESS));
  return new Promise((resolve, reject) => {
    child.once('message', (outcomes: Outcome[]) => resolve(outcomes));
    child.once('exit', (code) => reject(new Error(`overload fillers exited (${code}) before reporting`)));
    child.send({ origin, path, body: new Uint8Array(body), lanes, durationMs });
  });
}

/**
 * `fillers` clients keep POSTing `body` for `durationMs` (more than the pipeline admits), and after
 * 2 s (the pipeline is full by then) one more client sends the same body one request at a time.
 */
export async function measureOverload(
  origin: string,
  path: string,
  body: Buffer,
  fillers: number,
  durationMs: number,
): Promise<OverloadFigures> {
  const client = new Pool(origin, { connections: 2, pipelining: 1 });
  try {
    const ends = performance.now() + durationMs;
    const item = [{ kind: 'overload', body }];
    const filler = fillInAnotherProcess(origin, path, body, fillers, durationMs);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const [probes, healthMs] = await Promise.all([closedLoop(client, path, item, 1, ends), healthProbes(client, ends)]);
    const all = [...(await filler), ...probes];
    return {
      refusedMs: probes.filter((o) => o.status === 503).map((o) => o.ms),
      healthMs,
      probes: probes.length,
      requests: all.length,
      served: all.filter((o) => o.status === 200).length,
      unexpected: all.filter((o) => o.status !== 200 && o.status !== 503),
    };
  } finally {
    await client.close();
  }
}

async function healthProbes(client: Pool, until: number): Promise<number[]> {
  const times: number[] = [];
  while (performance.now() < until) {
    const started = performance.now();
    const res = await client.request({ path: '/health', method: 'GET' });
    await res.body.dump();
    times.push(performance.now() - started);
  }
  return times;
}

export function overloadLines(figures: OverloadFigures): { summary: string; target: string } {
  const p99 = percentile(figures.refusedMs, 99);
  return {
    summary: `overload: ${figures.requests} requests, ${figures.served} served, ${figures.unexpected.length} other errors; probes one at a time: ${figures.probes}, ${figures.refusedMs.length} refused with 503 (p50 ${ms(percentile(figures.refusedMs, 50))}, p99 ${ms(p99)}); GET /health meanwhile p50 ${ms(percentile(figures.healthMs, 50))}, p99 ${ms(percentile(figures.healthMs, 99))} (the machine's own delay)`,
    target: `${verdict(figures.refusedMs.length > 0 && p99 < REFUSAL_P99_TARGET_MS)}  overload refused with 503 in < ${REFUSAL_P99_TARGET_MS} ms at p99: ${ms(p99)}`,
  };
}
