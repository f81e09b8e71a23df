/**
 * What the inference.yml-driven modules share: reading a model's inference.yml with errors that say
 * where the problem is, zod pieces for its settings, input checks, batching and running classifiers.
 */
import type { z } from 'zod';
import type { InferenceSession } from 'onnxruntime-node';
import type { InferenceConfig, ResolvedSubModule } from '../config/models.js';
import { ConfigError, invalidInput } from '../errors.js';
import type { RgbImage } from '../io/image.js';
import type { ort } from '../runtime/session.js';

// ---------------------------------------------------------------------------------------------
// Reading inference.yml

/**
 * One sub-module's inference.yml. Every problem it reports is a ConfigError naming the pipeline
 * YAML key path of the sub-module, the model and its directory, and the inference.yml setting.
 */
export class InferenceConfigReader {
  constructor(
    readonly sub: ResolvedSubModule,
    readonly keyPath: string,
  ) {}

  get config(): InferenceConfig {
    return this.sub.resolved.inferenceConfig;
  }

  /** `${keyPath} (model X from Y)`, the prefix of every configuration error of the module. */
  get where(): string {
    return `${this.keyPath} (model ${this.sub.model_name} from ${this.sub.resolved.source})`;
  }

  error(setting: string, problem: string): ConfigError {
    return new ConfigError(`${this.where}: inference.yml ${setting}: ${problem}`);
  }

  /** A setting checked against `schema`; absent or `null` parses as `{}` (an op with all defaults). */
  parse<S extends z.ZodType>(schema: S, value: unknown, setting: string): z.output<S> {
    const parsed = schema.safeParse(value ?? {});
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `${[setting, ...i.path.map(String)].join('.')}: ${i.message}`);
      throw new ConfigError(`${this.where}: inference.yml ${problems.join('; ')}`);
    }
    return parsed.data;
  }
}

/**
 * The angle each class of an orientation classifier stands for, from its labels ('90', '180_degree', ...).
 * PaddleClas exports keep the labels in `PostProcess.Topk.label_list`, PaddleOCR's text-line classifier
 * in `PostProcess.label_list`.
 */
export function readLabelAngles<A extends number>(yml: InferenceConfigReader, allowed: readonly A[]): A[] {
  const post = yml.config.PostProcess ?? {};
  const [setting, labels]: [string, unknown] =
    post.Topk?.label_list != null
      ? ['PostProcess.Topk.label_list', post.Topk.label_list]
      : post.label_list != null
        ? ['PostProcess.label_list', post.label_list]
        : ['PostProcess.Topk.label_list (or PostProcess.label_list)', undefined];
  if (!Array.isArray(labels) || labels.length === 0) throw yml.error(setting, 'missing or empty (expected the class names)');
  return labels.map((label) => {
    const angle = Number(/^\d+/.exec(String(label))?.[0]);
    if (!allowed.includes(angle as A)) {
      throw yml.error(setting, `label ${JSON.stringify(String(label))} does not name one of the angles ${allowed.join(', ')}`);
    }
    return angle as A;
  });
}

// ---------------------------------------------------------------------------------------------
// Inputs, batches and classifier outputs

/** A client-sent image with no pixels is refused before it reaches a model. */
export function checkNonEmpty(images: RgbImage[], what: string): void {
  images.forEach((img, i) => {
    if (img.width <= 0 || img.height <= 0) throw invalidInput(`${what}: image ${i} is empty (${img.width}×${img.height} pixels)`);
  });
}

/**
 * The batch size a model runs with: `batch_size` of its sub-module in the pipeline YAML (PaddleX's
 * default is 1), capped at 1 when the model declares a fixed batch dimension of 1 on any input (some
 * exports fix it on auxiliary inputs such as `scale_factor`).
 */
export function batchSizeOf(sub: ResolvedSubModule, session: InferenceSession): number {
  const declared = session.inputMetadata.flatMap((m) =>
    m.isTensor && typeof m.shape[0] === 'number' && m.shape[0] > 0 ? [m.shape[0]] : [],
  );
  return Math.max(1, Math.min(sub.batch_size ?? 1, ...declared));
}

/**
 * PaddleX's batching: inputs taken in order, `batchSize` at a time, each batch prepared (resized,
 * normalised, ...) only when its turn comes. Within a batch only consecutive items of one prepared
 * shape share a session run (a tensor batch needs one shape). `run` returns one result per item of
 * its group; results come back in input order.
 */
export async function runInBatches<T, P, R>(
  items: readonly T[],
  batchSize: number,
  steps: {
    prepare: (item: T) => P | Promise<P>;
    run: (prepared: P[], items: T[]) => Promise<R[]>;
    shapeOf?: (prepared: P) => string;
  },
): Promise<R[]> {
  const shapeOf = steps.shapeOf ?? (() => '');
  const results: R[] = [];
  for (let start = 0; start < items.length; start += batchSize) {
    const chunk = items.slice(start, start + batchSize);
    const prepared = await Promise.all(chunk.map((item) => steps.prepare(item)));
    let from = 0;
    while (from < chunk.length) {
      let to = from + 1;
      while (to < chunk.length && shapeOf(prepared[to]!) === shapeOf(prepared[from]!)) to++;
      results.push(...(await steps.run(prepared.slice(from, to), chunk.slice(from, to))));
      from = to;
    }
  }
  return results;
}

/**
 * Runs a classifier on a `[N, ...]` batch and returns each image's row of its first output, `[N, classes]`
 * probabilities. `classes`, when the label list gives it, is checked against the output.
 */
export async function classifierRows(
  session: InferenceSession,
  input: ort.Tensor,
  what: string,
  classes?: number,
): Promise<Float32Array[]> {
  const output = (await session.run({ [session.inputNames[0]!]: input }))[session.outputNames[0]!]!;
  const rows = input.dims[0]!;
  const width = Number(output.dims.at(-1));
  if (output.dims.length !== 2 || output.dims[0] !== rows || (classes !== undefined && width !== classes)) {
    throw new Error(`${what}: expected an output [${rows}, ${classes ?? 'classes'}], got [${output.dims.join(', ')}]`);
  }
  const probs = output.data as Float32Array;
  return Array.from({ length: rows }, (_, row) => probs.subarray(row * width, (row + 1) * width));
}
