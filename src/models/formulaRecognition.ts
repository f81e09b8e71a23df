/**
 * PaddleX module `formula_recognition` (PP-FormulaNet-S/L, PP-FormulaNet_plus-S/M/L, UniMERNet,
 * LaTeX_OCR_rec), as paddlex/inference/models/formula_recognition/predictor.py runs them. The
 * exported program holds the whole autoregressive decoder: one image tensor `[N, 1, H, W]` in, token
 * ids `[N, L]` out (PaddleX reads `batch_preds[0]` as ids), so no decoding loop runs here. Per model:
 * - UniMERNet / PP-FormulaNet*: `UniMERNetImgDecode` (crop the margin, short side to min(input_size),
 *   thumbnail into input_size, centre on black), `UniMERNetTestTransform` (normalise with mean 0.7931 /
 *   std 0.1738, then cv2 BGR→gray of the RGB array), then `UniMERNetImageFormat` (UniMERNet, pad to
 *   ×32 with 1) or `LatexImageFormat` (PP-FormulaNet, pad to ×16 with 1); batched.
 * - LaTeX_OCR_rec: `MinMaxResize`, `LatexTestTransform` (cv2 BGR→gray), `NormalizeImage`,
 *   `LatexImageFormat`; one image per run (PaddleX: batch size 1 only).
 * Token ids go through `UniMERNetDecode` / `LaTeXOCRDecode` (formulaDecode.ts).
 *
 * Resizes run on sharp (bilinear where PaddleX's PIL uses BILINEAR, bicubic for `thumbnail`), so pixels
 * can differ from PIL's by rounding; sizes and every other step are PaddleX's.
 */
import type { InferenceSession } from 'onnxruntime-node';
import { z } from 'zod';
import type { ResolvedSubModule } from '../config/models.js';
import { readParam } from '../config/pipelineConfig.js';
import { ApiError } from '../errors.js';
import type { RgbImage } from '../io/image.js';
import { cropImage, resizeImage } from '../ops/resize.js';
import type { RuntimeContext } from '../runtime/context.js';
import { ort } from '../runtime/session.js';
import { batchSizeOf, checkNonEmpty, InferenceConfigReader, runInBatches } from './common.js';
import { type FormulaDecoder, LatexOcrDecoder, UniMERNetDecoder } from './formulaDecode.js';
import { findPreprocessOp, normalizeSpec, readPreprocessOps } from './preprocessOps.js';

/** Which of PaddleX's three pre-processing chains a model runs (by model name, as its predictor picks it). */
type FormulaKind = 'unimernet' | 'pp-formulanet' | 'latex-ocr';

function kindOf(modelName: string): FormulaKind | undefined {
  if (modelName === 'LaTeX_OCR_rec') return 'latex-ocr';
  if (modelName === 'UniMERNet') return 'unimernet';
  if (/^PP-FormulaNet(_plus)?-[SML]$/.test(modelName)) return 'pp-formulanet';
  return undefined;
}

/** A gray plane of floats, row-major. */
interface Plane {
  width: number;
  height: number;
  data: Float32Array;
}

/** PIL's RGB → L: (R·19595 + G·38470 + B·7471 + 0x8000) >> 16. */
function pilLuma(img: RgbImage): Uint8Array {
  const out = new Uint8Array(img.width * img.height);
  for (let i = 0, p = 0; i < out.length; i++, p += 3) {
    out[i] = (img.data[p]! * 19595 + img.data[p + 1]! * 38470 + img.data[p + 2]! * 7471 + 0x8000) >> 16;
  }
  return out;
}

/** cv2.boundingRect of the pixels where `keep` holds: [x, y, width, height], or undefined when there are none. */
function boundingRect(width: number, height: number, keep: (index: number) => boolean): [number, number, number, number] | undefined {
  let [x0, y0, x1, y1] = [width, height, -1, -1];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!keep(y * width + x)) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  return x1 < 0 ? undefined : [x0, y0, x1 - x0 + 1, y1 - y0 + 1];
}

