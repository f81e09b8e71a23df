import { z } from 'zod';
import { readParam } from '../../config/pipelineConfig.js';
import { decodeImage } from '../../io/codec.js';
import { loadModel } from '../../models/registry.js';
import { encodeCocoRle } from '../../ops/cocoRle.js';
import { defineWorker } from '../define.js';
import { drawInstances } from './draw.js';

const ROLE = 'InstanceSegmentation';

export interface InstanceSegmentationTask {
  /** encoded image bytes */
  image: Uint8Array;
  threshold?: number | null;
  visualize: boolean;
}

export interface InstanceResult {
  bbox: [number, number, number, number];
  categoryId: number;
  categoryName: string;
  score: number;
  mask: { rleResult: string; size: [number, number] };
}

export interface InstanceSegmentationTaskResult {
  instances: InstanceResult[];
  /** JPEG, when visualizing */
  image?: Uint8Array;
}

const worker = defineWorker(async (config, rt) => {
  const segmenter = await loadModel(config, ROLE, 'instance_segmentation', rt);
  // PaddleX: request threshold, else the sub-module's `threshold`, else draw_threshold of inference.yml.
  const yamlThreshold = readParam<number | undefined>(config.SubModules![ROLE]!, 'threshold', z.number(), `SubModules.${ROLE}`, undefined);
  return {
    async predict({ image, threshold, visualize }: InstanceSegmentationTask): Promise<InstanceSegmentationTaskResult> {
      const img = await decodeImage(image, 'image');
      const [found] = await segmenter.predict([img], { threshold: threshold ?? yamlThreshold });
      const instances = found!.map(({ coordinate, clsId, label, score, mask }) => ({
        bbox: coordinate,
        categoryId: clsId,
        categoryName: label,
        score,
        mask: { rleResult: encodeCocoRle(mask.data, mask.width, mask.height), size: [mask.height, mask.width] as [number, number] },
      }));
      return visualize ? { instances, image: await drawInstances(img, found!) } : { instances };
    },
  };
});
export default worker;
