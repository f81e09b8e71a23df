import { z } from 'zod';
import { readBevSample } from '../../io/bevSample.js';
import { defineEndpoint, definePipeline, type OpsOf } from '../define.js';
import { noServingExtra } from '../shared/schemas.js';
import type worker from './worker.js';

type Ops = OpsOf<typeof worker>;

const request = z.object({
  /** URL or Base64 of a .tar holding one multi-sensor sample (nuscenes_infos_val.pkl, LiDAR points, six camera images) */
  tar: z.string(),
});

const detectedObject = z.object({
  /** x, y, z, w, l, h, yaw, vx, vy in the LiDAR frame */
  bbox: z.tuple([z.number(), z.number(), z.number(), z.number(), z.number(), z.number(), z.number(), z.number(), z.number()]),
  categoryId: z.number().int(),
  score: z.number(),
});

const result = z.object({ detectedObjects: z.array(detectedObject) });

/** PaddleX `3d_bev_detection`: POST /bev-3d-object-detection {tar} → 3D boxes (BEVFusion). */
export const bevDetectionPipeline = definePipeline<Ops, Record<string, unknown>>({
  pipelineName: '3d_bev_detection',
  worker: new URL('./worker.js', import.meta.url).href,
  servingExtra: noServingExtra,
  endpoints: [
    defineEndpoint<Ops>()({
      path: '/bev-3d-object-detection',
      operationId: 'infer',
      summary: 'Detect 3D objects in a LiDAR + six-camera sample (BEVFusion)',
      request,
      result,
      input: { kind: 'tar', field: 'tar' },
      // the archive and its info file are checked here, before the sample reaches an inference instance
      handle: async (req, ctx) => ctx.run('predict', await readBevSample(await ctx.loadInput(req.tar, 'tar'), 'tar')),
    }),
  ],
});
