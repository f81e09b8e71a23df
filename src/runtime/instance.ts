/**
 * Entry of an inference instance (a child process forked by InstancePool): loads one pipeline
 * (its onnxruntime sessions) and answers its tasks one at a time (a task is one payload, or a batch of
 * them that the operation runs as one model call). A native crash here ends this
 * process only; the pool replaces it.
 */
import os from 'node:os';
import type { InferenceSession } from 'onnxruntime-node';
import sharp from 'sharp';
import type { ResolvedModel } from '../config/models.js';
import { serializeError } from '../errors.js';
import { batchFormOf, type RuntimeContext, type SessionNeeds, type WorkerModule, type WorkerOps } from './context.js';
import type { InstanceInit, InstanceReply, InstanceRequest, TaskOutcome } from './protocol.js';
import { createSession, sampleBySample, withRun } from './session.js';
import { Lender } from './spread.js';

function reply(msg: InstanceReply): void {
  process.send?.(msg);
}

let lender: Lender | undefined;
/** the running task is its pool's only request (see InstanceRequest): it may use every core its lent items leave idle */
let alone = false;
const cores = os.availableParallelism();
/** the configured intra-op threads of this instance's sessions */
let threads = cores;

/**
 * The model's session on the configured threads, or, for `widenWhenAlone` where those leave cores
 * idle, one that runs a second session on every core while the task is alone (RuntimeContext).
 * `splitBatches` on one thread: batches run sample by sample (sampleBySample).
 */
async function loadSession(model: ResolvedModel, init: InstanceInit, options: SessionNeeds): Promise<InferenceSession> {
  const configured = await createSession(model.onnxPath, init.session);
  const narrow = options.splitBatches && init.session.intraOpThreads === 1 ? sampleBySample(configured) : configured;
  if (!options.widenWhenAlone || !init.widenLoneRequests || init.session.intraOpThreads >= cores) return narrow;
  // no spin-wait: a request arriving meanwhile starts on another instance, whose core a spinning thread would take
  const wide = await createSession(model.onnxPath, { ...init.session, intraOpThreads: cores, spinWait: false });
  const run = (...args: unknown[]) => {
    const session = alone && !lender?.lending ? wide : narrow;
    return Reflect.apply(session.run, session, args);
  };
  return withRun(configured, run);
}

function setAlone(value: boolean): void {
  alone = value;
  // image decoding and resizing (libvips) follow the same thread budget as the sessions
  sharp.concurrency(alone ? cores : threads);
}

/** The worker's operations, and its spread operations (which the pool hands out as lent items). */
async function load(init: InstanceInit, peers: number): Promise<WorkerOps> {
  const spreading = new Lender(reply, peers);
  lender = spreading;
  const rt: RuntimeContext = {
    loadSession: (model, options) => loadSession(model, init, options ?? {}),
    spread: (name, run) => spreading.spread(name, run),
  };
  const worker = ((await import(init.pipeline.workerModule)) as { default: WorkerModule }).default;
  const ops = await worker.create(init.pipeline.config, rt);
  return { ...Object.fromEntries(spreading.operations), ...ops };
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
    threads = msg.init.session.intraOpThreads;
    load(msg.init, msg.peers).then(
      (loaded) => {
        ops = loaded;
        const batchOps = Object.keys(loaded).filter((name) => batchFormOf(loaded[name]!));
        reply({ type: 'ready', rss: process.memoryUsage.rss(), batchOps });
      },
      (err: unknown) => reply({ type: 'startupError', error: serializeError(err) }),
    );
  } else if (msg.type === 'lent') {
    lender?.answered(msg.id, msg.outcome);
  } else if (msg.type === 'crowded') {
    // the next model call (a page's recognition batches after its detection, say) runs on this instance's own threads
    setAlone(false);
  } else if (ops) {
    setAlone(msg.alone);
    void runTask(ops, msg.op, msg.payloads).then((outcomes) =>
      reply({ type: 'result', id: msg.id, outcomes, rss: process.memoryUsage.rss() }),
    );
  }
});
// The server went away (or retired this instance): nothing is left to answer.
process.on('disconnect', () => process.exit(0));