/** The gray values scaled to 0–255 between their minimum and maximum (numpy float64 math); undefined for a flat image. */
function stretch(gray: Uint8Array): Float64Array | undefined {
  let [min, max] = [255, 0];
  for (const v of gray) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (max === min) return undefined;
  return Float64Array.from(gray, (v) => ((v - min) / (max - min)) * 255);
}

/** UniMERNetImgDecode.crop_margin: the bounding box of the pixels darker than 200 after stretching. */
function cropMargin(img: RgbImage): RgbImage {
  const data = stretch(pilLuma(img));
  if (!data) return img;
  const rect = boundingRect(img.width, img.height, (i) => data[i]! < 200);
  return rect ? cropImage(img, ...rect) : img;
}

/** Pillow's Image.thumbnail size for a box of `maxWidth` × `maxHeight` (aspect rounding included); undefined when it fits. */
export function thumbnailSize(width: number, height: number, maxWidth: number, maxHeight: number): [number, number] | undefined {
  if (maxWidth >= width && maxHeight >= height) return undefined;
  const aspect = width / height;
  const roundAspect = (value: number, key: (n: number) => number) => {
    const [lo, hi] = [Math.floor(value), Math.ceil(value)];
    return Math.max(key(hi) < key(lo) ? hi : lo, 1);
  };
  if (maxWidth / maxHeight >= aspect) {
    return [roundAspect(maxHeight * aspect, (n) => Math.abs(aspect - n / maxHeight)), maxHeight];
  }
  return [maxWidth, roundAspect(maxWidth / aspect, (n) => (n === 0 ? 0 : Math.abs(aspect - maxWidth / n)))];
}

/** UniMERNetImgDecode.img_decode: crop_margin, short side to min(input_size), thumbnail, centred on black. */
async function unimernetDecode(img: RgbImage, [inputHeight, inputWidth]: [number, number]): Promise<RgbImage> {
  let out = cropMargin(img);
  // short side to `size`, the long side int(size * long / short) (PIL BILINEAR)
  const size = Math.min(inputHeight, inputWidth);
  const [short, long] = out.width <= out.height ? [out.width, out.height] : [out.height, out.width];
  const newLong = Math.trunc((size * long) / short);
  out = await resizeImage(out, out.width <= out.height ? size : newLong, out.width <= out.height ? newLong : size, 1);
  const thumb = thumbnailSize(out.width, out.height, inputWidth, inputHeight);
  if (thumb) out = await resizeImage(out, thumb[0], thumb[1], 2);
  // ImageOps.expand with PaddleX's (delta // 2) left/top padding, fill 0
  const left = Math.floor((inputWidth - out.width) / 2);
  const top = Math.floor((inputHeight - out.height) / 2);
  const padded = new Uint8Array(inputWidth * inputHeight * 3);
  for (let y = 0; y < out.height; y++) {
    padded.set(out.data.subarray(y * out.width * 3, (y + 1) * out.width * 3), ((top + y) * inputWidth + left) * 3);
  }
  return { width: inputWidth, height: inputHeight, data: padded };
}

const UNIMERNET_MEAN = 0.7931;
const UNIMERNET_STD = 0.1738;

/**
 * UniMERNetTestTransform: each channel normalised, then cv2.cvtColor(BGR2GRAY) on the float image,
 * which reads the RGB array's channels as B, G, R (so 0.114·R' + 0.587·G' + 0.299·B').
 */
function unimernetGray(img: RgbImage): Plane {
  const data = new Float32Array(img.width * img.height);
  const norm = (v: number) =>
    Math.fround((Math.fround(v * Math.fround(1 / 255)) - Math.fround(UNIMERNET_MEAN)) / Math.fround(UNIMERNET_STD));
  for (let i = 0, p = 0; i < data.length; i++, p += 3) {
    data[i] = 0.114 * norm(img.data[p]!) + 0.587 * norm(img.data[p + 1]!) + 0.299 * norm(img.data[p + 2]!);
  }
  return { width: img.width, height: img.height, data };
}

