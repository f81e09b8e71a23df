/**
 * The protocol-independent part of the Triton-compatible server: models, readiness, metadata,
 * statistics and the request tensor checks, shared by the HTTP (KServe v2) and gRPC front ends.
 */
import { ApiError } from '../../errors.js';
import type { PipelineService } from '../service.js';
import { ModelExecutor, TritonError } from './executor.js';
import type { TritonMetrics } from './metrics.js';
import type { ModelConfigJson, TritonModel } from './modelRepository.js';

export const SERVER_NAME = 'pipeserve';
export const SERVER_VERSION = '0.1.0';
/** the extensions both front ends implement */
export const EXTENSIONS = ['binary_tensor_data', 'model_configuration', 'statistics', 'parameters'];
/** every HPS model has one version, "1" */
export const MODEL_VERSION = '1';

export interface TensorMetadata {
  name: string;
  datatype: string;
  shape: number[];
}

/** One request's input tensor, as either front end decoded it. */
export interface InputTensor {
  name: string;
  datatype: string;
  shape: number[];
  /** the BYTES elements */
  elements: Uint8Array[];
}

export class TritonCore {
  readonly executors = new Map<string, ModelExecutor>();
  /** set on SIGTERM: live/ready then answer "Server exiting" */
  exiting = false;

  constructor(
    readonly service: PipelineService,
    models: TritonModel[],
    readonly metrics?: TritonMetrics,
  ) {
    for (const model of models) {
      this.executors.set(model.name, new ModelExecutor(model, service, metrics));
      metrics?.addModel(model.name, () => this.executors.get(model.name)!.pending);
    }
    // an instance execution counts once for each model with requests in it (a batch of n counts one)
    const byPath = new Map(models.map((m) => [m.served.endpoint.path, this.executors.get(m.name)!]));
    for (const pool of new Set(models.map((m) => m.served.pipeline.pool))) {
      pool.on('execution', ({ labels, computeMs }) => {
        const sizes = new Map<string, number>();
        for (const label of labels) if (label) sizes.set(label, (sizes.get(label) ?? 0) + 1);
        for (const [label, size] of sizes) byPath.get(label)?.recordExecution(size, computeMs);
      });
    }
  }

  get live(): boolean {
    return !this.exiting;
  }

  /** Triton's strict readiness: the server and every model ready. */
  get ready(): boolean {
    return !this.exiting && [...this.executors.keys()].every((name) => this.modelReady(name));
  }

  /** Triton's model readiness: every instance of the model's pipeline is up (a crashed one makes it not ready until replaced). */
  modelReady(name: string): boolean {
    const executor = this.executors.get(name);
    if (!executor || this.exiting) return false;
    const stats = executor.model.served.pipeline.pool.stats();
    return stats.ready && stats.live === stats.instances;
  }

  /** The model, or Triton's NOT_FOUND for an unknown model or a version other than 1. */
  executor(name: string, version = ''): ModelExecutor {
    const executor = this.executors.get(name);
    if (!executor || (version !== '' && version !== MODEL_VERSION)) {
      throw new TritonError('NOT_FOUND', `Request for unknown model: '${name}'${version ? ` version ${version}` : ''} is not found`);
    }
    return executor;
  }

  metadata(
    name: string,
    version = '',
  ): { name: string; versions: string[]; platform: string; inputs: TensorMetadata[]; outputs: TensorMetadata[] } {
    const { model } = this.executor(name, version);
    const tensor = (t: NonNullable<ModelConfigJson['input']>[number]): TensorMetadata => ({
      name: t.name,
      datatype: 'BYTES',
      shape: model.maxBatchSize >= 1 ? [-1, ...(t.dims ?? [])] : (t.dims ?? []),
    });
    return {
      name,
      versions: [MODEL_VERSION],
      platform: model.config.platform || model.config.backend || 'python',
      inputs: (model.config.input ?? []).map(tensor),
      outputs: (model.config.output ?? []).map(tensor),
    };
  }

  /** `GET .../config`: the config as read, with Triton's defaults filled in for the fields it always shows. */
  config(name: string, version = ''): ModelConfigJson & { name: string } {
    const { model } = this.executor(name, version);
    return {
      ...model.config,
      name,
      max_batch_size: model.maxBatchSize,
      instance_group: model.config.instance_group ?? [{ count: 1, kind: 'KIND_CPU' }],
    };
  }

