import { z } from 'zod';
import { defineEndpoint, definePipeline, type OpsOf } from '../define.js';
import { predictImage } from '../shared/output.js';
import { optional, visualizeField } from '../shared/request.js';
import { base64Image, category, noServingExtra } from '../shared/schemas.js';
import type worker from './worker.js';

type Ops = OpsOf<typeof worker>;

const request = z.object({
  image: z.string(),
  topk: optional(z.number().int().gt(0)),
  visualize: visualizeField,
});

const result = z.object({
  categories: z.array(category),
  image: base64Image().optional(),
});

/** PaddleX `image_classification`: POST /image-classification → top-k categories (+ annotated image). */
export const imageClassificationPipeline = definePipeline<Ops, Record<string, unknown>>({
  pipelineName: 'image_classification',
  worker: new URL('./worker.js', import.meta.url).href,
  servingExtra: noServingExtra,
  endpoints: [
    defineEndpoint<Ops>()({
      path: '/image-classification',
      operationId: 'infer',
      summary: 'Classify an image (top-k ImageNet-style categories)',
      request,
      result,
      input: { kind: 'image', field: 'image' },
      handle: (req, ctx) => predictImage<Ops>(ctx, req, { topk: req.topk }),
    }),
  ],
});
