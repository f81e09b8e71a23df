import { z } from 'zod';
import { defineEndpoint, definePipeline, type OpsOf } from '../define.js';
import { labelMapResponse, labelMapResult } from '../shared/labelMap.js';
import { optional, visualizeField, wantsVisualization } from '../shared/request.js';
import { noServingExtra } from '../shared/schemas.js';
import type worker from './worker.js';

type Ops = OpsOf<typeof worker>;

const request = z.object({
  image: z.string(),
  // PaddleX: int | [width, height]; -1 = the image's own size
  targetSize: optional(
    z.union([
      z
        .number()
        .int()
        .refine((n) => n === -1 || n > 0, 'targetSize must be -1 (original size) or a positive integer'),
      z
        .tuple([z.number().int(), z.number().int()])
        .refine(([w, h]) => (w === -1 && h === -1) || (w > 0 && h > 0), 'targetSize [width, height] must be positive (or [-1, -1])'),
    ]),
  ),
  visualize: visualizeField,
});

/** PaddleX `semantic_segmentation`: POST /semantic-segmentation → a class per pixel (+ the coloured map). */
export const semanticSegmentationPipeline = definePipeline<Ops, Record<string, unknown>>({
  pipelineName: 'semantic_segmentation',
  worker: new URL('./worker.js', import.meta.url).href,
  servingExtra: noServingExtra,
  endpoints: [
    defineEndpoint<Ops>()({
      path: '/semantic-segmentation',
      operationId: 'infer',
      summary: 'Label every pixel of an image with a class',
      request,
      result: labelMapResult,
      input: { kind: 'image', field: 'image' },
      async handle(req, ctx) {
        const bytes = await ctx.loadInput(req.image, 'image');
        const task = { image: bytes, targetSize: req.targetSize, visualize: wantsVisualization(req.visualize, ctx) };
        return labelMapResponse(await ctx.run('predict', task));
      },
    }),
  ],
});