  statistics(name?: string, version = ''): Array<Record<string, unknown>> {
    const names = name ? [this.executor(name, version).model.name] : [...this.executors.keys()];
    return names.map((n) => {
      const s = this.executors.get(n)!.stats;
      return {
        name: n,
        version: MODEL_VERSION,
        last_inference: s.lastInferenceMs,
        inference_count: s.inferenceCount,
        execution_count: s.executionCount,
        inference_stats: {
          success: s.success,
          fail: s.fail,
          queue: s.queue,
          compute_input: { count: s.computeInfer.count, ns: 0 },
          compute_infer: s.computeInfer,
          compute_output: { count: s.computeInfer.count, ns: 0 },
          cache_hit: { count: 0, ns: 0 },
          cache_miss: { count: 0, ns: 0 },
        },
        batch_stats: [...s.batches].map(([size, { count, ns }]) => ({
          batch_size: size,
          compute_input: { count, ns: 0 },
          compute_infer: { count, ns },
          compute_output: { count, ns: 0 },
        })),
      };
    });
  }

  /**
   * Runs an infer request: exactly one input named `input`, BYTES, shape [1, 1] (or [1] for a
   * model without a batch dimension); outputs other than `output` cannot be asked for.
   */
  async infer(name: string, version: string, inputs: InputTensor[], requestedOutputs: string[]): Promise<Uint8Array> {
    if (this.exiting) throw new TritonError('UNAVAILABLE', 'Server exiting');
    const executor = this.executor(name, version);
    const { model } = executor;
    if (inputs.length !== 1) throw new TritonError('INVALID_ARG', `expected 1 inputs but got ${inputs.length} inputs for model '${name}'`);
    const [input] = inputs as [InputTensor];
    if (input.name !== 'input') throw new TritonError('INVALID_ARG', `unexpected inference input '${input.name}' for model '${name}'`);
    if (input.datatype !== 'BYTES') {
      throw new TritonError('INVALID_ARG', `inference input 'input' data-type is '${input.datatype}', but model '${name}' expects 'BYTES'`);
    }
    for (const output of requestedOutputs) {
      if (output !== 'output') throw new TritonError('INVALID_ARG', `unexpected inference output '${output}' for model '${name}'`);
    }
    const expected = model.maxBatchSize >= 1 ? [1, 1] : [1];
    const dims = model.config.input?.[0]?.dims ?? [1];
    const elements = input.shape.reduce((a, b) => a * b, 1);
    if (elements !== input.elements.length) {
      throw new TritonError(
        'INVALID_ARG',
        `unexpected number of string elements ${input.elements.length} for inference input 'input', expecting ${elements}`,
      );
    }
    const shapeMatches = input.shape.length === expected.length && input.shape.every((d, i) => d === expected[i]);
    if (!shapeMatches) {
      // Triton itself refuses a shape its config does not allow; one that `dims: [-1]` lets through
      // reaches PaddleX's model.py, whose check fails outside its JSON handling.
      if (dims[0] === -1 && input.shape.length === expected.length && input.shape[0] === 1) {
        throw new TritonError('INTERNAL', 'An error occurred during execution');
      }
      throw new TritonError(
        'INVALID_ARG',
        `unexpected shape for input 'input' for model '${name}'. Expected [${expected.join(',')}], got [${input.shape.join(',')}]`,
      );
    }
    try {
      return await executor.execute(input.elements[0]!);
    } catch (err) {
      if (err instanceof TritonError) throw err;
      if (err instanceof ApiError && err.status === 503) throw new TritonError('UNAVAILABLE', err.message);
      throw new TritonError('INTERNAL', 'An error occurred during execution');
    }
  }
}

/** Triton's status codes per error (current Triton: HTTP status follows the code). */
export const HTTP_STATUS: Record<TritonError['code'], number> = {
  INTERNAL: 500,
  NOT_FOUND: 404,
  UNAVAILABLE: 503,
  INVALID_ARG: 400,
  UNSUPPORTED: 501,
};
