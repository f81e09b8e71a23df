import type { RgbImage } from '../../io/image.js';
import type { SegmentedInstance } from '../../models/instanceSegmentation.js';
import { categoryColour } from '../../vis/draw.js';
import { drawDetections } from '../shared/drawDetections.js';

/** PaddleX's mask tint: the class colour moved 40 % towards white, laid over the pixel at 70 %. */
const WHITEN = 0.4;
const MASK_ALPHA = 0.7;

/** As PaddleX's InstanceSegResult draws: each mask tinted in its class colour, then the boxes and labels. */
export function drawInstances(img: RgbImage, instances: SegmentedInstance[]): Promise<Uint8Array> {
  const data = new Uint8Array(img.data);
  for (const { clsId, mask } of instances) {
    const tint = categoryColour(clsId).map((c) => c * (1 - WHITEN) + WHITEN * 255);
    const { left, top } = mask;
    for (let y = 0; y < mask.height; y++) {
      for (let x = 0; x < mask.width; x++) {
        if (!mask.data[y * mask.width + x] || top + y >= img.height || left + x >= img.width) continue;
        const p = ((top + y) * img.width + left + x) * 3;
        for (let c = 0; c < 3; c++) data[p + c] = Math.trunc(data[p + c]! * (1 - MASK_ALPHA) + MASK_ALPHA * tint[c]!);
      }
    }
  }
  const boxes = instances.map((o) => ({ bbox: o.coordinate, categoryId: o.clsId, categoryName: o.label, score: o.score }));
  return drawDetections({ ...img, data }, boxes);
}
