import { z } from 'zod';
import { defineEndpoint, definePipeline, type OpsOf } from '../define.js';
import { loadMediaFile } from '../shared/media.js';
import { optional } from '../shared/request.js';
import { boundingBox, noServingExtra } from '../shared/schemas.js';
import type worker from './worker.js';

type Ops = OpsOf<typeof worker>;

const request = z.object({
  /** URL or Base64 of a video file */
  video: z.string(),
  nmsThresh: optional(z.number()),
  scoreThresh: optional(z.number()),
});

const result = z.object({
  frames: z.array(
    z.object({
      index: z.number().int(),
      detectedObjects: z.array(z.object({ bbox: boundingBox, categoryName: z.string(), score: z.number() })),
    }),
  ),
});

/** PaddleX `video_detection`: POST /video-detection {video, nmsThresh?, scoreThresh?} → per-frame detections (YOWO). */
export const videoDetectionPipeline = definePipeline<Ops, Record<string, unknown>>({
  pipelineName: 'video_detection',
  worker: new URL('./worker.js', import.meta.url).href,
  servingExtra: noServingExtra,
  endpoints: [
    defineEndpoint<Ops>()({
      path: '/video-detection',
      operationId: 'infer',
      summary: 'Detect actions in every frame of a video (boxes, action names, scores)',
      request,
      result,
      input: { kind: 'video', field: 'video' },
      handle: async (req, ctx) =>
        ctx.run('predict', {
          ...(await loadMediaFile(ctx, req.video, 'video', 'video')),
          nmsThresh: req.nmsThresh,
          scoreThresh: req.scoreThresh,
        }),
    }),
  ],
});