/** cv2.cvtColor(BGR2GRAY) on 8-bit pixels, reading the RGB array's channels as B, G, R (fixed point, 14 bits). */
function cvGray8(img: RgbImage): Uint8Array {
  const out = new Uint8Array(img.width * img.height);
  for (let i = 0, p = 0; i < out.length; i++, p += 3) {
    out[i] = (img.data[p]! * 1868 + img.data[p + 1]! * 9617 + img.data[p + 2]! * 4899 + 8192) >> 14;
  }
  return out;
}

/** A gray image as an RGB one (np.dstack of three equal planes). */
function grayToRgb(gray: Uint8Array, width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  gray.forEach((v, i) => data.fill(v, i * 3, i * 3 + 3));
  return { width, height, data };
}

/**
 * MinMaxResize (LaTeX_OCR_rec): an image within [min, max] (width, height) is kept; any other is
 * binarised to its text (inverted to dark on white when its mean is dark), cropped to the text,
 * padded white to a multiple of 32, shrunk to fit max_dimensions and padded white to min_dimensions.
 */
async function minMaxResize(img: RgbImage, [minW, minH]: [number, number], [maxW, maxH]: [number, number]): Promise<RgbImage> {
  if (minW <= img.width && img.width <= maxW && minH <= img.height && img.height <= maxH) return img;
  // pad_: PIL "LA" of an RGB image has a constant alpha, so the L channel is used
  const stretched = stretch(pilLuma(img));
  if (!stretched) throw new ApiError(500, 'LaTeX_OCR_rec: the formula image has a single colour (PaddleX fails on it too)');
  const mean = stretched.reduce((a, b) => a + b, 0) / stretched.length;
  const darkBackground = mean <= 128;
  const rect = boundingRect(img.width, img.height, (i) => (darkBackground ? stretched[i]! > 128 : stretched[i]! < 128));
  if (!rect) throw new ApiError(500, 'LaTeX_OCR_rec: no text pixels found in the formula image');
  const [a, b, w, h] = rect;
  const [paddedW, paddedH] = [Math.ceil(w / 32) * 32, Math.ceil(h / 32) * 32];
  const padded = new Uint8Array(paddedW * paddedH).fill(255);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = stretched[(b + y) * img.width + a + x]!;
      // PIL's float → L conversion truncates (clipped to 0–255)
      padded[y * paddedW + x] = Math.min(255, Math.max(0, Math.trunc(darkBackground ? 255 - v : v)));
    }
  }
  let out = grayToRgb(padded, paddedW, paddedH);
  const ratio = Math.max(out.width / maxW, out.height / maxH);
  if (ratio > 1) out = await resizeImage(out, Math.floor(out.width / ratio), Math.floor(out.height / ratio), 1);
  const [finalW, finalH] = [Math.max(out.width, minW), Math.max(out.height, minH)];
  if (finalW !== out.width || finalH !== out.height) {
    const white = new Uint8Array(finalW * finalH * 3).fill(255);
    for (let y = 0; y < out.height; y++) white.set(out.data.subarray(y * out.width * 3, (y + 1) * out.width * 3), y * finalW * 3);
    out = { width: finalW, height: finalH, data: white };
  }
  return out;
}

/** LatexImageFormat / UniMERNetImageFormat: the plane padded right and bottom with 1.0 to a multiple of `multiple`. */
function padPlane(plane: Plane, multiple: number): Plane {
  const width = Math.ceil(plane.width / multiple) * multiple;
  const height = Math.ceil(plane.height / multiple) * multiple;
  if (width === plane.width && height === plane.height) return plane;
  const data = new Float32Array(width * height).fill(1);
  for (let y = 0; y < plane.height; y++) data.set(plane.data.subarray(y * plane.width, (y + 1) * plane.width), y * width);
  return { width, height, data };
}

