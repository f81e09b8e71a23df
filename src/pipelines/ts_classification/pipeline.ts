import { z } from 'zod';
import type { OpsOf } from '../define.js';
import { base64Image } from '../shared/schemas.js';
import { timeSeriesPipeline } from '../shared/timeSeries.js';
import type worker from './worker.js';

const result = z.object({
  /** the class id, as a string */
  label: z.string(),
  score: z.number(),
  image: base64Image().optional(),
});

/** PaddleX `ts_classification`: POST /time-series-classification {csv} → label (class id) and score (+ plot). */
export const tsClassificationPipeline = timeSeriesPipeline<OpsOf<typeof worker>>({
  pipelineName: 'ts_classification',
  path: '/time-series-classification',
  summary: 'Classify a CSV time series (the first group when the model has a group_id column)',
  worker: new URL('./worker.js', import.meta.url).href,
  result,
});
