import { z } from 'zod';
import { defineEndpoint, definePipeline, type OpsOf } from '../define.js';
import { labelMapResponse, labelMapResult } from '../shared/labelMap.js';
import { visualizeField, wantsVisualization } from '../shared/request.js';
import { noServingExtra } from '../shared/schemas.js';
import type worker from './worker.js';

type Ops = OpsOf<typeof worker>;

const request = z.object({ image: z.string(), visualize: visualizeField });

/** PaddleX `anomaly_detection`: POST /image-anomaly-detection → a 0/255 anomaly mask at the model's resolution. */
export const anomalyDetectionPipeline = definePipeline<Ops, Record<string, unknown>>({
  pipelineName: 'anomaly_detection',
  worker: new URL('./worker.js', import.meta.url).href,
  servingExtra: noServingExtra,
  endpoints: [
    defineEndpoint<Ops>()({
      path: '/image-anomaly-detection',
      operationId: 'infer',
      summary: 'Find anomalous regions of an image (255 = anomaly, 0 = normal)',
      request,
      result: labelMapResult,
      input: { kind: 'image', field: 'image' },
      async handle(req, ctx) {
        const bytes = await ctx.loadInput(req.image, 'image');
        return labelMapResponse(await ctx.run('predict', { image: bytes, visualize: wantsVisualization(req.visualize, ctx) }));
      },
    }),
  ],
});