interface FormulaConfig {
  kind: FormulaKind;
  /** UniMERNetImgDecode.input_size, [height, width] */
  inputSize: [number, number];
  minDimensions: [number, number];
  maxDimensions: [number, number];
  /** NormalizeImage of LaTeX_OCR_rec: scale, and the first channel's mean and std (the gray image has three equal channels) */
  normalize: { scale: number; mean: number; std: number };
  decoder: FormulaDecoder;
}

const tokenizerJson = z.record(z.string(), z.unknown()).refine((t) => t.model !== undefined, 'a tokenizer.json (with its "model")');

function readFormulaConfig(yml: InferenceConfigReader, kind: FormulaKind): FormulaConfig {
  const ops = readPreprocessOps(yml, [
    'DecodeImage',
    'UniMERNetImgDecode',
    'UniMERNetTestTransform',
    'UniMERNetImageFormat',
    'LatexImageFormat',
    'MinMaxResize',
    'LatexTestTransform',
    'NormalizeImage',
  ]);
  const needed = kind === 'latex-ocr' ? ['MinMaxResize', 'NormalizeImage'] : ['UniMERNetImgDecode'];
  for (const name of needed) {
    if (!ops.some((op) => op.name === name))
      throw yml.error('PreProcess.transform_ops', `${name} is missing (PaddleX runs it for this model)`);
  }
  const post = yml.config.PostProcess ?? {};
  const expected = kind === 'latex-ocr' ? 'LaTeXOCRDecode' : 'UniMERNetDecode';
  if (post.name !== expected) throw yml.error('PostProcess.name', `expected ${expected}, got ${JSON.stringify(post.name)}`);
  const decoder =
    kind === 'latex-ocr'
      ? new LatexOcrDecoder({ tokenizer: yml.parse(tokenizerJson, post.character_dict, 'PostProcess.character_dict') })
      : new UniMERNetDecoder({
          tokenizer: yml.parse(tokenizerJson, post.character_dict?.fast_tokenizer_file, 'PostProcess.character_dict.fast_tokenizer_file'),
          tokenizerConfig: yml.parse(
            z.record(z.string(), z.unknown()),
            post.character_dict?.tokenizer_config_file,
            'PostProcess.character_dict.tokenizer_config_file',
          ),
        });
  const minMax = findPreprocessOp(ops, 'MinMaxResize')?.params;
  const norm = normalizeSpec(findPreprocessOp(ops, 'NormalizeImage')?.params, 'rgb');
  return {
    kind,
    inputSize: findPreprocessOp(ops, 'UniMERNetImgDecode')?.params.input_size ?? [0, 0],
    // MinMaxResize's defaults
    minDimensions: minMax?.min_dimensions ?? [32, 32],
    maxDimensions: minMax?.max_dimensions ?? [672, 192],
    normalize: { scale: norm.scale, mean: norm.mean[0], std: norm.std[0] },
    decoder,
  };
}

/** Limits on one formula: PaddleX has none; these keep a runaway decode from holding a worker. */
interface FormulaLimits {
  /** token ids read per formula (default 2048, PaddleX's UniMERNetDecode.max_seq_len) */
  maxLength: number;
  /** time per formula; a call is refused once its formulas have run past count × this */
  maxTimePerFormulaMs: number;
}

export class FormulaRecognizer {
  private constructor(
    private readonly session: InferenceSession,
    private readonly config: FormulaConfig,
    private readonly limits: FormulaLimits,
    private readonly batchSize: number,
    private readonly where: string,
  ) {}

