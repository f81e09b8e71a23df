import type { SerializedError } from '../errors.js';
import type { PipelineConfig } from '../config/pipelineConfig.js';
import type { SessionOptions } from './session.js';

/** workerData of every inference worker. */
export interface WorkerInit {
  session: SessionOptions;
  /** pipelines with models already resolved; `key` identifies one in tasks; `workerModule` is the URL of its worker module */
  pipelines: Array<{ key: string; config: PipelineConfig; workerModule: string }>;
}

export interface TaskMessage {
  id: number;
  pipeline: string;
  op: string;
  payload: unknown;
}

export type WorkerReply =
  | { type: 'ready' }
  | { type: 'startupError'; error: SerializedError }
  | { type: 'result'; id: number; ok: true; value: unknown }
  | { type: 'result'; id: number; ok: false; error: SerializedError };
