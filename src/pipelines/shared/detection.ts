/**
 * PaddleX's single-detector pipelines (object_detection, small_object_detection, ...) differ only in
 * names: POST <path> {image, threshold?, visualize?} → detectedObjects (+ annotated image). This is
 * the HTTP side; `detectionWorker.ts` is the worker side.
 */
import { z } from 'zod';
import type { LayoutParams, MergeBboxesMode, UnclipRatio } from '../../models/layoutDetection.js';
import type { DetectionThreshold } from '../../models/objectDetection.js';
import { defineEndpoint, definePipeline, type PipelineDescriptor } from '../define.js';
import type { DetectionOps } from './detectionWorker.js';
import { predictImage } from './output.js';
import { optional, visualizeField } from './request.js';
import { base64Image, boundingBox, noServingExtra, rotatedBoundingBox } from './schemas.js';

/** A number, or {classId: number} with integer class ids (JSON/YAML keys arrive as strings). */
export const thresholdSchema = z.union([
  z.number(),
  z.record(z.string().regex(/^\d+$/, 'class ids must be integers >= 0'), z.number().min(0).max(1)),
]);

export function toThreshold(value: z.infer<typeof thresholdSchema>): DetectionThreshold {
  if (typeof value === 'number') return value;
  // "007" and "7" name the same class.
  return Object.fromEntries(Object.entries(value).map(([classId, min]) => [Number(classId), min]));
}

/** The layout settings of a request (PaddleX's `layoutThreshold`, `layoutNms`, `layoutUnclipRatio`, `layoutMergeBboxesMode`). */
export function requestLayoutParams(req: {
  layoutThreshold?: z.infer<typeof thresholdSchema> | null;
  layoutNms?: boolean | null;
  layoutUnclipRatio?: UnclipRatio | null;
  layoutMergeBboxesMode?: MergeBboxesMode | null;
}): LayoutParams {
  return {
    threshold: req.layoutThreshold == null ? null : toThreshold(req.layoutThreshold),
    layoutNms: req.layoutNms,
    layoutUnclipRatio: req.layoutUnclipRatio,
    layoutMergeBboxesMode: req.layoutMergeBboxesMode,
  };
}

export const detectedObject = z.object({
  bbox: boundingBox,
  categoryId: z.number().int(),
  categoryName: z.string(),
  score: z.number(),
});

const request = z.object({
  image: z.string(),
  threshold: optional(thresholdSchema),
  visualize: visualizeField,
});

const resultWith = (object: z.ZodType) => z.object({ detectedObjects: z.array(object), image: base64Image().optional() });
const result = resultWith(detectedObject);
const rotatedResult = resultWith(detectedObject.extend({ bbox: rotatedBoundingBox }));

export function detectionPipeline(options: {
  pipelineName: string;
  path: string;
  summary: string;
  /** URL of the pipeline's worker module (made by `detectionWorker`) */
  worker: string;
  /** boxes are 8-point rotated boxes (rotated_object_detection) */
  rotated?: boolean;
}): PipelineDescriptor<DetectionOps, Record<string, unknown>> {
  return definePipeline<DetectionOps, Record<string, unknown>>({
    pipelineName: options.pipelineName,
    worker: options.worker,
    servingExtra: noServingExtra,
    endpoints: [
      defineEndpoint<DetectionOps>()({
        path: options.path,
        operationId: 'infer',
        summary: options.summary,
        request,
        result: options.rotated ? rotatedResult : result,
        input: { kind: 'image', field: 'image' },
        handle: (req, ctx) =>
          predictImage<DetectionOps>(ctx, req, { threshold: req.threshold == null ? null : toThreshold(req.threshold) }),
      }),
    ],
  });
}
