import type { OpsOf } from '../define.js';
import { csvResult, timeSeriesPipeline } from '../shared/timeSeries.js';
import type worker from './worker.js';

/** PaddleX `ts_anomaly_detection`: POST /time-series-anomaly-detection {csv} → per-step 0/1 labels as Base64 CSV (+ plot). */
export const tsAnomalyDetectionPipeline = timeSeriesPipeline<OpsOf<typeof worker>>({
  pipelineName: 'ts_anomaly_detection',
  path: '/time-series-anomaly-detection',
  summary: 'Label each time step of a CSV time series as anomalous (1) or not (0)',
  worker: new URL('./worker.js', import.meta.url).href,
  result: csvResult,
});
