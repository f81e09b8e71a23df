import type { InferenceSession } from 'onnxruntime-node';
import type { ResolvedSubModule } from '../config/models.js';
import { ConfigError, invalidInput } from '../errors.js';
import type { RgbImage } from '../io/image.js';
import { ctcGreedyDecode } from '../ops/ctcDecode.js';
import { normalizeToChw, type NormalizeSpec } from '../ops/normalize.js';
import { resizeImage } from '../ops/resize.js';
import type { RuntimeContext } from '../pipelines/types.js';
import { ort } from '../runtime/session.js';

/** PaddleOCR recognisers and line classifiers read BGR and scale pixels to [-1, 1]. */
const PADDLE_OCR_LINE_NORMALIZE: NormalizeSpec = { scale: 1 / 255, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], channelOrder: 'bgr' };

/** PaddleX (OCRReisizeNormImg.max_imgW): a line wider than this after resizing is squeezed to it. */
const MAX_INPUT_WIDTH = 3200;

const DEFAULT_BATCH_SIZE = 6;

export interface RecognizedText {
  text: string;
  score: number;
}

/** `${keyPath} (model X from Y)`, the prefix of every configuration error of a module. */
export function describeModule(sub: ResolvedSubModule, keyPath: string): string {
  return `${keyPath} (model ${sub.model_name} from ${sub.resolved.source})`;
}

/** The parameters of the first `PreProcess.transform_ops` entry named `opName`, or undefined. */
export function findTransformOp(sub: ResolvedSubModule, opName: string): Record<string, unknown> | undefined {
  const ops: unknown = sub.resolved.inferenceConfig.PreProcess?.transform_ops;
  if (!Array.isArray(ops)) return undefined;
  const entry = ops.find((op) => op !== null && typeof op === 'object' && opName in op);
  return entry ? ((entry[opName] ?? {}) as Record<string, unknown>) : undefined;
}

/** `image_shape: [3, H, W]` of RecResizeImg / ClsResizeImg. */
export function readLineImageShape(sub: ResolvedSubModule, keyPath: string, opName: string): { height: number; width: number } {
  const where = describeModule(sub, keyPath);
  const op = findTransformOp(sub, opName);
  if (!op) throw new ConfigError(`${where}: inference.yml has no PreProcess.transform_ops entry ${opName}`);
  const shape = op.image_shape;
  if (!Array.isArray(shape) || shape.length !== 3 || !shape.every((v) => Number.isInteger(v) && v > 0) || shape[0] !== 3) {
    throw new ConfigError(`${where}: ${opName}.image_shape must be [3, height, width] (got ${JSON.stringify(shape)})`);
  }
  return { height: shape[1], width: shape[2] };
}

export function checkNonEmpty(images: RgbImage[], what: string): void {
  images.forEach((img, i) => {
    if (img.width <= 0 || img.height <= 0) throw invalidInput(`${what}: image ${i} is empty (${img.width}×${img.height} pixels)`);
  });
}

/**
 * PaddleOCR's line preprocessing (resize_norm_img): resize to `height` keeping the aspect ratio,
 * width ceil(height × ratio) but at most `width`, normalise, and write CHW into `out` at `offset`
 * as a `[3, height, width]` block whose right part stays as it was (zero = PaddleOCR's padding).
 */
export async function writeLineTensor(img: RgbImage, height: number, width: number, out: Float32Array, offset: number): Promise<void> {
  const resizedWidth = Math.min(Math.ceil((height * img.width) / img.height), width);
  const resized = await resizeImage(img, resizedWidth, height, 1);
  const planar = normalizeToChw(resized, PADDLE_OCR_LINE_NORMALIZE);
  const plane = resizedWidth * height;
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < height; y++) {
      const src = c * plane + y * resizedWidth;
      out.set(planar.subarray(src, src + resizedWidth), offset + (c * height + y) * width);
    }
  }
}

/**
 * CTC text recogniser (PP-OCRv3/v4/v5 `text_recognition` exports): input `x: f32[N, 3, H, W]` with
 * H from `RecResizeImg.image_shape`, output `[N, W/k, classes]` probabilities.
 */
