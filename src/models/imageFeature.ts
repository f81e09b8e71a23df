import { z } from 'zod';
import type { InferenceSession } from 'onnxruntime-node';
import { readParam } from '../config/pipelineConfig.js';
import type { ResolvedSubModule } from '../config/models.js';
import type { RgbImage } from '../io/image.js';
import { normalizeRows } from '../ops/vectorSearch.js';
import { ort } from '../runtime/session.js';
import type { RuntimeContext } from '../runtime/context.js';
import { batchSizeOf, classifierRows, checkNonEmpty, InferenceConfigReader, runInBatches } from './common.js';
import { PaddleClasPreprocess } from './paddleClasPreprocess.js';

/** Reads `PostProcess`, which for a feature model is exactly `NormalizeFeatures` (PaddleX's ImageFeaturePredictor). */
function checkFeaturePostProcess(yml: InferenceConfigReader): void {
  const post: unknown = yml.config.PostProcess;
  if (!post || typeof post !== 'object' || !('NormalizeFeatures' in post)) {
    throw yml.error('PostProcess', 'no NormalizeFeatures entry (a feature model ends in NormalizeFeatures)');
  }
  const unknownPost = Object.keys(post).filter((k) => k !== 'NormalizeFeatures');
  if (unknownPost.length) throw yml.error(`PostProcess.${unknownPost[0]}`, 'unsupported post-process (supported: NormalizeFeatures)');
}

/** Horizontally mirrored copy of an NCHW tensor's data (numpy's flip on axis 3). */
function mirrorWidth(data: Float32Array, width: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let row = 0; row < data.length; row += width) {
    for (let x = 0; x < width; x++) out[row + x] = data[row + width - 1 - x]!;
  }
  return out;
}

/**
 * PaddleClas feature extractor (PaddleX `image_feature`, e.g. PP-ShiTuV2_rec; and `face_feature`,
 * e.g. MobileFaceNet): PaddleClas pre-processing, then each output row L2-normalised. With `flip`
 * (face_feature's option, default off) the mirrored image's output is added before normalising.
 */
export class ImageFeatureExtractor {
  private constructor(
    private readonly session: InferenceSession,
    private readonly preprocess: PaddleClasPreprocess,
    private readonly batchSize: number,
    private readonly flip: boolean,
  ) {}

  static load(sub: ResolvedSubModule, rt: RuntimeContext, keyPath: string): Promise<ImageFeatureExtractor> {
    return ImageFeatureExtractor.create(sub, rt, keyPath, false);
  }

  static async create(sub: ResolvedSubModule, rt: RuntimeContext, keyPath: string, flip: boolean): Promise<ImageFeatureExtractor> {
    const yml = new InferenceConfigReader(sub, keyPath);
    const preprocess = PaddleClasPreprocess.fromConfig(yml);
    checkFeaturePostProcess(yml);
    const session = await rt.loadSession(sub.resolved);
    return new ImageFeatureExtractor(session, preprocess, batchSizeOf(sub, session), flip);
  }

  /** One unit-length feature vector per image. */
  async predict(images: RgbImage[]): Promise<Float32Array[]> {
    checkNonEmpty(images, 'feature extraction');
    return runInBatches(images, this.batchSize, {
      prepare: (img) => this.preprocess.resizeAndCrop(img),
      shapeOf: (img) => `${img.width}x${img.height}`,
      run: async (batch) => {
        const input = this.preprocess.toTensor(batch);
        const rows = await classifierRows(this.session, input, 'feature extraction');
        if (this.flip) {
          const mirrored = new ort.Tensor('float32', mirrorWidth(input.data as Float32Array, input.dims[3]!), input.dims);
          const flippedRows = await classifierRows(this.session, mirrored, 'feature extraction');
          rows.forEach((row, i) => row.forEach((v, j) => (row[j] = v + flippedRows[i]![j]!)));
        }
        return rows.map((row) => normalizeRows(Float32Array.from(row), row.length));
      },
    });
  }
}

/** PaddleX `face_feature`: an image feature model with the sub-module option `flip` (default false). */
export const faceFeatureFamily = {
  load(sub: ResolvedSubModule, rt: RuntimeContext, keyPath: string): Promise<ImageFeatureExtractor> {
    return ImageFeatureExtractor.create(sub, rt, keyPath, readParam(sub, 'flip', z.boolean(), keyPath, false));
  },
};
