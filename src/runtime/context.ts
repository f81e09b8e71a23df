import type { InferenceSession } from 'onnxruntime-node';
import type { ResolvedModel } from '../config/models.js';

/** What an inference worker offers the models it loads: sessions on the configured device and thread count. */
export interface RuntimeContext {
  loadSession(model: ResolvedModel): Promise<InferenceSession>;
}

/** Operations of one loaded pipeline inside a worker: plain data in, plain data out (structured clone). */
export type WorkerOps = Record<string, (payload: any) => Promise<unknown>>;

/**
 * The default export of a pipeline's worker module. The worker imports it by URL, so the runtime
 * never imports pipeline code and the HTTP thread never loads worker-only code.
 */
export interface WorkerModule<Ops extends WorkerOps = WorkerOps> {
  create(config: import('../config/pipelineConfig.js').PipelineConfig, rt: RuntimeContext): Promise<Ops>;
}
