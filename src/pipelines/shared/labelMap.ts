/**
 * The result of PaddleX's per-pixel pipelines (semantic_segmentation, anomaly_detection):
 * `labelMap` flattened row by row, its `size` as [height, width], and the drawn map as `image`.
 */
import { z } from 'zod';
import { withImage } from './output.js';
import { base64Image } from './schemas.js';

export const labelMapResult = z.object({
  labelMap: z.array(z.number().int()),
  size: z.tuple([z.number().int(), z.number().int()]),
  image: base64Image().optional(),
});

/** What a worker returns: the labels as a typed array (cheap to pass between threads). */
export interface LabelMapTaskResult {
  labelMap: Int32Array;
  /** [height, width] */
  size: [number, number];
  /** JPEG, when visualizing */
  image?: Uint8Array;
}

export function labelMapResponse({ labelMap, size, image }: LabelMapTaskResult): z.input<typeof labelMapResult> {
  return withImage({ labelMap: Array.from(labelMap), size }, image);
}
