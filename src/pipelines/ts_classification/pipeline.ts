import { z } from 'zod';
import { defineEndpoint, definePipeline, type OpsOf } from '../define.js';
import { base64Image, noServingExtra } from '../shared/schemas.js';
import { predictCsv, timeSeriesRequest } from '../shared/timeSeries.js';
import type worker from './worker.js';

type Ops = OpsOf<typeof worker>;

const result = z.object({
  /** the class id, as a string */
  label: z.string(),
  score: z.number(),
  image: base64Image().optional(),
});

/** PaddleX `ts_classification`: POST /time-series-classification {csv} → label (class id) and score (+ plot). */
export const tsClassificationPipeline = definePipeline<Ops, Record<string, unknown>>({
  pipelineName: 'ts_classification',
  worker: new URL('./worker.js', import.meta.url).href,
  servingExtra: noServingExtra,
  endpoints: [
    defineEndpoint<Ops>()({
      path: '/time-series-classification',
      operationId: 'infer',
      summary: 'Classify a CSV time series (the first group when the model has a group_id column)',
      request: timeSeriesRequest,
      result,
      input: { kind: 'csv', field: 'csv' },
      handle: (req, ctx) => predictCsv(req, ctx),
    }),
  ],
});
