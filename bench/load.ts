/** Timing loops and the HTTP client of the benchmarks. */
import { Pool } from 'undici';

export function median(values: readonly number[]): number {
  if (!values.length) throw new Error('median of an empty list');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function mean(values: readonly number[]): number {
  if (!values.length) throw new Error('mean of an empty list');
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/**
 * Latency of several calls on the same items, one call at a time, round-robin (every call on item 0,
 * then on item 1, …) so background load that drifts during the run hits all calls alike. One
 * warm-up round is not counted. Returns [call][item] median milliseconds.
 */
export async function interleavedLatency(
  itemCount: number,
  rounds: number,
  calls: ReadonlyArray<(item: number) => Promise<unknown>>,
): Promise<number[][]> {
  const samples = calls.map(() => Array.from({ length: itemCount }, () => [] as number[]));
  for (let round = -1; round < rounds; round++) {
    for (let item = 0; item < itemCount; item++) {
      for (const [index, call] of calls.entries()) {
        const started = performance.now();
        await call(item);
        if (round >= 0) samples[index]![item]!.push(performance.now() - started);
      }
    }
  }
  return samples.map((perItem) => perItem.map(median));
}

export interface Load {
  /** requests kept in flight */
  concurrency: number;
  run(item: number): Promise<unknown>;
}

/**
 * Closed loop: `concurrency` lanes, each starting its next request as soon as its previous one
 * completes, for `durationMs` and at least one request per lane. Items are used in turn.
 */
async function closedLoop(load: Load, durationMs: number, itemCount: number): Promise<{ completed: number; seconds: number }> {
  let started = 0;
  const begin = performance.now();
  const deadline = begin + durationMs;
  const lane = async () => {
    while (performance.now() < deadline || started < load.concurrency) await load.run(started++ % itemCount);
  };
  await Promise.all(Array.from({ length: load.concurrency }, lane));
  return { completed: started, seconds: (performance.now() - begin) / 1000 };
}

/**
 * Requests (= images) per second of each load, measured in `slices` alternating slices of
 * `sliceMs` each, so background load that drifts during the run hits all loads alike. Each rate
 * counts every completed request over the time until the last one finished. No warm-up: callers
 * measure latency first, so models and code are warm, and a closed loop saturates at once.
 */
export async function interleavedThroughput(loads: readonly Load[], itemCount: number, sliceMs: number, slices: number): Promise<number[]> {
  const totals = loads.map(() => ({ completed: 0, seconds: 0 }));
  for (let slice = 0; slice < slices; slice++) {
    for (const [index, load] of loads.entries()) {
      const { completed, seconds } = await closedLoop(load, sliceMs, itemCount);
      totals[index]!.completed += completed;
      totals[index]!.seconds += seconds;
    }
  }
  return totals.map((t) => t.completed / t.seconds);
}

/** Keep-alive JSON POSTs over `connections` sockets (one per request in flight); non-success envelopes throw. */
export class JsonClient {
  private readonly pool: Pool;

  constructor(origin: string, connections: number) {
    this.pool = new Pool(origin, { connections, pipelining: 1 });
  }

  /** Returns the envelope's `result`. */
  async post(path: string, body: Buffer): Promise<any> {
    const res = await this.pool.request({ path, method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const envelope = (await res.body.json()) as { errorCode?: number; result?: unknown };
    if (res.statusCode !== 200 || envelope.errorCode !== 0) {
      throw new Error(`POST ${path}: HTTP ${res.statusCode}: ${JSON.stringify(envelope).slice(0, 300)}`);
    }
    return envelope.result;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
