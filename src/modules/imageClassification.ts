import { z } from 'zod';
import type { InferenceSession } from 'onnxruntime-node';
import type { ResolvedSubModule } from '../config/models.js';
import { ApiError, ConfigError } from '../errors.js';
import type { RgbImage } from '../io/image.js';
import { normalizeToChw, parseScale, type NormalizeSpec } from '../ops/normalize.js';
import { cropImage, interpolationCode, resizeImage } from '../ops/resize.js';
import { ort } from '../runtime/session.js';
import type { RuntimeContext } from '../pipelines/types.js';

// ---------------------------------------------------------------------------------------------
// Helpers shared with the other inference.yml-driven modules (objectDetection.ts imports them).

/** A ConfigError naming the YAML key path, the model directory and the inference.yml setting at fault. */
export function modelConfigError(sub: ResolvedSubModule, keyPath: string, setting: string, problem: string): ConfigError {
  return new ConfigError(
    `${keyPath} (model ${sub.model_name} from ${sub.resolved.source}): inference.yml ${setting}: ${problem}`,
  );
}

/** Parameters of one pre/post-processing op, checked; `null` (e.g. `ToCHWImage: null`) means "all defaults". */
export function parseOpParams<S extends z.ZodType>(schema: S, value: unknown, fail: (problem: string) => ConfigError): z.output<S> {
  const parsed = schema.safeParse(value ?? {});
  if (!parsed.success) {
    throw fail(parsed.error.issues.map((i) => `${i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}`).join('; '));
  }
  return parsed.data;
}

/**
 * The largest batch a session accepts: `batch_size` from the YAML, capped at 1 when the model declares a
 * fixed batch dimension of 1 on any input (some exports fix it on auxiliary inputs such as `scale_factor`).
 */
