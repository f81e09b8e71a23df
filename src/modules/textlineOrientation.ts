import type { InferenceSession } from 'onnxruntime-node';
import type { ResolvedSubModule } from '../config/models.js';
import type { RgbImage } from '../io/image.js';
import type { RuntimeContext } from '../pipelines/types.js';
import { ort } from '../runtime/session.js';
import { classify, labelAngles, PaddleClasPreprocess, readLabelList } from './docOrientation.js';
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
  ) {}

  static async load(sub: ResolvedSubModule, rt: RuntimeContext, keyPath: string): Promise<TextlineOrientationClassifier> {
    let buildInput: LineTensorBuilder;
    if (findTransformOp(sub, 'ClsResizeImg')) {
      const { height, width } = readLineImageShape(sub, keyPath, 'ClsResizeImg');
      buildInput = clsResizeBuilder(height, width);
    } else {
      const preprocess = PaddleClasPreprocess.fromConfig(sub, keyPath);
      buildInput = (crops) => preprocess.toTensor(crops);
    }
    const angles = labelAngles(readLabelList(sub, keyPath), [0, 180] as const, describeModule(sub, keyPath));
    return new TextlineOrientationClassifier(await rt.loadSession(sub), buildInput, angles, sub.batch_size ?? DEFAULT_BATCH_SIZE);
  }

  /** One answer per crop, in order; `angle: 180` means the line is upside down. */
  async predict(crops: RgbImage[]): Promise<Array<{ angle: LineAngle; score: number }>> {
    checkNonEmpty(crops, 'text-line orientation');
    const results: Array<{ angle: LineAngle; score: number }> = [];
    for (let start = 0; start < crops.length; start += this.batchSize) {
      const input = await this.buildInput(crops.slice(start, start + this.batchSize));
      for (const { classIndex, score } of await classify(this.session, input, this.angles.length)) {
        results.push({ angle: this.angles[classIndex]!, score });
      }
    }
    return results;
  }
}
