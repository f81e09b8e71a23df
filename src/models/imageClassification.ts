import { z } from 'zod';
import type { InferenceSession } from 'onnxruntime-node';
import type { ResolvedSubModule } from '../config/models.js';
import type { RgbImage } from '../io/image.js';
import type { RuntimeContext } from '../runtime/context.js';
import { batchSizeOf, classifierRows, InferenceConfigReader, runInBatches } from './common.js';
import { positiveInt } from './preprocessOps.js';
import { PaddleClasPreprocess } from './paddleClasPreprocess.js';

export interface Classification {
  classIds: number[];
  scores: number[];
  labelNames: string[];
}

const topkParams = z.object({
  topk: positiveInt.nullish(),
  label_list: z.array(z.union([z.string(), z.number()]).transform(String)).nullish(),
});

interface ClassifierConfig {
  preprocess: PaddleClasPreprocess;
  labels?: string[];
  defaultTopk: number;
}

/** Reads PaddleClas' `PreProcess.transform_ops` and `PostProcess.Topk` the way PaddleX's ClasPredictor does. */
function parseClassifierConfig(yml: InferenceConfigReader): ClassifierConfig {
  const preprocess = PaddleClasPreprocess.fromConfig(yml);
  const post: unknown = yml.config.PostProcess;
  if (!post || typeof post !== 'object') throw yml.error('PostProcess', 'missing (expected PostProcess.Topk)');
  const unknownPost = Object.keys(post).filter((k) => k !== 'Topk');
  if (unknownPost.length) throw yml.error(`PostProcess.${unknownPost[0]}`, 'unsupported post-process (supported: Topk)');
  if (!('Topk' in post)) throw yml.error('PostProcess', 'no Topk entry');
  const topk = yml.parse(topkParams, (post as Record<string, unknown>).Topk, 'PostProcess.Topk');
  return { preprocess, labels: topk.label_list ?? undefined, defaultTopk: topk.topk ?? 5 };
}

/** 5 decimals, as PaddleX's Topk reports scores (np.around). */
function roundScore(value: number): number {
  return Math.round(value * 1e5) / 1e5;
}

/** PaddleClas image classifier (PaddleX module `image_classification`) on an ONNX session. */
export class ImageClassifier {
  private constructor(
    private readonly session: InferenceSession,
    private readonly config: ClassifierConfig,
    private readonly batchSize: number,
  ) {}

  /** `inference.yml` Topk.topk (PaddleX's default when neither request nor pipeline YAML gives one) */
  get defaultTopk(): number {
    return this.config.defaultTopk;
  }

  static async load(sub: ResolvedSubModule, rt: RuntimeContext, keyPath: string): Promise<ImageClassifier> {
    const config = parseClassifierConfig(new InferenceConfigReader(sub, keyPath));
    const session = await rt.loadSession(sub.resolved);
    return new ImageClassifier(session, config, batchSizeOf(sub, session));
  }

  async predict(images: RgbImage[], opts: { topk: number }): Promise<Classification[]> {
    const { preprocess } = this.config;
    return runInBatches(images, this.batchSize, {
      prepare: (img) => preprocess.resizeAndCrop(img),
      shapeOf: (img) => `${img.width}x${img.height}`,
      run: async (batch) => {
        const rows = await classifierRows(this.session, preprocess.toTensor(batch), 'image classification');
        return rows.map((row) => this.topk(row, opts.topk));
      },
    });
  }

  private topk(row: Float32Array, topk: number): Classification {
    const classIds = Array.from(row.keys())
      .sort((a, b) => row[b]! - row[a]!)
      .slice(0, topk);
    return {
      classIds,
      scores: classIds.map((id) => roundScore(row[id]!)),
      labelNames: classIds.map((id) => this.config.labels?.[id] ?? String(id)),
    };
  }
}
