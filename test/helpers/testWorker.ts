/**
 * A worker module for runtime tests: operations that answer, block the instance's thread (as a
 * stuck native call would) or kill the instance, so pool behaviour is tested without model timing.
 */
import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PipelineConfig } from '../../src/config/pipelineConfig.js';
import { inTurn, type WorkerModule, withBatchForm } from '../../src/runtime/context.js';

/**
 * Signs in at `dir` and waits until `parties` tasks have signed in: it succeeds only when that many
 * tasks run at the same time (tasks run one after another, in one instance or one batch, fail).
 */
async function meet({ dir, parties, timeoutMs }: { dir: string; parties: number; timeoutMs: number }) {
  await writeFile(path.join(dir, `${process.pid}-${performance.now()}`), '');
  const deadline = performance.now() + timeoutMs;
  while ((await readdir(dir)).length < parties) {
    if (performance.now() > deadline) throw new Error(`met ${(await readdir(dir)).length} of ${parties} tasks: they did not run at once`);
    await sleep(5);
  }
  return { pid: process.pid };
}

const ops = {
  /** blocks the whole process for `ms`, then answers with its pid */
  block: async ({ ms }: { ms: number }) => {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
    return { pid: process.pid };
  },
  echo: async (payload: { bytes: Uint8Array }) => ({ pid: process.pid, bytes: payload.bytes }),
  /** answers with its pid and how many payloads ran in its call; a batch gives each item its own answer or error */
  tag: withBatchForm(
    async ({ fail }: { fail?: boolean }) => {
      if (fail) throw new Error('this item fails');
      return { pid: process.pid, batchSize: 1 };
    },
    async (payloads) => payloads.map((p) => (p.fail ? new Error('this item fails') : { pid: process.pid, batchSize: payloads.length })),
  ),
  /** answers with its pid once `parties` tasks run at once; its batched form runs the payloads in turn */
  meet: withBatchForm(meet, inTurn(meet)),
  /** dies as a native crash would */
  crash: async () => {
    process.kill(process.pid, 'SIGKILL');
    return {};
  },
};

export type TestOps = typeof ops;

/** `failIfExists` in the config: loading fails while that file exists (a model gone missing). */
const worker: WorkerModule<TestOps> = {
  async create(config: PipelineConfig) {
    const marker = config.failIfExists;
    if (typeof marker === 'string' && existsSync(marker)) throw new Error(`cannot load: ${marker} exists`);
    return ops;
  },
};
export default worker;
