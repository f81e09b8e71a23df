import { decodeImage, encodeJpeg } from '../../io/codec.js';
import { loadModel } from '../../models/registry.js';
import { pseudoColourImage } from '../../vis/pseudoColour.js';
import { defineWorker } from '../define.js';
import type { LabelMapTaskResult } from '../shared/labelMap.js';

export interface AnomalyTask {
  /** encoded image bytes */
  image: Uint8Array;
  visualize: boolean;
}

const worker = defineWorker(async (config, rt) => {
  const detector = await loadModel(config, 'AnomalyDetection', 'anomaly_detection', rt);
  return {
    async predict({ image, visualize }: AnomalyTask): Promise<LabelMapTaskResult> {
      const [map] = await detector.predict([await decodeImage(image, 'image')]);
      const { width, height, data } = map!;
      const result: LabelMapTaskResult = { labelMap: data, size: [height, width] };
      return visualize ? { ...result, image: await encodeJpeg(pseudoColourImage(data, width, height)) } : result;
    },
  };
});
export default worker;
