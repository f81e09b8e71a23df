import type { OpsOf } from '../define.js';
import { csvResult, timeSeriesPipeline } from '../shared/timeSeries.js';
import type worker from './worker.js';

/** PaddleX `ts_forecast`: POST /time-series-forecasting {csv} → the forecast as Base64 CSV (+ plot). */
export const tsForecastPipeline = timeSeriesPipeline<OpsOf<typeof worker>>({
  pipelineName: 'ts_forecast',
  path: '/time-series-forecasting',
  summary: 'Forecast a time series given as CSV (columns and time column as the model was trained with)',
  worker: new URL('./worker.js', import.meta.url).href,
  result: csvResult,
});
