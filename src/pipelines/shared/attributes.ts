/**
 * PaddleX's attribute recognition pipelines (pedestrian_attribute_recognition,
 * vehicle_attribute_recognition): detect objects, crop each box, classify its attributes.
 * POST <path> {image, detThreshold?, clsThreshold?, visualize?} → <objects>: [{bbox, attributes, score}]
 * (+ annotated image). This is the HTTP side; `attributesWorker.ts` is the worker side.
 */
import { z } from 'zod';
import type { MultiLabelThreshold } from '../../models/multilabelClassification.js';
import { defineEndpoint, definePipeline, type PipelineDescriptor } from '../define.js';
import type { AttributeOps } from './attributesWorker.js';
import { withImage } from './output.js';
import { optional, visualizeField, wantsVisualization } from './request.js';
import { base64Image, boundingBox, noServingExtra } from './schemas.js';

/** number | {"default": number, "<class id>": number} | number[] (PaddleX's MultiLabelThreshOutput forms). */
export const multiLabelThresholdSchema = z.union(
  [
    z.number(),
    z
      .record(z.string().regex(/^(default|\d+)$/, 'keys are "default" or integer class ids >= 0'), z.number())
      .refine((map) => 'default' in map, 'a per-class map needs a "default" threshold for the classes it does not list'),
    z.array(z.number()),
  ],
  {
    error:
      'must be a number, a map {"default": number, "<class id>": number} (integer ids >= 0, "default" required) or one number per class',
  },
);

export function toMultiLabelThreshold(value: z.infer<typeof multiLabelThresholdSchema>): MultiLabelThreshold {
  if (typeof value === 'number' || Array.isArray(value)) return value;
  const { default: fallback, ...perClass } = value;
  // "007" and "7" name the same class.
  return { default: fallback!, ...Object.fromEntries(Object.entries(perClass).map(([id, v]) => [Number(id), v])) };
}

const request = z.object({
  image: z.string(),
  detThreshold: optional(z.number()),
  clsThreshold: optional(multiLabelThresholdSchema),
  visualize: visualizeField,
});

const recognizedObject = z.object({
  bbox: boundingBox,
  attributes: z.array(z.object({ label: z.string(), score: z.number() })),
  /** the detection score */
  score: z.number(),
});

export function attributePipeline(options: {
  pipelineName: string;
  path: string;
  summary: string;
  /** result field holding the objects: `pedestrians` or `vehicles` */
  objectsField: string;
  /** URL of the pipeline's worker module (made by `attributesWorker`) */
  worker: string;
}): PipelineDescriptor<AttributeOps, Record<string, unknown>> {
  const result = z.object({ [options.objectsField]: z.array(recognizedObject), image: base64Image().optional() });
  return definePipeline<AttributeOps, Record<string, unknown>>({
    pipelineName: options.pipelineName,
    worker: options.worker,
    servingExtra: noServingExtra,
    endpoints: [
      defineEndpoint<AttributeOps>()({
        path: options.path,
        operationId: 'infer',
        summary: options.summary,
        request,
        result,
        input: { kind: 'image', field: 'image' },
        async handle(req, ctx) {
          const bytes = await ctx.loadInput(req.image, 'image');
          const task = {
            image: bytes,
            detThreshold: req.detThreshold ?? null,
            clsThreshold: req.clsThreshold == null ? null : toMultiLabelThreshold(req.clsThreshold),
            visualize: wantsVisualization(req.visualize, ctx),
          };
          const { objects, image } = await ctx.run('predict', task);
          return withImage({ [options.objectsField]: objects }, image);
        },
      }),
    ],
  });
}
