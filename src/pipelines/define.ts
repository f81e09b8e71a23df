/**
 * The shape of a pipeline: one descriptor (HTTP side, `pipeline.ts`) and one worker module
 * (`worker.ts`) per folder. The descriptor names the worker module by URL and imports only its
 * types, so the HTTP thread never loads onnxruntime, canvas or PDF code, while TypeScript still
 * checks every `ctx.run(op, payload)` against the worker's operations.
 */
import type { z } from 'zod';
import type { PipelineConfig } from '../config/pipelineConfig.js';
import type { RuntimeContext, WorkerModule, WorkerOps } from '../runtime/context.js';

export type { RuntimeContext, WorkerOps } from '../runtime/context.js';
export { inTurn, withBatchForm } from '../runtime/context.js';

/** Serving.* of the pipeline YAML, with PaddleX's defaults applied and `extra` checked by the descriptor's schema. */
export interface ServingConfig<Extra = Record<string, unknown>> {
  visualize: boolean;
  extra: Extra;
}

/** What an endpoint handler may do (HTTP thread): it never runs inference itself. */
export interface EndpointContext<Ops extends WorkerOps = WorkerOps, Extra = Record<string, unknown>> {
  logId: string;
  /** the pipeline's config as loaded (only its active parts, with models resolved) */
  config: PipelineConfig;
  serving: ServingConfig<Extra>;
  /**
   * Run an operation of this pipeline's worker module on an inference instance (a child process).
   * The request was admitted before its handler ran, so this only waits its turn; it rejects once
   * the request timed out or its client went away.
   */
  run<K extends keyof Ops & string>(op: K, payload: Parameters<Ops[K]>[0]): Promise<Awaited<ReturnType<Ops[K]>>>;
  /**
   * The request's work on the instances is done: its lanes go back to the pool now, not when the
   * handler returns (later `run` calls are refused). For a handler that then only waits on an
   * upstream HTTP API, so that no lane waits with it.
   */
  releaseInstances(): void;
  /** how many tasks of this request may run at once (the lanes it was admitted with) */
  parallelism: number;
  /** aborted when the request times out or its client disconnects: start no further work then */
  signal: AbortSignal;
  /** told about the request's pages as they finish (async jobs report them); a no-op for plain requests */
  progress: ProgressReporter;
  /** `--allow-private-urls`: URLs a request brings (inputs, request-level LLM base_urls) may reach loopback, private and link-local addresses */
  allowPrivateUrls: boolean;
  /** Bytes of an input string: http(s) URL (fetched with limits) or Base64. `field` names it in errors. */
  loadInput(value: string, field: string): Promise<Uint8Array>;
}

/** Where a multi-page request is: the page count once known, then each page's part of the result as it finishes. */
export interface ProgressReporter {
  pages(total: number): void;
  /** `index` is 0-based; `result` is that page's entry of the final result (e.g. one of `ocrResults`) */
  pageDone(index: number, result: unknown): void;
}

/** For requests nobody follows page by page. */
export const NO_PROGRESS: ProgressReporter = Object.freeze({ pages() {}, pageDone() {} });

/**
 * What the endpoint's main request field carries: an image, a document (image or PDF, with
 * `fileType`), a CSV, an audio or video file, a tar archive, or something else (e.g. ShiTu's `imageLabelPairs`), which `--input` does not feed.
 */
export type InputKind = 'image' | 'document' | 'csv' | 'audio' | 'video' | 'tar' | 'none';

export interface EndpointSpec<Req = any, Res = any, Ops extends WorkerOps = any, Extra = any> {
  /** e.g. '/object-detection' (also the Triton model name without the slash) */
  path: string;
  /** PaddleX's operationId (`infer` for most endpoints) */
  operationId: string;
  summary: string;
  /** Request body; unknown fields are ignored, optional fields accept null where PaddleX does. */
  request: z.ZodType<Req>;
  /** The `result` of the response envelope, published in OpenAPI and checked by the conformance tests. */
  result: z.ZodType<Res>;
  input: { kind: InputKind; field: string };
  /**
   * false: the handler never calls `ctx.run` (it only waits on upstream HTTP APIs such as an LLM, or
   * computes on the HTTP side), so it is not admitted to the pipeline's instances: it takes none of
   * their lanes and is not refused when they are busy. Default true.
   */
  usesInstances?: boolean;
  handle(req: Req, ctx: EndpointContext<Ops, Extra>): Promise<Res>;
}

export interface PipelineDescriptor<Ops extends WorkerOps = any, Extra = any> {
  /** `pipeline_name` in the YAML */
  pipelineName: string;
  endpoints: Array<EndpointSpec<any, any, Ops, Extra>>;
  /** Schema of `Serving.extra`; a bad value stops startup naming the key path. */
  servingExtra: z.ZodType<Extra>;
  /**
   * The config without the parts it switches off (e.g. OCR's `use_doc_preprocessor: False` drops
   * SubPipelines.DocPreprocessor), so their models are neither resolved nor loaded, as in PaddleX.
   */
  activeConfig?(config: PipelineConfig): PipelineConfig;
  /** URL of the worker module (its default export is made by `defineWorker`) */
  worker: string;
  /**
   * Opens what the endpoints share on the HTTP side and keep in the parsed `Serving.extra` (e.g.
   * ShiTu's index storage) before the server accepts requests; `close` undoes it on shutdown.
   */
  open?(config: PipelineConfig, serving: ServingConfig<Extra>): Promise<void>;
  close?(serving: ServingConfig<Extra>): Promise<void>;
}

/** The operations a worker module offers, for `import type` on the HTTP side. */
export type OpsOf<W> = W extends WorkerModule<infer Ops> ? Ops : never;

/** Worker side of a pipeline: load its models, return its operations. */
export function defineWorker<Ops extends WorkerOps>(
  create: (config: PipelineConfig, rt: RuntimeContext) => Promise<Ops>,
): WorkerModule<Ops> {
  return { create };
}

/** An endpoint whose handler is checked against its request and result schemas and the worker's operations. */
export function defineEndpoint<Ops extends WorkerOps, Extra = Record<string, unknown>>() {
  return <ReqS extends z.ZodType, ResS extends z.ZodType>(
    spec: Omit<EndpointSpec<z.output<ReqS>, z.input<ResS>, Ops, Extra>, 'request' | 'result'> & { request: ReqS; result: ResS },
  ): EndpointSpec<z.output<ReqS>, z.input<ResS>, Ops, Extra> => spec as EndpointSpec<z.output<ReqS>, z.input<ResS>, Ops, Extra>;
}

export function definePipeline<Ops extends WorkerOps, Extra>(descriptor: PipelineDescriptor<Ops, Extra>): PipelineDescriptor<Ops, Extra> {
  return descriptor;
}
