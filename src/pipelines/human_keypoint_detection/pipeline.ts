import { z } from 'zod';
import { defineEndpoint, definePipeline } from '../define.js';
import { withImage } from '../shared/output.js';
import { optional, visualizeField, wantsVisualization } from '../shared/request.js';
import { base64Image, boundingBox, noServingExtra } from '../shared/schemas.js';
import type worker from './worker.js';
import type { OpsOf } from '../define.js';

type Ops = OpsOf<typeof worker>;

const person = z.object({
  bbox: boundingBox,
  /** [x, y, score] per joint */
  kpts: z.array(z.tuple([z.number(), z.number(), z.number()])),
  detScore: z.number(),
  kptScore: z.number(),
});

/** PaddleX `human_keypoint_detection`: POST /human-keypoint-detection → persons with their keypoints. */
export const humanKeypointDetectionPipeline = definePipeline<Ops, Record<string, unknown>>({
  pipelineName: 'human_keypoint_detection',
  worker: new URL('./worker.js', import.meta.url).href,
  servingExtra: noServingExtra,
  endpoints: [
    defineEndpoint<Ops>()({
      path: '/human-keypoint-detection',
      operationId: 'infer',
      summary: 'Detect persons and their keypoints',
      request: z.object({ image: z.string(), detThreshold: optional(z.number()), visualize: visualizeField }),
      result: z.object({ persons: z.array(person), image: base64Image().optional() }),
      input: { kind: 'image', field: 'image' },
      async handle(req, ctx) {
        const bytes = await ctx.loadInput(req.image, 'image');
        const task = { image: bytes, detThreshold: req.detThreshold ?? null, visualize: wantsVisualization(req.visualize, ctx) };
        const { image, ...fields } = await ctx.run('predict', task);
        return withImage(fields, image);
      },
    }),
  ],
});
