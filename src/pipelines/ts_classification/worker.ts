import { parseCsv } from '../../io/csv.js';
import { loadModel } from '../../models/registry.js';
import { CSV_FIELD } from '../../models/timeSeries.js';
import { defineWorker } from '../define.js';
import type { TimeSeriesTask } from '../shared/timeSeries.js';
import { drawClassifiedSeries } from './draw.js';

export const ROLE = 'TSClassification';

const worker = defineWorker(async (config, rt) => {
  const classifier = await loadModel(config, ROLE, 'ts_classification', rt);
  return {
    async predict({ csv, visualize }: TimeSeriesTask): Promise<{ label: string; score: number; image?: Uint8Array }> {
      const classification = await classifier.predict(parseCsv(csv, CSV_FIELD));
      const result = { label: String(classification.classId), score: classification.score };
      return visualize ? { ...result, image: await drawClassifiedSeries(classification) } : result;
    },
  };
});
export default worker;
