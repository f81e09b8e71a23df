/**
 * The pre-processing ops of inference.yml, in one registry: their parameters are checked here once,
 * and each model family takes the ops it supports from `readPreprocessOps`. Three list formats exist:
 * PaddleClas / PaddleOCR exports write `PreProcess.transform_ops: [{OpName: {params}}]`,
 * PaddleDetection exports `Preprocess: [{type: OpName, ...params}]`, PaddleSeg exports (semantic
 * segmentation, anomaly detection) `Deploy.transforms: [{type: OpName, ...params}]`.
 */
import { z } from 'zod';
import type { NormalizeSpec } from '../ops/normalize.js';
import { parseScale } from '../ops/normalize.js';
import { interpolationCode } from '../ops/resize.js';
import type { InferenceConfigReader } from './common.js';

export const positiveInt = z.number().int().positive();

/** one value per colour channel */
export const channelTriple = z.tuple([z.number(), z.number(), z.number()]);
const stdParam = channelTriple.refine((s) => s.every((v) => v !== 0), 'std values must be non-zero');

/** NormalizeImage `scale`: a number or a fraction written as a string, such as '1./255.' */
const scaleParam = z
  .union([z.number(), z.string()])
  .transform((v) => parseScale(v, Number.NaN))
  .refine((v) => Number.isFinite(v) && v > 0, 'scale must be a positive number or a fraction such as 1./255.');

/** a cv2 interpolation code or name, as `interpolation` / `interp` settings give it */
const interpolationParam = z
  .union([z.string(), z.number()])
  .transform((v) => interpolationCode(v, -1))
  .refine((code) => code >= 0, 'unknown interpolation (use NEAREST, LINEAR, BILINEAR, CUBIC, BICUBIC, AREA, LANCZOS4 or a cv2 code 0-4)');

const noParams = z.object({});

/** PaddleClas sizes: an int (square) or [width, height] */
const widthHeight = z.union([positiveInt, z.tuple([positiveInt, positiveInt])]);
/** PaddleDetection sizes: an int (square) or [height, width] */
const heightWidth = widthHeight;
/** `image_shape: [3, height, width]` of the PaddleOCR line ops */
const lineImageShape = z.tuple([z.literal(3), positiveInt, positiveInt], { error: 'must be [3, height, width]' });

/** Every op a model family may use, with its parameters. */
const OPS = {
  // PaddleClas (image classification, orientation classifiers)
  ResizeImage: z
    .object({
      resize_short: positiveInt.nullish(),
      size: widthHeight.nullish(),
      interpolation: interpolationParam.nullish(),
      // cv2 or pil picks a library, not a different resize
      backend: z.enum(['cv2', 'pil']).nullish(),
    })
    .refine((p) => p.resize_short != null || p.size != null, 'needs resize_short or size'),
  CropImage: z.object({ size: widthHeight.nullish() }),
  ToCHWImage: noParams,
  /** PaddleClas/PaddleOCR (`scale`, `order`) and PaddleDetection (`is_scale`, `norm_type`) spellings of one op */
  NormalizeImage: z.object({
    mean: channelTriple.nullish(),
    std: stdParam.nullish(),
    scale: scaleParam.nullish(),
    // PaddleX asserts order '' (HWC input); 'hwc' says the same thing explicitly
    order: z.enum(['', 'hwc']).nullish(),
    channel_num: z.literal(3).nullish(),
    is_scale: z.boolean().nullish(),
    norm_type: z.enum(['mean_std', 'none']).nullish(),
  }),
  // PaddleOCR (text detection, recognition, line classification)
  DecodeImage: z.object({ img_mode: z.enum(['BGR', 'RGB']).nullish(), channel_first: z.boolean().nullish() }),
  DetResizeForTest: z.object({
    resize_long: positiveInt.nullish(),
    limit_side_len: positiveInt.nullish(),
    limit_type: z.enum(['min', 'max']).nullish(),
    max_side_limit: positiveInt.nullish(),
  }),
  RecResizeImg: z.object({ image_shape: lineImageShape }),
  // PaddleOCR table structure (SLANet): long side to max_len, then zero padding to a square of size[0]
  ResizeTableImage: z.object({ max_len: positiveInt.nullish(), resize_bboxes: z.boolean().nullish() }),
  PaddingTableImage: z.object({ size: z.tuple([positiveInt, positiveInt]).nullish(), pad_value: z.number().nullish() }),
  ClsResizeImg: z.object({ image_shape: lineImageShape }),
  // PaddleDetection ([h, w]) and PaddleSeg ([w, h], `size_divisor`; PaddleX's segmentation Resize also takes -1 = keep the size)
  Resize: z.object({
    target_size: z.union([heightWidth, z.literal(-1), z.tuple([z.literal(-1), z.literal(-1)])]),
    keep_ratio: z.boolean().nullish(),
    interp: interpolationParam.nullish(),
    size_divisor: positiveInt.nullish(),
  }),
  Permute: noParams,
  // PaddleSeg (semantic segmentation, anomaly detection): one number or one per channel, on pixels scaled to [0, 1]
  Normalize: z.object({ mean: z.union([z.number(), channelTriple]).nullish(), std: z.union([z.number(), stdParam]).nullish() }),
  Pad: z.object({ size: heightWidth.nullish(), fill_value: z.union([z.number(), channelTriple]).nullish() }),
  PadStride: z.object({ stride: z.number().int().nonnegative().nullish() }),
  // PaddleDetection keypoint exports: the person crop, `trainsize` [width, height]
  TopDownEvalAffine: z.object({ trainsize: z.tuple([positiveInt, positiveInt]), use_udp: z.boolean().nullish() }),
  // PaddleOCR formula recognition: UniMERNet / PP-FormulaNet (`input_size` [height, width]) and LaTeX-OCR ([width, height] bounds)
  UniMERNetImgDecode: z.object({ input_size: z.tuple([positiveInt, positiveInt]) }),
  UniMERNetTestTransform: noParams,
  UniMERNetImageFormat: noParams,
  LatexImageFormat: noParams,
  MinMaxResize: z.object({
    min_dimensions: z.tuple([positiveInt, positiveInt]).nullish(),
    max_dimensions: z.tuple([positiveInt, positiveInt]).nullish(),
  }),
  LatexTestTransform: noParams,
};

