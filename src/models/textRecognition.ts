import type { InferenceSession } from 'onnxruntime-node';
import type { ResolvedSubModule } from '../config/models.js';
import { ConfigError } from '../errors.js';
import type { RgbImage } from '../io/image.js';
import { ctcGreedyDecode } from '../ops/ctcDecode.js';
import type { LineColumns } from '../ops/wordBoxes.js';
import { type RuntimeContext, type Spread, spreadOf } from '../runtime/context.js';
import { batchSizeOf, checkNonEmpty, InferenceConfigReader } from './common.js';
import { fittedLineWidth, lineBatchTensor, readLineImageShape } from './textLine.js';

/** PaddleX (OCRReisizeNormImg.max_imgW): a line whose input would be wider than this is squeezed to it. */
const MAX_INPUT_WIDTH = 3200;

export interface RecognizedText extends LineColumns {
  text: string;
  score: number;
}

/**
 * CTC text recogniser (PP-OCRv3/v4/v5 `text_recognition` exports): input `x: f32[N, 3, H, W]` with
 * H from `RecResizeImg.image_shape`, output `[N, W/k, classes]` probabilities.
 */
export class TextRecognizer {
  /** the batches of one predict, over the pool's idle instances when the request is alone */
  private readonly recognizeBatches: Spread<RgbImage[], RecognizedText[]>;

  private constructor(
    rt: RuntimeContext,
    keyPath: string,
    private readonly session: InferenceSession,
    readonly batchSize: number,
    private readonly inputHeight: number,
    /** the width the model was trained at: batches are never narrower */
    private readonly baseWidth: number,
    private readonly characters: string[],
  ) {
    this.recognizeBatches = spreadOf(rt, `${keyPath}.recognizeBatch`, (images: RgbImage[]) => this.recognizeBatch(images));
  }

  static async load(sub: ResolvedSubModule, rt: RuntimeContext, keyPath: string): Promise<TextRecognizer> {
    const yml = new InferenceConfigReader(sub, keyPath);
    const { height, width } = readLineImageShape(yml, 'RecResizeImg');
    const post = yml.config.PostProcess ?? {};
    if (post.name !== 'CTCLabelDecode') throw yml.error('PostProcess.name', `must be CTCLabelDecode (got ${JSON.stringify(post.name)})`);
    if (!Array.isArray(post.character_dict) || post.character_dict.length === 0) {
      throw yml.error('PostProcess.character_dict', 'must be a non-empty list of characters');
    }
    // PaddleX always decodes with use_space_char: a space class follows the dictionary.
    const characters = ['blank', ...post.character_dict.map((c: unknown) => String(c)), ' '];
    const session = await rt.loadSession(sub.resolved, { widenWhenAlone: true, splitBatches: true });
    checkModelShape(session, yml.where, height, characters.length);
    return new TextRecognizer(rt, keyPath, session, batchSizeOf(sub, session), height, width, characters);
  }

  /**
   * Recognise text-line crops as PaddleX's OCR pipeline does: crops sorted by aspect ratio (a stable
   * sort), run in batches of `batchSize`, each crop prepared on its own by OCRReisizeNormImg and the
   * batch zero-padded to its widest crop (ToBatch). Results come back in the order of `crops`.
   * The batches are the same however they are spread: each crop's result depends only on its batch.
   */
  async predict(crops: RgbImage[]): Promise<RecognizedText[]> {
    checkNonEmpty(crops, 'text recognition');
    const ratio = (img: RgbImage) => img.width / img.height;
    const order = crops.map((_, i) => i).sort((a, b) => ratio(crops[a]!) - ratio(crops[b]!));
    const batches: number[][] = [];
    for (let start = 0; start < order.length; start += this.batchSize) batches.push(order.slice(start, start + this.batchSize));
    const recognized = await this.recognizeBatches(batches.map((indices) => indices.map((i) => crops[i]!)));
    const results = new Array<RecognizedText>(crops.length);
    batches.forEach((indices, b) => indices.forEach((cropIndex, k) => (results[cropIndex] = recognized[b]![k]!)));
    return results;
  }

  /**
   * OCRReisizeNormImg for one crop: its input is `int(H × max(W/H, ratio))` wide (the trained width
   * or more for a long line), capped at 3200 where the line is squeezed; the line is resized to
   * `ceil(H × ratio)` within that width.
   */
  private lineLayout(img: RgbImage): { resizedWidth: number; inputWidth: number } {
    const height = this.inputHeight;
    const inputWidth = Math.trunc(height * Math.max(this.baseWidth / height, img.width / img.height));
    if (inputWidth > MAX_INPUT_WIDTH) return { resizedWidth: MAX_INPUT_WIDTH, inputWidth: MAX_INPUT_WIDTH };
    return { resizedWidth: fittedLineWidth(img, height, inputWidth), inputWidth };
  }

  private async recognizeBatch(images: RgbImage[]): Promise<RecognizedText[]> {
    const layouts = images.map((img) => this.lineLayout(img));
    const batchWidth = Math.max(...layouts.map((l) => l.inputWidth));
    const input = await lineBatchTensor(
      images,
      this.inputHeight,
      layouts.map((l) => l.resizedWidth),
      batchWidth,
    );
    const output = (await this.session.run({ [this.session.inputNames[0]!]: input }))[this.session.outputNames[0]!]!;
    const [n, steps, classes] = output.dims;
    if (output.dims.length !== 3 || n !== images.length) {
      throw new Error(`text recognition: expected an output [${images.length}, T, C], got [${output.dims.join(', ')}]`);
    }
    const probs = output.data as Float32Array;
    // PaddleX's TextRecRunnerPredictor: a crop spans steps × its ratio ÷ the batch's widest ratio
    // (at least the trained width's) of the output, which places its word boxes.
    const ratio = (img: RgbImage) => img.width / img.height;
    const widestRatio = Math.max(this.baseWidth / this.inputHeight, ...images.map(ratio));
    return images.map((img, i) => ({
      ...ctcGreedyDecode(probs, steps!, classes!, i, this.characters),
      columnCount: steps! * (ratio(img) / widestRatio),
    }));
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
