import type { InferenceSession } from 'onnxruntime-node';
import type { ResolvedSubModule } from '../config/models.js';
import type { RgbImage } from '../io/image.js';
import type { RuntimeContext } from '../pipelines/types.js';
import { ort } from '../runtime/session.js';
import { cropImage } from '../ops/resize.js';
import { labelAngles, PaddleClasPreprocess, readLabelList } from './docOrientation.js';
import { checkNonEmpty, describeModule, findTransformOp, readLineImageShape, writeLineTensor } from './textRecognition.js';

export type LineAngle = 0 | 180;

const DEFAULT_BATCH_SIZE = 6;

/** Builds the model input of a batch of line crops. */
type LineTensorBuilder = (crops: RgbImage[]) => Promise<ort.Tensor>;

/**
 * PaddleOCR's classifier export (ch_ppocr_mobile_v2.0_cls, `ClsResizeImg.image_shape [3, 48, 192]`):
 * each line resized to height 48 keeping its ratio, at most 192 wide, BGR (x/255−0.5)/0.5, right-padded.
 */
function clsResizeBuilder(height: number, width: number): LineTensorBuilder {
  return async (crops) => {
    const blockSize = 3 * height * width;
    const data = new Float32Array(crops.length * blockSize);
    for (let i = 0; i < crops.length; i++) await writeLineTensor(crops[i]!, height, width, data, i * blockSize);
    return new ort.Tensor('float32', data, [crops.length, 3, height, width]);
  };
}

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
 * Text-line orientation (PaddleX `textline_orientation`): 0° or 180°. Two exports are understood:
 * PaddleOCR's cls model (`ClsResizeImg` + `PostProcess.label_list`) and PaddleX's
 * PP-LCNet_x*_textline_ori (`ResizeImage size [160, 80]` + NormalizeImage + ToCHWImage, RGB,
 * `PostProcess.Topk.label_list`). Both output `[N, 2]` probabilities for '0_degree', '180_degree'.
 */
export class TextlineOrientationClassifier {
  private constructor(
    private readonly session: InferenceSession,
    private readonly buildInput: LineTensorBuilder,
    private readonly angles: LineAngle[],
    readonly batchSize: number,
    /** aspect (width / height) of the model input when lines are windowed, see lineWindows */
    private readonly windowAspect: number | undefined,
    /** PaddleOCR's `cls_thresh`: turn a line only when '180' is at least this likely */
    private readonly turnThreshold: number,
  ) {}

  static async load(sub: ResolvedSubModule, rt: RuntimeContext, keyPath: string): Promise<TextlineOrientationClassifier> {
    let buildInput: LineTensorBuilder;
    let windowAspect: number | undefined;
    if (findTransformOp(sub, 'ClsResizeImg')) {
      const { height, width } = readLineImageShape(sub, keyPath, 'ClsResizeImg');
      buildInput = clsResizeBuilder(height, width);
      windowAspect = width / height;
    } else {
      const preprocess = PaddleClasPreprocess.fromConfig(sub, keyPath);
      buildInput = (crops) => preprocess.toTensor(crops);
    }
    const angles = labelAngles(readLabelList(sub, keyPath), [0, 180] as const, describeModule(sub, keyPath));
    const clsThresh = sub.resolved.inferenceConfig.PostProcess?.cls_thresh;
    const turnThreshold = typeof clsThresh === 'number' ? clsThresh : 0;
    return new TextlineOrientationClassifier(
      await rt.loadSession(sub),
      buildInput,
      angles,
      sub.batch_size ?? DEFAULT_BATCH_SIZE,
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
    for (let start = 0; start < inputs.length; start += this.batchSize) {
      const batch = inputs.slice(start, start + this.batchSize);
      const input = await this.buildInput(batch);
      const output = (await this.session.run({ [this.session.inputNames[0]!]: input }))[this.session.outputNames[0]!]!;
      if (output.dims.length !== 2 || output.dims[0] !== batch.length || output.dims[1] !== classes) {
        throw new Error(`text-line orientation: expected an output [${batch.length}, ${classes}], got [${output.dims.join(', ')}]`);
      }
      const probs = output.data as Float32Array;
      batch.forEach((_, row) => {
        const owner = owners[start + row]!;
        counts[owner]!++;
        for (let c = 0; c < classes; c++) sums[owner * classes + c]! += probs[row * classes + c]!;
      });
    }
    const upsideDown = this.angles.indexOf(180);
    return crops.map((_, i) => {
      const mean = (c: number) => sums[i * classes + c]! / counts[i]!;
      const turn = mean(upsideDown) > Math.max(this.turnThreshold, mean(1 - upsideDown));
      return { angle: turn ? 180 : 0, score: mean(turn ? upsideDown : 1 - upsideDown) };
    });
  }
}