/** Ops that exports keep from training (labels, key selection) and inference skips, as PaddleX does. */
const TRAINING_ONLY_OPS = new Set([
  'DetLabelEncode',
  'MultiLabelEncode',
  'CTCLabelEncode',
  'ClsLabelEncode',
  'TableLabelEncode',
  'TableBoxEncode',
  'UniMERNetLabelEncode',
  'KeepKeys',
]);

export type OpName = keyof typeof OPS;
export type OpParams<N extends OpName> = z.output<(typeof OPS)[N]>;

/** One pre-processing op of a model's inference.yml, its params checked. */
export type PreprocessOp<N extends OpName = OpName> = { [K in N]: { name: K; params: OpParams<K>; setting: string } }[N];

interface RawOp {
  name: string;
  params: unknown;
  setting: string;
}

/** The raw list in either format, each entry named by its op. */
function rawOps(yml: InferenceConfigReader): RawOp[] {
  const { config } = yml;
  const typedList = (list: unknown[], setting: string) =>
    list.map((entry: unknown, index: number) => {
      const { type, ...params } = (entry && typeof entry === 'object' ? entry : {}) as Record<string, unknown>;
      return { name: String(type), params, setting: `${setting}[${index}] (${String(type)})` };
    });
  if (Array.isArray(config.Preprocess)) return typedList(config.Preprocess, 'Preprocess');
  if (config.Deploy !== undefined) {
    if (!Array.isArray(config.Deploy?.transforms)) throw yml.error('Deploy.transforms', 'missing or not a list');
    return typedList(config.Deploy.transforms, 'Deploy.transforms');
  }
  const ops: unknown = config.PreProcess?.transform_ops;
  if (!Array.isArray(ops)) throw yml.error('PreProcess.transform_ops', 'missing or not a list');
  return ops.map((entry: unknown, index) => {
    const names = entry && typeof entry === 'object' ? Object.keys(entry) : [];
    if (names.length !== 1) throw yml.error(`PreProcess.transform_ops[${index}]`, 'each op must be a mapping with exactly one op name');
    const name = names[0]!;
    return { name, params: (entry as Record<string, unknown>)[name], setting: `PreProcess.transform_ops[${index}] (${name})` };
  });
}

/**
 * The pre-processing ops of a model, in order, each checked against the registry. An op outside
 * `supported` is a configuration error naming it (training-only ops are skipped).
 */
export function readPreprocessOps<N extends OpName>(yml: InferenceConfigReader, supported: readonly N[]): Array<PreprocessOp<N>> {
  return rawOps(yml).flatMap(({ name, params, setting }) => {
    if (TRAINING_ONLY_OPS.has(name)) return [];
    if (!(supported as readonly string[]).includes(name)) {
      throw yml.error(setting, `unsupported op (supported: ${supported.join(', ')})`);
    }
    return [{ name, params: yml.parse(OPS[name as N], params, setting), setting } as PreprocessOp<N>];
  });
}

/** The names of a model's pre-processing ops, unchecked (to tell which kind of export it is). */
export function preprocessOpNames(yml: InferenceConfigReader): string[] {
  return rawOps(yml).map((op) => op.name);
}

/** The first op named `name`, checked; undefined when the model has none. */
export function findPreprocessOp<N extends OpName>(ops: ReadonlyArray<PreprocessOp>, name: N): PreprocessOp<N> | undefined {
  return ops.find((op) => op.name === name) as PreprocessOp<N> | undefined;
}

/** PaddleX's default NormalizeImage mean / std (ImageNet, on pixels scaled to [0, 1]) */
export const IMAGENET_MEAN: [number, number, number] = [0.485, 0.456, 0.406];
export const IMAGENET_STD: [number, number, number] = [0.229, 0.224, 0.225];

/**
 * The normalisation a NormalizeImage op asks for. PaddleDetection's `norm_type: none` skips mean/std
 * (PaddleX rewrites it to mean_std, but every real export pairs it with mean 0 / std 1, so both
 * readings give the same tensor); `is_scale: false` keeps 0-255 pixels.
 */
export function normalizeSpec(params: OpParams<'NormalizeImage'> | undefined, channelOrder: 'rgb' | 'bgr'): NormalizeSpec {
  const p = params ?? {};
  const useMeanStd = p.norm_type !== 'none';
  return {
    scale: p.scale ?? (p.is_scale === false ? 1 : 1 / 255),
    mean: useMeanStd ? (p.mean ?? IMAGENET_MEAN) : [0, 0, 0],
    std: useMeanStd ? (p.std ?? IMAGENET_STD) : [1, 1, 1],
    channelOrder,
  };
}
