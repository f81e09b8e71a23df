/**
 * What a PaddleX HPS model does with one request (`paddlex_hps_server/base_model.py` execute): the
 * input element is the basic-serving request JSON; the output element is the envelope JSON, with
 * app errors (422, 500) inside it and the Triton call itself succeeding. Only input that cannot be
 * read at all (not UTF-8) is a Triton-level error. Also keeps Triton's per-model statistics.
 */
import { randomUUID } from 'node:crypto';
import { ApiError } from '../../errors.js';
import { InstanceLostError } from '../../runtime/instancePool.js';
import type { PipelineService, StageTimings } from '../service.js';
import { ValidationError, type PydanticError } from '../validation.js';
import type { TritonMetrics } from './metrics.js';
import type { TritonModel } from './modelRepository.js';

/** A Triton-level error: its code picks the HTTP status and the gRPC status. */
export class TritonError extends Error {
  constructor(
    readonly code: 'INTERNAL' | 'NOT_FOUND' | 'UNAVAILABLE' | 'INVALID_ARG' | 'UNSUPPORTED',
    message: string,
  ) {
    super(message);
    this.name = 'TritonError';
  }
}

/** Triton's statistics of one model (the statistics extension), in nanoseconds. */
export interface ModelStats {
  lastInferenceMs: number;
  inferenceCount: number;
  executionCount: number;
  success: { count: number; ns: number };
  fail: { count: number; ns: number };
  queue: { count: number; ns: number };
  computeInfer: { count: number; ns: number };
  /** executions per batch size (Triton's batch_stats) */
  batches: Map<number, { count: number; ns: number }>;
}

export function emptyStats(): ModelStats {
  const d = () => ({ count: 0, ns: 0 });
  return {
    lastInferenceMs: 0,
    inferenceCount: 0,
    executionCount: 0,
    success: d(),
    fail: d(),
    queue: d(),
    computeInfer: d(),
    batches: new Map(),
  };
}

