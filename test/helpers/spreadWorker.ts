/**
 * A worker module for the spread tests: one operation whose items each block their instance for a
 * while and answer with the pid that ran them, so a test sees which instances a request used.
 */
import type { PipelineConfig } from '../../src/config/pipelineConfig.js';
import { type RuntimeContext, spreadOf, type WorkerModule } from '../../src/runtime/context.js';

interface SpreadOps {
  [op: string]: (payload: any) => Promise<unknown>;
  /** `items` items of `ms` each, spread; answers with the pid of each item */
  pids(payload: { items: number; ms: number }): Promise<number[]>;
}

const worker: WorkerModule<SpreadOps> = {
  async create(_config: PipelineConfig, rt: RuntimeContext) {
    const spread = spreadOf(rt, 'test.blockedPid', async (ms: number) => {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
      return process.pid;
    });
    return { pids: ({ items, ms }) => spread(Array.from({ length: items }, () => ms)) };
  },
};
export default worker;
