/**
 * The instance pool on its own, with a test worker module whose operations block or crash on
 * demand: admission by lanes, queue bound, deadlines that kill stuck instances, cancellation of
 * waiting tasks, crash replacement, fail-fast when no instance can start, recycling, dynamic batching.
 */
import { after, afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError } from '../src/errors.js';
import { InstancePool, type PoolOptions } from '../src/runtime/instancePool.js';

const TEST_WORKER = new URL('./helpers/testWorker.js', import.meta.url).href;

const pools: InstancePool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

async function startPool(options: Partial<PoolOptions> & { failIfExists?: string } = {}): Promise<InstancePool> {
  const pool = await InstancePool.start({
    name: 'test',
    instances: 1,
    maxQueue: 2,
    backoff: { firstMs: 200, maxMs: 1000 },
    init: {
      session: { device: { kind: 'cpu', id: 0 }, intraOpThreads: 1 },
      widenLoneRequests: false,
      pipeline: { config: { pipeline_name: 'test', failIfExists: options.failIfExists }, workerModule: TEST_WORKER },
    },
    ...options,
  });
  pools.push(pool);
  return pool;
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<number> {
  const started = performance.now();
  while (!condition()) {
    if (performance.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
  return performance.now() - started;
}

async function rejection(promise: Promise<unknown>): Promise<ApiError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof ApiError, `expected an ApiError, got ${String(err)}`);
  return err;
}

function admitError(pool: InstancePool, lanes: number): ApiError {
  try {
    pool.admit(lanes);
  } catch (err) {
    assert.ok(err instanceof ApiError);
    return err;
  }
  throw new Error('admitted');
}

describe('instance pool', () => {
  test('admission counts lanes against instances + maxQueue and gives them back when the request ends', async () => {
    const pool = await startPool({ instances: 1, maxQueue: 2 });
    const a = pool.admit(2);
    const b = pool.admit(1);
    assert.equal(admitError(pool, 1).status, 503);
    b.end();
    const c = pool.admit(1);
    assert.equal(pool.stats().reservedLanes, 3);
    a.end();
    c.end();
    assert.equal(pool.stats().reservedLanes, 0);
  });

  test('a lease admitted with one lane widens only while lanes are free, keeping what it has when refused', async () => {
    const pool = await startPool({ instances: 1, maxQueue: 2 });
    const early = pool.admit(1);
    early.widen(2);
    assert.equal(pool.stats().reservedLanes, 2);
    const other = pool.admit(1);
    assert.throws(
      () => early.widen(3),
      (err: unknown) => err instanceof ApiError && err.status === 503,
    );
    assert.equal(early.lanes, 2);
    assert.equal(pool.stats().reservedLanes, 3);
    other.end();
    early.widen(3);
    early.end();
    assert.equal(pool.stats().reservedLanes, 0);
  });

  test('tasks move typed arrays both ways and run on the instance process', async () => {
    const pool = await startPool();
    const lease = pool.admit(1);
    const out = await lease.run<{ pid: number; bytes: Uint8Array }>('echo', { bytes: new Uint8Array([1, 2, 3]) });
    lease.end();
    assert.deepEqual([...out.bytes], [1, 2, 3]);
    assert.ok(out.bytes instanceof Uint8Array);
    assert.notEqual(out.pid, process.pid);
    assert.equal(out.pid, pool.stats().detail[0]!.pid);
  });

  test('two requests with a free second instance run on two instances at once', async () => {
    const pool = await startPool({ instances: 2, maxQueue: 2 });
    const pids = await meetTwice(pool);
    assert.notEqual(pids[0], pids[1]);
    assert.deepEqual(new Set(pids), new Set(pool.stats().detail.map((i) => i.pid)));
  });

  test('an admitted request never waits behind more than maxQueue tasks', async () => {
    const pool = await startPool({ instances: 2, maxQueue: 3 });
    let maxQueued = 0;
    const sampler = setInterval(() => (maxQueued = Math.max(maxQueued, pool.stats().queued)), 2);
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, async () => {
        const lease = pool.admit(2);
        try {
          await Promise.all(
            Array.from({ length: 2 }, async () => {
              for (let page = 0; page < 3; page++) await lease.run('block', { ms: 30 });
            }),
          );
        } finally {
          lease.end();
        }
      }),
    );
    clearInterval(sampler);
    const refused = results.filter((r) => r.status === 'rejected');
    assert.equal(results.length - refused.length, 2, '5 lanes hold two requests of 2 lanes');
    for (const r of refused) assert.equal(((r as PromiseRejectedResult).reason as ApiError).status, 503);
    assert.ok(maxQueued <= 3, `queue reached ${maxQueued}`);
  });

  test('a task past its deadline gets the timeout error, its instance is killed and replaced', async () => {
    const pool = await startPool();
    const exits: string[] = [];
    pool.on('instanceExit', (e) => exits.push(e.reason));
    const pidBefore = pool.stats().detail[0]!.pid;
    const lease = pool.admit(1);
    const started = performance.now();
    const err = await rejection(
      lease.run('block', { ms: 20_000 }, { deadline: performance.now() + 300, timeoutError: () => new ApiError(504, 'too slow') }),
    );
    lease.end();
    assert.equal(err.status, 504);
    assert.ok(performance.now() - started < 5000, 'answered at the deadline, not when the block ends');
    await waitFor(() => pool.stats().live === 1, 'the replacement');
    assert.notEqual(pool.stats().detail[0]!.pid, pidBefore);
    assert.deepEqual(exits, ['timeout']);
    const again = pool.admit(1);
    assert.ok((await again.run<{ pid: number }>('block', { ms: 1 })).pid > 0);
    again.end();
  });

  test('an aborted waiting task leaves the queue at once; the running one completes', async () => {
    const pool = await startPool();
    const lease = pool.admit(2);
    const controller = new AbortController();
    const running = lease.run('block', { ms: 500 }, { signal: controller.signal });
    const waiting = lease.run('block', { ms: 500 }, { signal: controller.signal });
    assert.equal(pool.stats().queued, 1);
    const started = performance.now();
    controller.abort(new ApiError(499, 'client gone'));
    assert.equal((await rejection(waiting)).status, 499);
    assert.equal((await rejection(running)).status, 499);
    assert.ok(performance.now() - started < 200, 'aborted tasks are answered at once');
    assert.equal(pool.stats().queued, 0);
    assert.equal(pool.stats().busy, 1, 'the running model call is not interrupted');
    lease.end();
    assert.equal(pool.stats().reservedLanes, 2, 'its lanes stay taken while its task occupies the instance');
    await waitFor(() => pool.stats().busy === 0 && pool.stats().reservedLanes === 0, 'the instance to be free');
  });

  test('a crashed instance fails only its own task; waiting tasks run on the others', async () => {
    const pool = await startPool({ instances: 2, maxQueue: 4 });
    const lease = pool.admit(6);
    const victim = lease.run('crash', {});
    const others = Array.from({ length: 5 }, () => lease.run<{ pid: number }>('block', { ms: 50 }));
    const err = await rejection(victim);
    assert.equal(err.status, 500);
    assert.match(err.message, /inference instance running this request died \(signal SIGKILL\)/);
    for (const r of await Promise.all(others)) assert.ok(r.pid > 0);
    lease.end();
    await waitFor(() => pool.stats().live === 2, 'the replacement');
    assert.equal(pool.stats().restarts, 1);
  });

  describe('when no instance is left and restarts fail', () => {
    let dir: string;
    after(() => rm(dir, { recursive: true, force: true }));

    test('admission and waiting tasks get 503 at once, not ready, and it recovers when starting works again', async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'pipeserve-pool-'));
      const marker = path.join(dir, 'broken');
      const pool = await startPool({ failIfExists: marker, log: () => {} });
      await writeFile(marker, '');
      const lease = pool.admit(3);
      const running = lease.run('crash', {});
      const waiting = lease.run('block', { ms: 1 });
      assert.equal((await rejection(running)).status, 500);
      const waitingError = await rejection(waiting);
      assert.equal(waitingError.status, 503);
      assert.match(waitingError.message, /No inference instance of test is running/);
      assert.equal(pool.ready, false);
      const started = performance.now();
      assert.equal(admitError(pool, 1).status, 503);
      assert.equal((await rejection(lease.run('block', { ms: 1 }))).status, 503);
      assert.ok(performance.now() - started < 50, 'refused at once');
      lease.end();
      await rm(marker);
      const recovered = await waitFor(() => pool.ready, 'recovery', 5000);
      console.log(`recovered ${recovered.toFixed(0)} ms after the model came back`);
      const next = pool.admit(1);
      assert.ok((await next.run<{ pid: number }>('block', { ms: 1 })).pid > 0);
      next.end();
    });
  });

  test('recycling after N tasks replaces instances without failing a request', async () => {
    const pool = await startPool({ instances: 1, maxQueue: 8, recycle: { afterTasks: 3, rssBytes: 0 }, log: () => {} });
    const exits: string[] = [];
    pool.on('instanceExit', (e) => exits.push(e.reason));
    const pids = new Set<number>();
    for (let round = 0; round < 4; round++) {
      const lease = pool.admit(3);
      const results = await Promise.all(Array.from({ length: 3 }, () => lease.run<{ pid: number }>('block', { ms: 20 })));
      lease.end();
      for (const r of results) pids.add(r.pid);
      // the old instance served until its replacement was ready; wait for the hand-over
      await waitFor(() => {
        const { detail } = pool.stats();
        return detail.length === 1 && detail[0]!.state === 'live' && detail[0]!.tasksDone === 0;
      }, 'the replacement to take over');
    }
    assert.equal(pids.size, 4, 'each round of 3 tasks ran on its own process');
    assert.deepEqual(exits, ['recycle', 'recycle', 'recycle', 'recycle']);
    assert.equal(pool.stats().restarts, 0, 'recycling is not a restart after a failure');
  });
});