/** Python-ish repr of an input value for pydantic's plain-text errors, cut short. */
function repr(value: unknown): string {
  const text =
    typeof value === 'string'
      ? `'${value}'`
      : (JSON.stringify(value, (_k, v) => (v === null ? 'None' : v === true ? 'True' : v === false ? 'False' : v))
          ?.replace(/"(None|True|False)"/g, '$1')
          .replace(/"/g, "'") ?? 'None');
  return text.length > 100 ? `${text.slice(0, 97)}...` : text;
}

const inputType = (value: unknown) =>
  value === null || value === undefined
    ? 'NoneType'
    : Array.isArray(value)
      ? 'list'
      : typeof value === 'object'
        ? 'dict'
        : typeof value === 'string'
          ? 'str'
          : typeof value === 'number'
            ? Number.isInteger(value)
              ? 'int'
              : 'float'
            : 'bool';

/**
 * pydantic v2's `str(ValidationError)`, which PaddleX's HPS models put in errorMsg (basic serving
 * sends the JSON list instead), e.g. "1 validation error for InferRequest\nfile\n  Field required [type=missing, ...]".
 */
export function pydanticText(errors: PydanticError[], title: string): string {
  const lines = [`${errors.length} validation error${errors.length === 1 ? '' : 's'} for ${title}`];
  for (const e of errors) {
    const loc = e.loc.filter((part, i) => !(i === 0 && part === 'body')).join('.');
    if (loc) lines.push(loc);
    lines.push(`  ${e.msg} [type=${e.type}, input_value=${repr(e.input)}, input_type=${inputType(e.input)}]`);
    lines.push(`    For further information visit https://errors.pydantic.dev/2.11/v/${e.type}`);
  }
  return lines.join('\n');
}

/** PaddleX's request model names: operationId `infer` → InferRequest, `buildIndex` → BuildIndexRequest. */
function requestModelName(operationId: string): string {
  return `${operationId[0]!.toUpperCase()}${operationId.slice(1)}Request`;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export class ModelExecutor {
  readonly stats = emptyStats();
  /** requests received and not yet answered */
  inFlight = 0;

  constructor(
    readonly model: TritonModel,
    private readonly service: PipelineService,
    private readonly metrics?: TritonMetrics,
  ) {}

  /** Requests waiting for an instance (Triton's pending request count). */
  get pending(): number {
    return Math.max(0, this.inFlight - this.model.instances);
  }

  /** One request: the raw bytes of the `input` element → the bytes of the `output` element. */
  async execute(input: Uint8Array): Promise<Uint8Array> {
    const { model } = this;
    if (model.maxQueueSize > 0 && this.pending >= model.maxQueueSize) {
      this.record({ ok: false, queueUs: 0, computeUs: 0, totalUs: 0, rejected: true });
      throw new TritonError('UNAVAILABLE', 'Exceeds maximum queue size');
    }
    const started = performance.now();
    this.inFlight++;
    try {
      let text: string;
      try {
        text = utf8.decode(input);
      } catch {
        throw new TritonError('INTERNAL', 'An error occurred during execution');
      }
      const stages: StageTimings = { downloadMs: 0, queueMs: 0, computeMs: 0 };
      const envelope = await this.run(text, stages);
      const totalUs = (performance.now() - started) * 1000;
      this.record({ ok: true, queueUs: stages.queueMs * 1000, computeUs: stages.computeMs * 1000, totalUs, rejected: false });
      return new TextEncoder().encode(JSON.stringify(envelope));
    } catch (err) {
      const totalUs = (performance.now() - started) * 1000;
      this.record({ ok: false, queueUs: 0, computeUs: 0, totalUs, rejected: err instanceof TritonError && err.code === 'UNAVAILABLE' });
      throw err;
    } finally {
      this.inFlight--;
    }
  }

  /** The envelope PaddleX's HPS model returns for a request JSON text. */
  private async run(text: string, stages: StageTimings): Promise<Record<string, unknown>> {
    const logId = randomUUID();
    const { served } = this.model;
    const title = requestModelName(served.endpoint.operationId);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      const message = pydanticText([{ type: 'json_invalid', loc: [], msg: `Invalid JSON: ${(err as Error).message}`, input: text }], title);
      return { logId, errorCode: 422, errorMsg: message };
    }
    try {
      const result = await this.service.invoke(served, body, logId, { stages });
      return { logId, result, errorCode: 0, errorMsg: 'Success' };
    } catch (err) {
      if (err instanceof ValidationError) return { logId, errorCode: 422, errorMsg: pydanticText(err.errors, title) };
      // a full queue is Triton's business, not the app's: UNAVAILABLE as Triton answers it
      if (err instanceof ApiError && err.status === 503) throw new TritonError('UNAVAILABLE', 'Exceeds maximum queue size');
      // a dead instance is a backend failure, as Triton reports a dead Python stub: not an app error inside the JSON
      if (err instanceof InstanceLostError) {
        throw new TritonError('INTERNAL', `Failed to process the request(s) for model '${this.model.name}', message: ${err.message}`);
      }
      if (err instanceof ApiError) return { logId, errorCode: err.status, errorMsg: err.message };
      process.stderr.write(`[ERROR] [${this.model.name}] [${logId}] - Unhandled exception: ${(err as Error).stack ?? err}\n`);
      return { logId, errorCode: 500, errorMsg: 'Internal server error' };
    }
  }

  private record(outcome: { ok: boolean; queueUs: number; computeUs: number; totalUs: number; rejected: boolean }): void {
    const s = this.stats;
    const ns = Math.round(outcome.totalUs * 1000);
    if (outcome.ok) {
      s.success.count++;
      s.success.ns += ns;
      s.inferenceCount++;
      s.computeInfer.count++;
      s.computeInfer.ns += Math.round(outcome.computeUs * 1000);
      s.queue.count++;
      s.queue.ns += Math.round(outcome.queueUs * 1000);
      s.lastInferenceMs = Date.now();
    } else {
      s.fail.count++;
      s.fail.ns += ns;
    }
    this.metrics?.record(this.model.name, outcome);
  }

  /** One execution of an instance that ran `size` of this model's requests (several under dynamic batching). */
  recordExecution(size: number, computeMs: number): void {
    const s = this.stats;
    s.executionCount++;
    const batch = s.batches.get(size) ?? { count: 0, ns: 0 };
    batch.count++;
    batch.ns += Math.round(computeMs * 1e6);
    s.batches.set(size, batch);
    this.metrics?.recordExecution(this.model.name);
  }
}
