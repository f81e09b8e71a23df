import { readParam } from '../../config/pipelineConfig.js';
import { decodeImage } from '../../io/codec.js';
import type { MultiLabelThreshold } from '../../models/multilabelClassification.js';
import { loadModel } from '../../models/registry.js';
import { defineWorker } from '../define.js';
import { multiLabelThresholdField } from '../shared/request.js';
import { drawMultiLabel } from './draw.js';

const ROLE = 'ImageMultiLabelClassification';

export interface MultiLabelTask {
  /** encoded image bytes */
  image: Uint8Array;
  threshold?: MultiLabelThreshold | null;
  visualize: boolean;
}

export interface MultiLabelTaskResult {
  categories: Array<{ id: number; name: string; score: number }>;
  /** JPEG, when visualizing */
  image?: Uint8Array;
}

const worker = defineWorker(async (config, rt) => {
  const classifier = await loadModel(config, ROLE, 'image_multilabel_classification', rt);
  // PaddleX: request threshold, else the sub-module's `threshold`, else MultiLabelThreshOutput.threshold of inference.yml.
  const yamlThreshold = readParam(
    config.SubModules![ROLE]!,
    'threshold',
    multiLabelThresholdField.optional(),
    `SubModules.${ROLE}`,
    undefined,
  );
  return {
    async predict({ image, threshold, visualize }: MultiLabelTask): Promise<MultiLabelTaskResult> {
      const img = await decodeImage(image, 'image');
      const [result] = await classifier.predict([img], { threshold: threshold ?? yamlThreshold });
      const categories = result!.classIds.map((id, i) => ({ id, name: result!.labelNames[i]!, score: result!.scores[i]! }));
      return visualize ? { categories, image: await drawMultiLabel(img, categories) } : { categories };
    },
  };
});
export default worker;
