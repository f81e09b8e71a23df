import { z } from 'zod';
import { readParam } from '../../config/pipelineConfig.js';
import { decodeImage } from '../../io/codec.js';
import { loadModel } from '../../models/registry.js';
import type { RgbImage } from '../../io/image.js';
import { defineWorker, withBatchForm } from '../define.js';
import { drawClassification } from './draw.js';

export const ROLE = 'ImageClassification';
export const topkSchema = z.number().int().gt(0);

export interface ClassificationTask {
  /** encoded image bytes */
  image: Uint8Array;
  topk?: number | null;
  visualize: boolean;
}

export interface ClassificationTaskResult {
  categories: Array<{ id: number; name: string; score: number }>;
  /** JPEG, when visualizing */
  image?: Uint8Array;
}

const worker = defineWorker(async (config, rt) => {
  const classifier = await loadModel(config, ROLE, 'image_classification', rt);
  // PaddleX: request topk, else the sub-module's `topk`, else Topk.topk of the model's inference.yml.
  const yamlTopk = readParam<number | undefined>(config.SubModules![ROLE]!, 'topk', topkSchema, `SubModules.${ROLE}`, undefined);

  /**
   * The tasks' images through the classifier as one list (in batches of the sub-module's
   * batch_size, as PaddleX predicts a list of inputs). An image that cannot be decoded fails only
   * its own task. Each task's top-k is a prefix of the largest one asked for, so it equals its own run.
   */
  async function predictMany(tasks: ClassificationTask[]): Promise<Array<ClassificationTaskResult | Error>> {
    const decoded = await Promise.all(tasks.map((t) => decodeImage(t.image, 'image').catch((err: Error) => err)));
    const images = decoded.filter((d): d is RgbImage => !(d instanceof Error));
    const topks = tasks.map((t) => t.topk ?? yamlTopk ?? classifier.defaultTopk);
    const results = images.length ? await classifier.predict(images, { topk: Math.max(...topks) }) : [];
    let next = 0;
    return Promise.all(
      decoded.map(async (img, i) => {
        if (img instanceof Error) return img;
        const result = results[next++]!;
        const categories = result.classIds
          .slice(0, topks[i])
          .map((id, k) => ({ id, name: result.labelNames[k]!, score: result.scores[k]! }));
        return tasks[i]!.visualize ? { categories, image: await drawClassification(img, categories) } : { categories };
      }),
    );
  }

  return {
    predict: withBatchForm(async (task: ClassificationTask) => {
      const [result] = await predictMany([task]);
      if (result instanceof Error) throw result;
      return result!;
    }, predictMany),
  };
});
export default worker;
