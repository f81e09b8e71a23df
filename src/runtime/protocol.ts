import type { SerializedError } from '../errors.js';
import type { PipelineConfig } from '../config/pipelineConfig.js';
import type { SessionOptions } from './session.js';

/** What an inference instance loads: one pipeline (models already resolved) whose worker module it imports by URL. */
export interface InstanceInit {
  session: SessionOptions;
  /**
   * models that ask for it may run a lone request on every core (RuntimeContext `widenWhenAlone`);
   * false where the operator set the thread count, which is then kept exactly
   */
  widenLoneRequests: boolean;
  pipeline: { config: PipelineConfig; workerModule: string };
}

/**
 * Parent → instance (child process IPC, `serialization: 'advanced'`, so typed arrays cross as they are).
 * A task carries one payload, or several of one batchable operation that run as one model call.
 */
export type InstanceRequest =
  /** `peers`: the pool's other instances, which may run this one's spread items while they are idle */
  | { type: 'init'; init: InstanceInit; peers: number }
  /** `alone`: the task is the pool's only request and nothing waits, so it may use every core */
  | { type: 'task'; id: number; op: string; payloads: unknown[]; alone: boolean }
  /** another request started on another instance: the running task is no longer `alone` */
  | { type: 'crowded' }
  /** the answer to a `lend`: the item's outcome on another instance, or none (no instance idle: run it here) */
  | { type: 'lent'; id: number; outcome?: TaskOutcome };

/** The answer to one payload of a task. */
export type TaskOutcome = { ok: true; value: unknown } | { ok: false; error: SerializedError };

/** Instance → parent. `rss` (bytes) rides on every reply: the parent's metrics and recycling read it. */
export type InstanceReply =
  /** `batchOps`: the operations that accept several payloads in one task */
  | { type: 'ready'; rss: number; batchOps: string[] }
  | { type: 'startupError'; error: SerializedError }
  /** one outcome per payload, in order */
  | { type: 'result'; id: number; outcomes: TaskOutcome[]; rss: number }
  /**
   * While running a task: run one item of a spread operation (`op`, registered by `RuntimeContext.spread`)
   * on an idle instance for the same request, if this request is the pool's only one; answered by `lent`.
   */
  | { type: 'lend'; id: number; op: string; payload: unknown };
