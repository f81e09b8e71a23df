import type { SerializedError } from '../errors.js';
import type { PipelineConfig } from '../config/pipelineConfig.js';
import type { SessionOptions } from './session.js';

/** What an inference instance loads: one pipeline (models already resolved) whose worker module it imports by URL. */
export interface InstanceInit {
  session: SessionOptions;
  pipeline: { config: PipelineConfig; workerModule: string };
}

/**
 * Parent → instance (child process IPC, `serialization: 'advanced'`, so typed arrays cross as they are).
 * A task carries one payload, or several of one batchable operation that run as one model call.
 */
export type InstanceRequest = { type: 'init'; init: InstanceInit } | { type: 'task'; id: number; op: string; payloads: unknown[] };

/** The answer to one payload of a task. */
export type TaskOutcome = { ok: true; value: unknown } | { ok: false; error: SerializedError };

/** Instance → parent. `rss` (bytes) rides on every reply: the parent's metrics and recycling read it. */
export type InstanceReply =
  /** `batchOps`: the operations that accept several payloads in one task */
  | { type: 'ready'; rss: number; batchOps: string[] }
  | { type: 'startupError'; error: SerializedError }
  /** one outcome per payload, in order */
  | { type: 'result'; id: number; outcomes: TaskOutcome[]; rss: number };
