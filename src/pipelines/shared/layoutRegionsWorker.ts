/** Layout detection as seal and formula recognition use it, worker side: find the page's regions of one label and crop them. */
import type { RgbImage } from '../../io/image.js';
import type { LayoutDetector, LayoutParams } from '../../models/layoutDetection.js';
import type { Box } from '../../models/objectDetection.js';
import { cropImage } from '../../ops/resize.js';
import { drawDetections } from './drawDetections.js';
import type { LayoutDetResult } from './layoutRegions.js';

export interface LayoutRegions {
  /** PaddleX's `layout_det_res` */
  layoutDetRes: LayoutDetResult;
  /** the boxes labelled as asked, in detection order, each with its crop */
  regions: Array<{ coordinate: Box; image: RgbImage }>;
  /** PaddleX's `layout_det_res` image, when visualisation is on */
  drawing?: Uint8Array;
}

/** PaddleX's CropByBoxes: integer (truncated) corners, image[ymin:ymax, xmin:xmax]. */
export function cropByBox(page: RgbImage, [x1, y1, x2, y2]: Box): RgbImage {
  const [left, top] = [Math.trunc(x1), Math.trunc(y1)];
  return cropImage(page, left, top, Math.trunc(x2) - left, Math.trunc(y2) - top);
}

/** Detects the layout of `page` and crops the boxes whose label is `label` (compared lower-case, as PaddleX does). */
export async function detectLayoutRegions(
  layout: LayoutDetector,
  page: RgbImage,
  params: LayoutParams,
  label: string,
  visualize: boolean,
): Promise<LayoutRegions> {
  const [boxes] = await layout.predict([page], params);
  const regions = boxes!
    .filter((b) => b.label.toLowerCase() === label)
    .map(({ coordinate }) => ({ coordinate, image: cropByBox(page, coordinate) }));
  return {
    layoutDetRes: { boxes: boxes!.map((b) => ({ cls_id: b.clsId, label: b.label, score: b.score, coordinate: b.coordinate })) },
    regions,
    ...(visualize
      ? {
          drawing: await drawDetections(
            page,
            boxes!.map((b) => ({ bbox: b.coordinate, categoryId: b.clsId, categoryName: b.label, score: b.score })),
          ),
        }
      : {}),
  };
}
