/**
 * Worker-thread entry: loads the configured pipelines (each with its own onnxruntime sessions) and
 * answers tasks. All inference happens here, never on the HTTP thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { serializeError } from '../errors.js';
import type { RuntimeContext, WorkerModule, WorkerOps } from './context.js';
import { createSession } from './session.js';
import type { TaskMessage, WorkerInit, WorkerReply } from './protocol.js';

const init = workerData as WorkerInit;
const port = parentPort!;

function reply(msg: WorkerReply, transfer: ArrayBuffer[] = []): void {
  port.postMessage(msg, transfer);
}

/** Uint8Arrays anywhere in a result are moved to the parent instead of copied. */
function collectTransferables(value: unknown, out: ArrayBuffer[], depth = 0): ArrayBuffer[] {
  if (depth > 6 || value === null || typeof value !== 'object') return out;
  if (ArrayBuffer.isView(value)) {
    const buffer = value.buffer;
    if (buffer instanceof ArrayBuffer && !out.includes(buffer)) out.push(buffer);
    return out;
  }
  for (const v of Array.isArray(value) ? value : Object.values(value)) collectTransferables(v, out, depth + 1);
  return out;
}

async function loadPipelines(): Promise<Map<string, WorkerOps>> {
  const rt: RuntimeContext = { loadSession: (model) => createSession(model.onnxPath, init.session) };
  const loaded = new Map<string, WorkerOps>();
  for (const { key, config, workerModule } of init.pipelines) {
    const worker = ((await import(workerModule)) as { default: WorkerModule }).default;
    loaded.set(key, await worker.create(config, rt));
  }
  return loaded;
}

async function main(): Promise<void> {
  let pipelines: Map<string, WorkerOps>;
  try {
    pipelines = await loadPipelines();
  } catch (err) {
    reply({ type: 'startupError', error: serializeError(err) });
    return;
  }
  port.on('message', async (task: TaskMessage) => {
    try {
      const op = pipelines.get(task.pipeline)?.[task.op];
      if (!op) throw new Error(`No operation ${task.op} in pipeline ${task.pipeline}`);
      const value = await op(task.payload);
      reply({ type: 'result', id: task.id, ok: true, value }, collectTransferables(value, []));
    } catch (err) {
      reply({ type: 'result', id: task.id, ok: false, error: serializeError(err) });
    }
  });
  reply({ type: 'ready' });
}

void main();