  static async load(sub: ResolvedSubModule, rt: RuntimeContext, keyPath: string): Promise<FormulaRecognizer> {
    const yml = new InferenceConfigReader(sub, keyPath);
    const modelName = String(yml.config.Global?.model_name ?? sub.model_name);
    const kind = kindOf(modelName);
    if (!kind) {
      throw yml.error(
        'Global.model_name',
        `${modelName} is not a formula recognition model PaddleX knows (PP-FormulaNet-S/L, PP-FormulaNet_plus-S/M/L, UniMERNet, LaTeX_OCR_rec)`,
      );
    }
    const config = readFormulaConfig(yml, kind);
    const limits: FormulaLimits = {
      maxLength: readParam(sub, 'max_length', z.number().int().positive(), keyPath, 2048),
      maxTimePerFormulaMs: readParam(sub, 'max_time_per_formula_ms', z.number().positive(), keyPath, 60_000),
    };
    const session = await rt.loadSession(sub.resolved);
    if (session.inputNames.length !== 1) {
      throw yml.error(
        'model',
        `inference.onnx takes [${session.inputNames.join(', ')}]; a formula recognition export takes one image tensor [N, 1, H, W] and gives token ids [N, L] (the decoder loop inside the program)`,
      );
    }
    // PaddleX runs LaTeX_OCR_rec one image at a time whatever the batch size
    const batchSize = kind === 'latex-ocr' ? 1 : batchSizeOf(sub, session);
    return new FormulaRecognizer(session, config, limits, batchSize, yml.where);
  }

  /** One image as the model's input plane. */
  private async prepare(img: RgbImage): Promise<Plane> {
    const { kind, inputSize, minDimensions, maxDimensions, normalize } = this.config;
    if (kind !== 'latex-ocr') {
      return padPlane(unimernetGray(await unimernetDecode(img, inputSize)), kind === 'unimernet' ? 32 : 16);
    }
    const resized = await minMaxResize(img, minDimensions, maxDimensions);
    const gray = cvGray8(resized);
    const { scale, mean, std } = normalize;
    const data = Float32Array.from(gray, (v) => (Math.fround(v * Math.fround(scale)) - Math.fround(mean)) / Math.fround(std));
    return padPlane({ width: resized.width, height: resized.height, data }, 16);
  }

  /** The token-id rows of one batch of prepared planes (all of one size). */
  private async run(planes: Plane[]): Promise<number[][]> {
    const [{ width, height }] = planes as [Plane];
    const input = new Float32Array(planes.length * width * height);
    planes.forEach((p, i) => input.set(p.data, i * width * height));
    const outputs = await this.session.run({
      [this.session.inputNames[0]!]: new ort.Tensor('float32', input, [planes.length, 1, height, width]),
    });
    const ids = outputs[this.session.outputNames[0]!]!;
    if (!['int64', 'int32'].includes(ids.type) || ids.dims[0] !== planes.length) {
      throw new Error(
        `${this.where}: the first output is ${ids.type} [${ids.dims.join(', ')}]; expected token ids int64 [${planes.length}, L]`,
      );
    }
    const length = ids.size / planes.length;
    const data = ids.data as BigInt64Array | Int32Array;
    return planes.map((_, i) => {
      const row: number[] = [];
      for (let k = 0; k < Math.min(length, this.limits.maxLength); k++) row.push(Number(data[i * length + k]!));
      return row;
    });
  }

  /** LaTeX of each image, in order. */
  async predict(images: RgbImage[]): Promise<string[]> {
    checkNonEmpty(images, this.where);
    const started = performance.now();
    let done = 0;
    return runInBatches(images, this.batchSize, {
      prepare: (img) => this.prepare(img),
      shapeOf: (p) => `${p.width}x${p.height}`,
      run: async (planes) => {
        const rows = await this.run(planes);
        done += planes.length;
        const elapsed = performance.now() - started;
        if (done < images.length && elapsed > done * this.limits.maxTimePerFormulaMs) {
          throw new ApiError(
            504,
            `Formula recognition took ${Math.round(elapsed)} ms for ${done} of ${images.length} formulas, over its cap of ` +
              `${this.limits.maxTimePerFormulaMs} ms per formula (${this.where}: max_time_per_formula_ms)`,
          );
        }
        return rows.map((row) => this.config.decoder.decode(row));
      },
    });
  }
}