/** Two requests at once whose tasks succeed only if they run at the same time; their instances' pids. */
async function meetTwice(pool: InstancePool, label?: string): Promise<number[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pool-meet-'));
  try {
    const one = async () => {
      const lease = pool.admit(1, label);
      try {
        return (await lease.run<{ pid: number }>('meet', { dir, parties: 2, timeoutMs: 20_000 })).pid;
      } finally {
        lease.end();
      }
    };
    return await Promise.all([one(), one()]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('dynamic batching (Triton’s rules)', () => {
  const batching = (maxQueueDelayMs: number, preferredBatchSizes: number[] = []) => ({
    '/tag': { maxBatchSize: 4, maxQueueDelayMs, preferredBatchSizes },
  });
  const tag = (pool: InstancePool, label: string, fail = false) => {
    const lease = pool.admit(1, label);
    return lease.run<{ batchSize: number }>('tag', { fail }).finally(() => lease.end());
  };

  test('a preferred size runs at once; fewer wait out the queue delay; each item gets its own answer', async () => {
    const pool = await startPool({ maxQueue: 8, batching: batching(60_000, [3]) });
    const started = performance.now();
    const three = await Promise.all([tag(pool, '/tag'), tag(pool, '/tag'), tag(pool, '/tag')]);
    assert.deepEqual(
      three.map((r) => r.batchSize),
      [3, 3, 3],
    );
    assert.ok(performance.now() - started < 30_000, 'the preferred size did not wait for the 60 s delay');

    const other = await startPool({ maxQueue: 8, batching: batching(300) });
    const waitStarted = performance.now();
    const results = await Promise.allSettled([tag(other, '/tag'), tag(other, '/tag', true)]);
    assert.ok(performance.now() - waitStarted >= 290, 'two of max 4 waited for the queue delay');
    assert.equal(results[0].status === 'fulfilled' && results[0].value.batchSize, 2);
    assert.ok(results[1].status === 'rejected' && /this item fails/.test(String(results[1].reason)));
  });

  test('with no queue delay, two requests and two free instances run on both instances at once, not as one batch', async () => {
    const pool = await startPool({
      instances: 2,
      maxQueue: 8,
      batching: { '/meet': { maxBatchSize: 4, maxQueueDelayMs: 0, preferredBatchSizes: [] } },
    });
    const pids = await meetTwice(pool, '/meet');
    assert.notEqual(pids[0], pids[1]);
  });

  test('a full batch runs at once; other labels and unbatched pools run alone', async () => {
    const pool = await startPool({ maxQueue: 8, batching: batching(60_000) });
    const full = await Promise.all(Array.from({ length: 4 }, () => tag(pool, '/tag')));
    assert.deepEqual(
      full.map((r) => r.batchSize),
      [4, 4, 4, 4],
    );
    const unlabelled = await Promise.all([tag(pool, '/other'), tag(pool, '/other')]);
    assert.deepEqual(
      unlabelled.map((r) => r.batchSize),
      [1, 1],
    );
  });
});
