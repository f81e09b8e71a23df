import type { InferenceSession } from 'onnxruntime-node';
import type { ResolvedModel } from '../config/models.js';

/** Runs independent items, each through one function, and returns their results in order. */
export type Spread<P, R> = (items: readonly P[]) => Promise<R[]>;

/** What a model asks of its session (RuntimeContext.loadSession). */
export interface SessionNeeds {
  /** see RuntimeContext.loadSession */
  widenWhenAlone?: boolean;
  /**
   * the model's samples are independent: on a single intra-op thread its batches run one sample at a
   * time (same results, faster: runtime/session.ts sampleBySample); on more threads a batch runs whole,
   * which divides better among them (PP-OCRv4 recognition, 2 threads: 191 ms whole, 226 ms split)
   */
  splitBatches?: boolean;
}

/** What an inference worker offers the models it loads: sessions on the configured device and thread count. */
export interface RuntimeContext {
  /**
   * `widenWhenAlone`: for a model whose calls dominate a lone request and cannot all be spread (text
   * detection; recognition with a single batch), the instance keeps a second session on every core
   * and runs it while its request is the pool's only one and lends nothing to the idle instances;
   * otherwise (under load, or while spreading) the configured threads run it.
   */
  loadSession(model: ResolvedModel, options?: SessionNeeds): Promise<InferenceSession>;
  /**
   * Registers `run` under `name` (unique in the worker, the same in every instance of the pool) and
   * returns a spread of it: a request that is the pool's only one has some of its items run by the
   * idle instances, the rest (all of them under load) here. Absent where there is no pool (in-process).
   */
  spread?<P, R>(name: string, run: (item: P) => Promise<R>): Spread<P, R>;
}

/** `rt.spread(name, run)`, or the items in turn on this instance where the runtime has no pool. */
export function spreadOf<P, R>(rt: RuntimeContext, name: string, run: (item: P) => Promise<R>): Spread<P, R> {
  return (
    rt.spread?.(name, run) ??
    (async (items) => {
      const results: R[] = [];
      for (const item of items) results.push(await run(item));
      return results;
    })
  );
}

/** Operations of one loaded pipeline inside a worker: plain data in, plain data out (structured clone). */
export type WorkerOps = Record<string, (payload: any) => Promise<unknown>>;

/** Several payloads of an operation in one model call; an item that fails gets its Error, the others their results. */
export type BatchForm<P, R> = (payloads: P[]) => Promise<Array<R | Error>>;

/** An operation that can also run as a batch (Triton's dynamic batcher gathers requests for it). */
export type BatchableOp<P, R> = ((payload: P) => Promise<R>) & { batch: BatchForm<P, R> };

/**
 * Gives an operation its batched form. The single form still serves lone payloads, so a batch of
 * one behaves exactly as before; the batched form must give each payload the single form's result.
 */
export function withBatchForm<P, R>(single: (payload: P) => Promise<R>, batch: BatchForm<P, R>): BatchableOp<P, R> {
  return Object.assign(single, { batch });
}

/**
 * A batched form that runs each payload in turn within the one call: PaddleX's pipelines take a
 * list this way when their pipeline-level batch_size is 1 (OCR's default), so each result equals its own run.
 */
export function inTurn<P, R>(single: (payload: P) => Promise<R>): BatchForm<P, R> {
  return async (payloads) => {
    const results: Array<R | Error> = [];
    for (const payload of payloads)
      results.push(await single(payload).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err)))));
    return results;
  };
}

export function batchFormOf(op: WorkerOps[string]): BatchForm<unknown, unknown> | undefined {
  return (op as Partial<BatchableOp<unknown, unknown>>).batch;
}

/**
 * The default export of a pipeline's worker module. The worker imports it by URL, so the runtime
 * never imports pipeline code and the HTTP thread never loads worker-only code.
 */
export interface WorkerModule<Ops extends WorkerOps = WorkerOps> {
  create(config: import('../config/pipelineConfig.js').PipelineConfig, rt: RuntimeContext): Promise<Ops>;
}
