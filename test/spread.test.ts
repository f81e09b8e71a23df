/**
 * Spreading a request's items over the pool (runtime/spread.ts): a lone request's items run on the
 * idle instances too; a request that shares the pool with another keeps all of them on its own instance.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InstancePool } from '../src/runtime/instancePool.js';

const SPREAD_WORKER = new URL('./helpers/spreadWorker.js', import.meta.url).href;

const pools: InstancePool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

async function startPool(instances: number): Promise<InstancePool> {
  const pool = await InstancePool.start({
    name: 'spread',
    instances,
    maxQueue: 4,
    init: {
      session: { device: { kind: 'cpu', id: 0 }, intraOpThreads: 1 },
      widenLoneRequests: false,
      pipeline: { config: { pipeline_name: 'spread' }, workerModule: SPREAD_WORKER },
    },
  });
  pools.push(pool);
  return pool;
}

const pidsOf = (pool: InstancePool) => new Set(pool.stats().detail.map((d) => d.pid));

describe('spreading a request over idle instances', () => {
  test('a lone request runs its items on every instance, results in order', async () => {
    const pool = await startPool(3);
    const executions: string[] = [];
    const tasks: string[] = [];
    pool.on('execution', ({ op }) => executions.push(op));
    pool.on('taskDone', ({ op }) => tasks.push(op));
    const lease = pool.admit(1);
    const pids = await lease.run<number[]>('pids', { items: 6, ms: 150 });
    lease.end();
    assert.equal(pids.length, 6);
    assert.ok(
      pids.every((pid) => pidsOf(pool).has(pid)),
      'every item answered by an instance of the pool',
    );
    assert.equal(new Set(pids).size, 3, `items ran on ${new Set(pids).size} instances`);
    // lent items are tasks on their instances, but part of the request's one execution (Triton's statistics count executions)
    assert.deepEqual(executions, ['pids']);
    assert.ok(tasks.filter((op) => op === 'test.blockedPid').length >= 2, tasks.join(', '));
  });

  test('a request that shares the pool with another admitted request keeps its items on its own instance', async () => {
    const pool = await startPool(2);
    const lease = pool.admit(1);
    // admitted, not yet running anything: an instance is idle, but it is this request's to use
    const other = pool.admit(1);
    const pids = await lease.run<number[]>('pids', { items: 4, ms: 50 });
    lease.end();
    other.end();
    assert.equal(new Set(pids).size, 1);
  });

  test('with one instance the items run there in turn', async () => {
    const pool = await startPool(1);
    const lease = pool.admit(1);
    const pids = await lease.run<number[]>('pids', { items: 3, ms: 10 });
    lease.end();
    assert.deepEqual(pids, Array(3).fill(pids[0]));
  });
});
