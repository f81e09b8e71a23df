import type { BevSample } from '../../io/bevSample.js';
import { loadModel } from '../../models/registry.js';
import { defineWorker } from '../define.js';

export const ROLE = '3DBEVDetection';
/** BEVFusion's box: x, y, z, w, l, h, yaw, vx, vy (the model's output has nine columns, checked when it is read) */
type Box9 = [number, number, number, number, number, number, number, number, number];

const worker = defineWorker(async (config, rt) => {
  const detector = await loadModel(config, ROLE, '3d_bev_detection', rt);
  return {
    async predict(sample: BevSample) {
      const { boxes, labels, scores } = await detector.predict(sample);
      return { detectedObjects: boxes.map((bbox, i) => ({ bbox: bbox as Box9, categoryId: labels[i]!, score: scores[i]! })) };
    },
  };
});
export default worker;