export class TextRecognizer {
  private constructor(
    private readonly session: InferenceSession,
    readonly batchSize: number,
    private readonly inputHeight: number,
    /** the width the model was trained at: batches are never narrower */
    private readonly baseWidth: number,
    private readonly characters: string[],
  ) {}

  static async load(sub: ResolvedSubModule, rt: RuntimeContext, keyPath: string): Promise<TextRecognizer> {
    const where = describeModule(sub, keyPath);
    const { height, width } = readLineImageShape(sub, keyPath, 'RecResizeImg');
    const post = sub.resolved.inferenceConfig.PostProcess ?? {};
    if (post.name !== 'CTCLabelDecode') {
      throw new ConfigError(`${where}: PostProcess.name must be CTCLabelDecode (got ${JSON.stringify(post.name)})`);
    }
    if (!Array.isArray(post.character_dict) || post.character_dict.length === 0) {
      throw new ConfigError(`${where}: PostProcess.character_dict must be a non-empty list of characters`);
    }
    // PaddleX always decodes with use_space_char: a space class follows the dictionary.
    const characters = ['blank', ...post.character_dict.map((c: unknown) => String(c)), ' '];
    const session = await rt.loadSession(sub);
    checkModelShape(session, where, height, characters.length);
    return new TextRecognizer(session, sub.batch_size ?? DEFAULT_BATCH_SIZE, height, width, characters);
  }

  /**
   * Recognise text-line crops. As PaddleOCR/PaddleX do, crops are sorted by aspect ratio and run in
   * batches of `batchSize`; each batch is as wide as its widest line needs (never narrower than the
   * trained width). Results come back in the order of `crops`.
   */
  async predict(crops: RgbImage[]): Promise<RecognizedText[]> {
    checkNonEmpty(crops, 'text recognition');
    const ratio = (img: RgbImage) => img.width / img.height;
    const order = crops.map((_, i) => i).sort((a, b) => ratio(crops[a]!) - ratio(crops[b]!));
    const results = new Array<RecognizedText>(crops.length);
    for (let start = 0; start < order.length; start += this.batchSize) {
      const indices = order.slice(start, start + this.batchSize);
      const batch = await this.recognizeBatch(indices.map((i) => crops[i]!));
      indices.forEach((cropIndex, k) => (results[cropIndex] = batch[k]!));
    }
    return results;
  }

  private async recognizeBatch(images: RgbImage[]): Promise<RecognizedText[]> {
    const height = this.inputHeight;
    const maxRatio = Math.max(this.baseWidth / height, ...images.map((img) => img.width / img.height));
    const width = Math.min(Math.floor(height * maxRatio), MAX_INPUT_WIDTH);
    const blockSize = 3 * height * width;
    const input = new Float32Array(images.length * blockSize);
    for (let i = 0; i < images.length; i++) await writeLineTensor(images[i]!, height, width, input, i * blockSize);

    const feeds = { [this.session.inputNames[0]!]: new ort.Tensor('float32', input, [images.length, 3, height, width]) };
    const output = (await this.session.run(feeds))[this.session.outputNames[0]!]!;
    const [n, steps, classes] = output.dims;
    if (output.dims.length !== 3 || n !== images.length) {
      throw new Error(`text recognition: expected an output [${images.length}, T, C], got [${output.dims.join(', ')}]`);
    }
    const probs = output.data as Float32Array;
    return images.map((_, i) => ctcGreedyDecode(probs, steps!, classes!, i, this.characters));
  }
}

/** Catch a dictionary or image height that does not belong to the model at startup, not at the first request. */
function checkModelShape(session: InferenceSession, where: string, height: number, classes: number): void {
  const input = session.inputMetadata[0];
  const inputHeight = input?.isTensor ? input.shape[2] : undefined;
  if (typeof inputHeight === 'number' && inputHeight !== height) {
    throw new ConfigError(`${where}: RecResizeImg.image_shape has height ${height} but the model's input has height ${inputHeight}`);
  }
  const output = session.outputMetadata[0];
  const outputClasses = output?.isTensor ? output.shape[2] : undefined;
  if (typeof outputClasses === 'number' && outputClasses !== classes) {
    throw new ConfigError(
      `${where}: the model scores ${outputClasses} classes, but blank + PostProcess.character_dict + space makes ${classes}`,
    );
  }
}
