import { defineEndpoint, definePipeline, type OpsOf } from '../define.js';
import { noServingExtra } from '../shared/schemas.js';
import { csvResult, predictCsv, timeSeriesRequest } from '../shared/timeSeries.js';
import type worker from './worker.js';

type Ops = OpsOf<typeof worker>;

/** PaddleX `ts_anomaly_detection`: POST /time-series-anomaly-detection {csv} → per-step 0/1 labels as Base64 CSV (+ plot). */
export const tsAnomalyDetectionPipeline = definePipeline<Ops, Record<string, unknown>>({
  pipelineName: 'ts_anomaly_detection',
  worker: new URL('./worker.js', import.meta.url).href,
  servingExtra: noServingExtra,
  endpoints: [
    defineEndpoint<Ops>()({
      path: '/time-series-anomaly-detection',
      operationId: 'infer',
      summary: 'Label each time step of a CSV time series as anomalous (1) or not (0)',
      request: timeSeriesRequest,
      result: csvResult,
      input: { kind: 'csv', field: 'csv' },
      handle: (req, ctx) => predictCsv(req, ctx),
    }),
  ],
});
