import { z } from 'zod';
import { readParam } from '../../config/pipelineConfig.js';
import { decodeImage } from '../../io/codec.js';
import { loadModel } from '../../models/registry.js';
import { defineWorker } from '../define.js';
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
  return {
    async predict({ image, topk, visualize }: ClassificationTask): Promise<ClassificationTaskResult> {
      const img = await decodeImage(image, 'image');
      const [result] = await classifier.predict([img], { topk: topk ?? yamlTopk ?? classifier.defaultTopk });
      const categories = result!.classIds.map((id, i) => ({ id, name: result!.labelNames[i]!, score: result!.scores[i]! }));
      return visualize ? { categories, image: await drawClassification(img, categories) } : { categories };
    },
  };
});
export default worker;
