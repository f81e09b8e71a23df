/**
 * Entry of an inference instance (a child process forked by InstancePool): loads one pipeline
 * (its onnxruntime sessions) and answers its tasks one at a time (a task is one payload, or a batch of
 * them that the operation runs as one model call). A native crash here ends this
 * process only; the pool replaces it.
 */
import { serializeError } from '../errors.js';
import { batchFormOf, type RuntimeContext, type WorkerModule, type WorkerOps } from './context.js';
import type { InstanceInit, InstanceReply, InstanceRequest, TaskOutcome } from './protocol.js';
import { createSession } from './session.js';

function reply(msg: InstanceReply): void {
  process.send?.(msg);
}

async function load(init: InstanceInit): Promise<WorkerOps> {
  const rt: RuntimeContext = { loadSession: (model) => createSession(model.onnxPath, init.session) };
  const worker = ((await import(init.pipeline.workerModule)) as { default: WorkerModule }).default;
  return worker.create(init.pipeline.config, rt);
}

/** One payload through the operation, or several through its batched form (one model call). */
async function runTask(ops: WorkerOps, name: string, payloads: unknown[]): Promise<TaskOutcome[]> {
  const failed = (err: unknown): TaskOutcome => ({ ok: false, error: serializeError(err) });
  try {
    const op = ops[name];
    if (!op) throw new Error(`No operation ${name} in this pipeline's worker module`);
    if (payloads.length === 1) return [{ ok: true, value: await op(payloads[0]) }];
    const batch = batchFormOf(op);
    if (!batch) throw new Error(`Operation ${name} has no batched form`);
    const results = await batch(payloads);
    return results.map((r) => (r instanceof Error ? failed(r) : { ok: true, value: r }));
  } catch (err) {
    return payloads.map(() => failed(err));
  }
}

let ops: WorkerOps | undefined;
process.on('message', (msg: InstanceRequest) => {
  if (msg.type === 'init') {
    load(msg.init).then(
      (loaded) => {
        ops = loaded;
        const batchOps = Object.keys(loaded).filter((name) => batchFormOf(loaded[name]!));
        reply({ type: 'ready', rss: process.memoryUsage.rss(), batchOps });
      },
      (err: unknown) => reply({ type: 'startupError', error: serializeError(err) }),
    );
  } else if (ops) {
    void runTask(ops, msg.op, msg.payloads).then((outcomes) =>
      reply({ type: 'result', id: msg.id, outcomes, rss: process.memoryUsage.rss() }),
    );
  }
});
// The server went away (or retired this instance): nothing is left to answer.
process.on('disconnect', () => process.exit(0));
