import { z } from 'zod';
import { defineEndpoint, definePipeline, type OpsOf } from '../define.js';
import { loadMediaFile } from '../shared/media.js';
import { optional } from '../shared/request.js';
import { category, noServingExtra } from '../shared/schemas.js';
import type worker from './worker.js';

type Ops = OpsOf<typeof worker>;

const request = z.object({
  /** URL or Base64 of a video file */
  video: z.string(),
  topk: optional(z.number().int().gt(0)),
});

const result = z.object({ categories: z.array(category) });

/** PaddleX `video_classification`: POST /video-classification {video, topk?} → top-k categories (PP-TSM). */
export const videoClassificationPipeline = definePipeline<Ops, Record<string, unknown>>({
  pipelineName: 'video_classification',
  worker: new URL('./worker.js', import.meta.url).href,
  servingExtra: noServingExtra,
  endpoints: [
    defineEndpoint<Ops>()({
      path: '/video-classification',
      operationId: 'infer',
      summary: 'Classify a video clip (top-k action categories)',
      request,
      result,
      input: { kind: 'video', field: 'video' },
      handle: async (req, ctx) => ctx.run('predict', { ...(await loadMediaFile(ctx, req.video, 'video', 'video')), topk: req.topk }),
    }),
  ],
});
