import { defineEndpoint, definePipeline, type OpsOf } from '../define.js';
import { noServingExtra } from '../shared/schemas.js';
import { csvResult, predictCsv, timeSeriesRequest } from '../shared/timeSeries.js';
import type worker from './worker.js';

type Ops = OpsOf<typeof worker>;

/** PaddleX `ts_forecast`: POST /time-series-forecasting {csv} → the forecast as Base64 CSV (+ plot). */
export const tsForecastPipeline = definePipeline<Ops, Record<string, unknown>>({
  pipelineName: 'ts_forecast',
  worker: new URL('./worker.js', import.meta.url).href,
  servingExtra: noServingExtra,
  endpoints: [
    defineEndpoint<Ops>()({
      path: '/time-series-forecasting',
      operationId: 'infer',
      summary: 'Forecast a time series given as CSV (columns and time column as the model was trained with)',
      request: timeSeriesRequest,
      result: csvResult,
      input: { kind: 'csv', field: 'csv' },
      handle: (req, ctx) => predictCsv(req, ctx),
    }),
  ],
});
