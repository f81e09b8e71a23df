import { decodeImage, encodeJpeg } from '../../io/codec.js';
import { toTargetSize } from '../../models/paddleSegPreprocess.js';
import { loadModel } from '../../models/registry.js';
import { pseudoColourImage } from '../../vis/pseudoColour.js';
import { defineWorker } from '../define.js';
import type { LabelMapTaskResult } from '../shared/labelMap.js';

export interface SegmentationTask {
  /** encoded image bytes */
  image: Uint8Array;
  /** int (-1 = original size) or [width, height]; null = the YAML's target_size, else the model's Resize */
  targetSize?: number | [number, number] | null;
  visualize: boolean;
}

const worker = defineWorker(async (config, rt) => {
  const segmenter = await loadModel(config, 'SemanticSegmentation', 'semantic_segmentation', rt);
  return {
    async predict({ image, targetSize, visualize }: SegmentationTask): Promise<LabelMapTaskResult> {
      const img = await decodeImage(image, 'image');
      const [map] = await segmenter.predict([img], { targetSize: targetSize == null ? null : toTargetSize(targetSize) });
      const { width, height, data } = map!;
      const result: LabelMapTaskResult = { labelMap: data, size: [height, width] };
      return visualize ? { ...result, image: await encodeJpeg(pseudoColourImage(data, width, height)) } : result;
    },
  };
});
export default worker;
