import type { z } from 'zod';
import type { InferenceSession } from 'onnxruntime-node';
import type { PipelineConfig, SubModuleConfig } from '../config/pipelineConfig.js';

/** Worker-thread services a pipeline uses while loading. */
export interface RuntimeContext {
  /** An onnxruntime session for a resolved sub-module, on the configured device and thread count. */
  loadSession(sub: SubModuleConfig): Promise<InferenceSession>;
}

/**
 * A pipeline loaded inside a worker thread: it answers named operations. Payloads and results are
 * plain data (structured-clone); Uint8Arrays in a result are transferred, not copied.
 */
export interface PipelineInstance {
  ops: Record<string, (payload: any) => Promise<unknown>>;
}

/** Serving.* of the pipeline YAML, with PaddleX's defaults applied. */
export interface ServingConfig {
  visualize: boolean;
  extra: Record<string, unknown>;
}

/** What an endpoint handler may do (HTTP thread): it never runs inference itself. */
export interface EndpointContext {
  logId: string;
  /** the pipeline's config as loaded (only its active parts, with models resolved) */
  config: PipelineConfig;
  serving: ServingConfig;
  /**
   * Run an operation of this pipeline on a worker thread (queued; 503 when the queue is full).
   * `continuation`: a further task of an already admitted request (e.g. the next PDF page), which
   * skips the queue bound so a long document is not failed half-way.
   */
  runTask<T>(op: string, payload: unknown, transfer?: ArrayBuffer[], options?: { continuation?: boolean }): Promise<T>;
  /** inference worker threads: how many tasks of one request can usefully run at once */
  workers: number;
  /** Bytes of an input string: http(s) URL (fetched with limits) or Base64. `field` names it in errors. */
  loadInput(value: string, field: string): Promise<Uint8Array>;
}

export interface EndpointDefinition<Req = any> {
  /** e.g. '/object-detection' (also the Triton model name without the slash) */
  path: string;
  operationId: string;
  summary: string;
  /** Request body schema; unknown fields are ignored, every optional field accepts null. */
  request: z.ZodType<Req>;
  /** The request field that carries the input, for `--input` local prediction. */
  inputField: 'image' | 'file';
  handle(req: Req, ctx: EndpointContext): Promise<Record<string, unknown>>;
}

export interface PipelineDefinition {
  /** `pipeline_name` in the YAML */
  pipelineName: string;
  endpoints: EndpointDefinition[];
  /**
   * The config without the parts it switches off (e.g. OCR's `use_doc_preprocessor: False` drops
   * SubPipelines.DocPreprocessor), so their models are neither resolved nor loaded, as in PaddleX.
   */
  activeConfig?(config: PipelineConfig): PipelineConfig;
  /** Worker side: load models and return the operations. */
  create(config: PipelineConfig, rt: RuntimeContext): Promise<PipelineInstance>;
}
