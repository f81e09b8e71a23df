/**
 * What the inference.yml-driven modules share: reading a model's inference.yml with errors that say
 * where the problem is, zod pieces for its settings, input checks, batching and running classifiers.
 */
import { z } from 'zod';
import type { InferenceSession } from 'onnxruntime-node';
import type { InferenceConfig, ResolvedSubModule } from '../config/models.js';
import { ConfigError, invalidInput } from '../errors.js';
import type { RgbImage } from '../io/image.js';
import { parseScale } from '../ops/normalize.js';
import { interpolationCode } from '../ops/resize.js';
import type { ort } from '../runtime/session.js';

// ---------------------------------------------------------------------------------------------
// Reading inference.yml

/** One `PreProcess.transform_ops` entry (`- OpName: {params}`). */
export interface TransformOp {
  name: string;
  /** the op's mapping; `null` (e.g. `ToCHWImage: null`) means "all defaults" */
  params: unknown;
  /** `PreProcess.transform_ops[i] (OpName)`, for error messages */
  setting: string;
}

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

  /** `PreProcess.transform_ops`, in order; each entry must name exactly one op (PaddleX reads its first key). */
  transformOps(): TransformOp[] {
    const ops: unknown = this.config.PreProcess?.transform_ops;
    if (!Array.isArray(ops)) throw this.error('PreProcess.transform_ops', 'missing or not a list');
    return ops.map((entry: unknown, index) => {
      const names = entry && typeof entry === 'object' ? Object.keys(entry) : [];
      if (names.length !== 1) throw this.error(`PreProcess.transform_ops[${index}]`, 'each op must be a mapping with exactly one op name');
      const name = names[0]!;
      return { name, params: (entry as Record<string, unknown>)[name], setting: `PreProcess.transform_ops[${index}] (${name})` };
    });
  }

  /** The first `PreProcess.transform_ops` entry named `name`. */
  findTransformOp(name: string): TransformOp | undefined {
    return this.transformOps().find((op) => op.name === name);
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
// zod pieces for inference.yml settings

export const positiveInt = z.number().int().positive();

/** one value per colour channel */
export const channelTriple = z.tuple([z.number(), z.number(), z.number()]);
export const stdParam = channelTriple.refine((s) => s.every((v) => v !== 0), 'std values must be non-zero');

/** NormalizeImage `scale`: a number or a fraction written as a string, such as '1./255.' */
export const scaleParam = z
  .union([z.number(), z.string()])
  .transform((v) => parseScale(v, Number.NaN))
  .refine((v) => Number.isFinite(v) && v > 0, 'scale must be a positive number or a fraction such as 1./255.');

/** a cv2 interpolation code or name, as `interpolation` / `interp` settings give it */
export const interpolationParam = z
  .union([z.string(), z.number()])
  .transform((v) => interpolationCode(v, -1))
  .refine((code) => code >= 0, 'unknown interpolation (use NEAREST, LINEAR, BILINEAR, CUBIC, BICUBIC, AREA, LANCZOS4 or a cv2 code 0-4)');

/** an op that takes no parameters, such as ToCHWImage or Permute */
export const noParams = z.object({});

/** PaddleX's default NormalizeImage mean / std (ImageNet, RGB, on pixels scaled to [0, 1]) */
export const IMAGENET_MEAN: [number, number, number] = [0.485, 0.456, 0.406];
export const IMAGENET_STD: [number, number, number] = [0.229, 0.224, 0.225];

// ---------------------------------------------------------------------------------------------
// Inputs, batches and classifier outputs

/** A client-sent image with no pixels is refused before it reaches a model. */
export function checkNonEmpty(images: RgbImage[], what: string): void {
  images.forEach((img, i) => {
    if (img.width <= 0 || img.height <= 0) throw invalidInput(`${what}: image ${i} is empty (${img.width}×${img.height} pixels)`);
  });
}

/**
 * The largest batch a session accepts: `batch_size` from the YAML, capped at 1 when the model declares a
 * fixed batch dimension of 1 on any input (some exports fix it on auxiliary inputs such as `scale_factor`).
 */
export function effectiveBatchSize(session: InferenceSession, batchSize: number | null | undefined): number {
  const declared = session.inputMetadata.flatMap((m) =>
    m.isTensor && typeof m.shape[0] === 'number' && m.shape[0] > 0 ? [m.shape[0]] : [],
  );
  return Math.max(1, Math.min(batchSize ?? 1, ...declared));
}

/**
 * Splits items into session runs: at most `maxSize` each, and only consecutive items of the same input
 * shape together (a tensor batch needs one shape; configs without a fixed output size can yield several).
 */
export function batchesByShape<T>(items: readonly T[], maxSize: number, shapeOf: (item: T) => string): T[][] {
  const batches: T[][] = [];
  for (const item of items) {
    const current = batches.at(-1);
    if (current && current.length < maxSize && shapeOf(current[0]!) === shapeOf(item)) current.push(item);
    else batches.push([item]);
  }
  return batches;
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
