/**
 * Entry of an inference instance (a child process forked by InstancePool): loads one pipeline
 * (its onnxruntime sessions) and answers its tasks one at a time. A native crash here ends this
 * process only; the pool replaces it.
 */
import { serializeError } from '../errors.js';
import type { RuntimeContext, WorkerModule, WorkerOps } from './context.js';
import type { InstanceInit, InstanceReply, InstanceRequest } from './protocol.js';
import { createSession } from './session.js';

function reply(msg: InstanceReply): void {
  process.send?.(msg);
}

async function load(init: InstanceInit): Promise<WorkerOps> {
  const rt: RuntimeContext = { loadSession: (model) => createSession(model.onnxPath, init.session) };
  const worker = ((await import(init.pipeline.workerModule)) as { default: WorkerModule }).default;
  return worker.create(init.pipeline.config, rt);
}

async function runTask(ops: WorkerOps, id: number, name: string, payload: unknown): Promise<void> {
  try {
    const op = ops[name];
    if (!op) throw new Error(`No operation ${name} in this pipeline's worker module`);
    const value = await op(payload);
    reply({ type: 'result', id, ok: true, value, rss: process.memoryUsage.rss() });
  } catch (err) {
    reply({ type: 'result', id, ok: false, error: serializeError(err), rss: process.memoryUsage.rss() });
  }
}

let ops: WorkerOps | undefined;
process.on('message', (msg: InstanceRequest) => {
  if (msg.type === 'init') {
    load(msg.init).then(
      (loaded) => {
        ops = loaded;
        reply({ type: 'ready', rss: process.memoryUsage.rss() });
      },
      (err: unknown) => reply({ type: 'startupError', error: serializeError(err) }),
    );
  } else if (ops) {
    void runTask(ops, msg.id, msg.op, msg.payload);
  }
});
// The server went away (or retired this instance): nothing is left to answer.
process.on('disconnect', () => process.exit(0));
