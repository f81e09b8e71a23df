import type { RgbImage } from '../../io/image.js';
import type { SegmentedInstance } from '../../models/instanceSegmentation.js';
import { categoryColour, tintMask } from '../../vis/draw.js';
import { drawDetections } from '../shared/drawDetections.js';

/** As PaddleX's InstanceSegResult draws: each mask tinted in its class colour, then the boxes and labels. */
export function drawInstances(img: RgbImage, instances: SegmentedInstance[]): Promise<Uint8Array> {
  const data = new Uint8Array(img.data);
  for (const { clsId, mask } of instances) tintMask(data, img.width, img.height, mask, categoryColour(clsId));
  const boxes = instances.map((o) => ({ bbox: o.coordinate, categoryId: o.clsId, categoryName: o.label, score: o.score }));
  return drawDetections({ ...img, data }, boxes);
}
