import { z } from 'zod';
import { defineEndpoint, definePipeline, type OpsOf } from '../define.js';
import { detectedObject } from '../shared/detection.js';
import { predictImage } from '../shared/output.js';
import { optional, visualizeField } from '../shared/request.js';
import { base64Image, noServingExtra } from '../shared/schemas.js';
import type worker from './worker.js';

type Ops = OpsOf<typeof worker>;

const request = z.object({
  image: z.string(),
  threshold: optional(z.number()),
  visualize: visualizeField,
});

/** PaddleX's Mask: COCO compressed RLE `counts` (as pycocotools encodes) and the mask's [height, width]. */
const mask = z.object({ rleResult: z.string(), size: z.tuple([z.number().int(), z.number().int()]) });

const result = z.object({
  instances: z.array(detectedObject.extend({ mask })),
  image: base64Image().optional(),
});

/** PaddleX `instance_segmentation`: POST /instance-segmentation → boxes with their masks (+ annotated image). */
export const instanceSegmentationPipeline = definePipeline<Ops, Record<string, unknown>>({
  pipelineName: 'instance_segmentation',
  worker: new URL('./worker.js', import.meta.url).href,
  servingExtra: noServingExtra,
  endpoints: [
    defineEndpoint<Ops>()({
      path: '/instance-segmentation',
      operationId: 'infer',
      summary: 'Detect objects with a pixel mask each (COCO RLE, cut to the box)',
      request,
      result,
      input: { kind: 'image', field: 'image' },
      handle: (req, ctx) => predictImage<Ops>(ctx, req, { threshold: req.threshold }),
    }),
  ],
});