export function effectiveBatchSize(session: InferenceSession, batchSize: number | null | undefined): number {
  const declared = session.inputMetadata.flatMap((m) => (m.isTensor && typeof m.shape[0] === 'number' && m.shape[0] > 0 ? [m.shape[0]] : []));
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

// ---------------------------------------------------------------------------------------------

export interface Classification {
  classIds: number[];
  scores: number[];
  labelNames: string[];
}

export const IMAGENET_MEAN: [number, number, number] = [0.485, 0.456, 0.406];
export const IMAGENET_STD: [number, number, number] = [0.229, 0.224, 0.225];

export const positiveInt = z.number().int().positive();
/** PaddleClas sizes: an int (square) or [width, height] */
const sizeParam = z.union([positiveInt, z.tuple([positiveInt, positiveInt])]);
/** a cv2 interpolation code or name, as `interpolation` / `interp` settings give it */
export const interpolationParam = z
  .union([z.string(), z.number()])
  .transform((v) => interpolationCode(v, -1))
  .refine((code) => code >= 0, 'unknown interpolation (use NEAREST, LINEAR, BILINEAR, CUBIC, BICUBIC, AREA, LANCZOS4 or a cv2 code 0-4)');

const resizeImageParams = z
  .object({
    resize_short: positiveInt.nullish(),
    size: sizeParam.nullish(),
    interpolation: interpolationParam.nullish(),
    backend: z.enum(['cv2', 'pil']).nullish(),
  })
  .refine((p) => p.resize_short != null || p.size != null, 'needs resize_short or size');

const cropImageParams = z.object({ size: sizeParam.nullish() });

/** one value per colour channel */
export const channelTriple = z.tuple([z.number(), z.number(), z.number()]);
export const stdParam = channelTriple.refine((s) => s.every((v) => v !== 0), 'std values must be non-zero');
const normalizeImageParams = z.object({
  mean: channelTriple.nullish(),
  std: stdParam.nullish(),
  scale: z
    .union([z.number(), z.string()])
    .transform((v) => parseScale(v, Number.NaN))
    .refine((v) => Number.isFinite(v) && v > 0, 'scale must be a positive number or a fraction such as 1./255.')
    .nullish(),
  // PaddleX asserts order '' (HWC input); 'hwc' says the same thing explicitly.
  order: z.enum(['', 'hwc']).nullish(),
  channel_num: z.literal(3).nullish(),
});

export const noParams = z.object({});

const topkParams = z.object({
  topk: positiveInt.nullish(),
  label_list: z.array(z.union([z.string(), z.number()]).transform(String)).nullish(),
});

type Resize = { kind: 'short'; short: number; interp: number } | { kind: 'size'; width: number; height: number; interp: number };

interface ClassifierConfig {
  resize: Resize;
  crop?: { width: number; height: number };
  normalize: NormalizeSpec;
  labels?: string[];
  defaultTopk: number;
}

function sizeToWh(size: number | [number, number]): { width: number; height: number } {
  return typeof size === 'number' ? { width: size, height: size } : { width: size[0], height: size[1] };
}

/** Reads PaddleClas' `PreProcess.transform_ops` and `PostProcess.Topk` the way PaddleX's ClasPredictor does. */
function parseClassifierConfig(sub: ResolvedSubModule, keyPath: string): ClassifierConfig {
  const cfg = sub.resolved.inferenceConfig;
  const fail = (setting: string) => (problem: string) => modelConfigError(sub, keyPath, setting, problem);
  const ops: unknown = cfg.PreProcess?.transform_ops;
  if (!Array.isArray(ops)) throw fail('PreProcess.transform_ops')('missing or not a list');

  let resize: Resize | undefined;
  let crop: ClassifierConfig['crop'];
  let normalize: NormalizeSpec | undefined;
  let toChw = false;
  ops.forEach((entry: unknown, index) => {
    const names = entry && typeof entry === 'object' ? Object.keys(entry) : [];
    const where = `PreProcess.transform_ops[${index}]`;
    if (names.length !== 1) throw fail(where)('each op must be a mapping with exactly one op name');
    const name = names[0]!;
    const value = (entry as Record<string, unknown>)[name];
    const opFail = fail(`${where} (${name})`);
    switch (name) {
      case 'ResizeImage': {
        const p = parseOpParams(resizeImageParams, value, opFail);
        const interp = p.interpolation ?? 1;
        resize = p.resize_short != null ? { kind: 'short', short: p.resize_short, interp } : { kind: 'size', ...sizeToWh(p.size!), interp };
        break;
      }
      case 'CropImage':
        crop = sizeToWh(parseOpParams(cropImageParams, value, opFail).size ?? 224);
        break;
      case 'NormalizeImage': {
        const p = parseOpParams(normalizeImageParams, value, opFail);
        normalize = { scale: p.scale ?? 1 / 255, mean: p.mean ?? IMAGENET_MEAN, std: p.std ?? IMAGENET_STD, channelOrder: 'rgb' };
        break;
      }
      case 'ToCHWImage':
        parseOpParams(noParams, value, opFail);
        toChw = true;
        break;
      default:
        throw opFail('unsupported op (supported: ResizeImage, CropImage, NormalizeImage, ToCHWImage)');
    }
  });
  // PaddleX's ClasPredictor always runs Resize → [Crop] → Normalize → ToCHW, whatever the list order.
  if (!resize) throw fail('PreProcess.transform_ops')('no ResizeImage op (PaddleX requires one)');
  if (!normalize) throw fail('PreProcess.transform_ops')('no NormalizeImage op (PaddleX requires one)');
  if (!toChw) throw fail('PreProcess.transform_ops')('no ToCHWImage op (only NCHW classifiers are supported)');

  const post: unknown = cfg.PostProcess;
  if (!post || typeof post !== 'object') throw fail('PostProcess')('missing (expected PostProcess.Topk)');
  const unknownPost = Object.keys(post).filter((k) => k !== 'Topk');
  if (unknownPost.length) throw fail(`PostProcess.${unknownPost[0]}`)('unsupported post-process (supported: Topk)');
  if (!('Topk' in post)) throw fail('PostProcess')('no Topk entry');
  const topk = parseOpParams(topkParams, (post as Record<string, unknown>).Topk, fail('PostProcess.Topk'));
  return { resize, crop, normalize, labels: topk.label_list ?? undefined, defaultTopk: topk.topk ?? 5 };
}

/** 5 decimals, as PaddleX's Topk reports scores (np.around). */
function roundScore(value: number): number {
  return Math.round(value * 1e5) / 1e5;
}

/** PaddleClas image classifier (PaddleX module `image_classification`) on an ONNX session. */
export class ImageClassifier {
  private constructor(
    private readonly session: InferenceSession,
    private readonly config: ClassifierConfig,
    private readonly batchSize: number,
  ) {}

  /** `inference.yml` Topk.topk (PaddleX's default when neither request nor pipeline YAML gives one) */
  get defaultTopk(): number {
    return this.config.defaultTopk;
  }

  static async load(sub: ResolvedSubModule, rt: RuntimeContext, keyPath: string): Promise<ImageClassifier> {
    const config = parseClassifierConfig(sub, keyPath);
    const session = await rt.loadSession(sub);
    return new ImageClassifier(session, config, effectiveBatchSize(session, sub.batch_size));
  }

  async predict(images: RgbImage[], opts: { topk: number }): Promise<Classification[]> {
    const results: Classification[] = [];
    for (let start = 0; start < images.length; start += this.batchSize) {
      const prepared = await Promise.all(images.slice(start, start + this.batchSize).map((img) => this.resizeAndCrop(img)));
      for (const batch of batchesByShape(prepared, this.batchSize, (img) => `${img.width}x${img.height}`)) {
        results.push(...(await this.run(batch, opts.topk)));
      }
    }
    return results;
  }

  private async resizeAndCrop(img: RgbImage): Promise<RgbImage> {
    const { resize, crop } = this.config;
    let out: RgbImage;
    if (resize.kind === 'short') {
      const scale = resize.short / Math.min(img.width, img.height);
      out = await resizeImage(img, Math.round(img.width * scale), Math.round(img.height * scale), resize.interp);
    } else {
      out = await resizeImage(img, resize.width, resize.height, resize.interp);
    }
    if (!crop) return out;
    if (out.width < crop.width || out.height < crop.height) {
      throw new ApiError(
        422,
        `image: after resizing to ${out.width}x${out.height} it is smaller than the model's ${crop.width}x${crop.height} center crop`,
      );
    }
    return cropImage(out, Math.floor((out.width - crop.width) / 2), Math.floor((out.height - crop.height) / 2), crop.width, crop.height);
  }

  private async run(batch: RgbImage[], topk: number): Promise<Classification[]> {
    const { width, height } = batch[0]!;
    const plane = 3 * width * height;
    const input = new Float32Array(batch.length * plane);
    batch.forEach((img, i) => normalizeToChw(img, this.config.normalize, input, i * plane));
    const outputs = await this.session.run({ [this.session.inputNames[0]!]: new ort.Tensor('float32', input, [batch.length, 3, height, width]) });
    const probs = outputs[this.session.outputNames[0]!]!;
    const numClasses = Number(probs.dims.at(-1));
    const data = probs.data as Float32Array;
    return batch.map((_, i) => {
      const row = data.subarray(i * numClasses, (i + 1) * numClasses);
      const classIds = Array.from(row.keys())
        .sort((a, b) => row[b]! - row[a]!)
        .slice(0, topk);
      return {
        classIds,
        scores: classIds.map((id) => roundScore(row[id]!)),
        labelNames: classIds.map((id) => this.config.labels?.[id] ?? String(id)),
      };
    });
  }
}
