import type { InferenceSession } from 'onnxruntime-node';
import type { ResolvedSubModule } from '../config/models.js';
import type { RgbImage } from '../io/image.js';
import type { RuntimeContext } from '../runtime/context.js';
import { checkNonEmpty, classifierRows, InferenceConfigReader, readLabelAngles } from './common.js';
import { PaddleClasPreprocess } from './paddleClasPreprocess.js';

export type DocAngle = 0 | 90 | 180 | 270;

/**
 * Document image orientation (PaddleX `doc_text_orientation`, PP-LCNet_x1_0_doc_ori): input
 * `x: f32[N, 3, 224, 224]`, output `[N, 4]` probabilities for the labels '0', '90', '180', '270'.
 *
 * `angle` is how far the page content is turned clockwise. PaddleX corrects it with
 * `scipy.ndimage.rotate(img, angle, reshape=True)`, which turns the array counter-clockwise by
 * `angle` as displayed (checked: a top band of a 3×5 array ends up as the left column after 90), so
 * a page whose top edge lies on the right is class 90 and `rotateImage(img, 90)` (counter-clockwise)
 * sets it upright.
 */
export class DocOrientationClassifier {
  private constructor(
    private readonly session: InferenceSession,
    private readonly preprocess: PaddleClasPreprocess,
    private readonly angles: DocAngle[],
  ) {}

  static async load(sub: ResolvedSubModule, rt: RuntimeContext, keyPath: string): Promise<DocOrientationClassifier> {
    const yml = new InferenceConfigReader(sub, keyPath);
    const preprocess = PaddleClasPreprocess.fromConfig(yml);
    const angles = readLabelAngles(yml, [0, 90, 180, 270] as const);
    return new DocOrientationClassifier(await rt.loadSession(sub.resolved), preprocess, angles);
  }

  async predict(img: RgbImage): Promise<{ angle: DocAngle; score: number }> {
    checkNonEmpty([img], 'document orientation');
    const input = this.preprocess.toTensor([await this.preprocess.resizeAndCrop(img)]);
    const [probs] = await classifierRows(this.session, input, 'document orientation', this.angles.length);
    // PaddleX's Topk with topk 1: the most probable class
    const best = probs!.reduce((bestIndex, p, i) => (p > probs![bestIndex]! ? i : bestIndex), 0);
    return { angle: this.angles[best]!, score: probs![best]! };
  }
}
