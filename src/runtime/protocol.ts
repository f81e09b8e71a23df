import type { SerializedError } from '../errors.js';
import type { PipelineConfig } from '../config/pipelineConfig.js';
import type { SessionOptions } from './session.js';

/** What an inference instance loads: one pipeline (models already resolved) whose worker module it imports by URL. */
export interface InstanceInit {
  session: SessionOptions;
  pipeline: { config: PipelineConfig; workerModule: string };
}

/** Parent → instance (child process IPC, `serialization: 'advanced'`, so typed arrays cross as they are). */
export type InstanceRequest = { type: 'init'; init: InstanceInit } | { type: 'task'; id: number; op: string; payload: unknown };

/** Instance → parent. `rss` (bytes) rides on every reply: the parent's metrics and recycling read it. */
export type InstanceReply =
  | { type: 'ready'; rss: number }
  | { type: 'startupError'; error: SerializedError }
  | { type: 'result'; id: number; ok: true; value: unknown; rss: number }
  | { type: 'result'; id: number; ok: false; error: SerializedError; rss: number };
