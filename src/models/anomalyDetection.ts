import type { InferenceSession } from 'onnxruntime-node';
import type { ResolvedSubModule } from '../config/models.js';
import type { RgbImage } from '../io/image.js';
import type { LabelMap } from '../ops/labelMap.js';
import { diskOffsets, greyOpening } from '../ops/morphology.js';
import type { RuntimeContext } from '../runtime/context.js';
import { batchSizeOf, InferenceConfigReader, runInBatches } from './common.js';
import { PaddleSegPreprocess, shapeOf, stackChw } from './paddleSegPreprocess.js';

/** PaddleX's MapToMask: a score above 0.01 is an anomaly (255), then an opening with disk(4) removes specks. */
const ANOMALY_SCORE_THRESHOLD = 0.01;
const OPENING_DISK = diskOffsets(4);

/**
 * Unsupervised anomaly model (PaddleX module `anomaly_detection`, e.g. STFPM) on an ONNX session:
 * `Deploy.transforms` Resize (required, stretched to its size unless `keep_ratio`) + Normalize, an
 * anomaly score map `[N, 1, H, W]` out, turned into a 0/255 mask at the model's resolution (PaddleX
 * does not resize it back to the image).
 */
export class AnomalyDetector {
  private constructor(
    private readonly session: InferenceSession,
    private readonly preprocess: PaddleSegPreprocess,
    private readonly batchSize: number,
  ) {}

  static async load(sub: ResolvedSubModule, rt: RuntimeContext, keyPath: string): Promise<AnomalyDetector> {
    const yml = new InferenceConfigReader(sub, keyPath);
    // UadPredictor.build_resize: keep_ratio False, no size divisor unless the op says so.
    const preprocess = PaddleSegPreprocess.fromConfig(yml, { keepRatio: false });
    if (!preprocess.resize || preprocess.resize.target === 'original') {
      throw yml.error('Deploy.transforms', 'needs a Resize op with a target_size (PaddleX requires one)');
    }
    const session = await rt.loadSession(sub.resolved);
    return new AnomalyDetector(session, preprocess, batchSizeOf(sub, session));
  }

  async predict(images: RgbImage[]): Promise<LabelMap[]> {
    return runInBatches(images, this.batchSize, {
      prepare: (img) => this.preprocess.prepare(img),
      shapeOf,
      run: async (prepared) => {
        const output = (await this.session.run({ [this.session.inputNames[0]!]: stackChw(prepared) }))[this.session.outputNames[0]!]!;
        const dims = output.dims.map(Number);
        if (dims.length !== 4 || dims[1] !== 1 || output.type !== 'float32') {
          throw new Error(`anomaly detection: expected a float32 score map [N, 1, H, W], got ${output.type} [${dims.join(', ')}]`);
        }
        const [, , height, width] = dims as [number, number, number, number];
        const scores = output.data as Float32Array;
        return prepared.map((_, i) => {
          const mask = scores.slice(i * width * height, (i + 1) * width * height).map((s) => (s > ANOMALY_SCORE_THRESHOLD ? 255 : 0));
          return { width, height, data: Int32Array.from(greyOpening(mask, width, height, OPENING_DISK)) };
        });
      },
    });
  }
}
