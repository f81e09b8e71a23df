import { parseCsv } from '../../io/csv.js';
import { loadModel } from '../../models/registry.js';
import { CSV_FIELD } from '../../models/timeSeries.js';
import { defineWorker } from '../define.js';
import type { TimeSeriesTask } from '../shared/timeSeries.js';
import { base64FrameCsv } from '../shared/timeSeriesWorker.js';
import { drawAnomalies } from './draw.js';

export const ROLE = 'TSAnomalyDetection';

const worker = defineWorker(async (config, rt) => {
  const detector = await loadModel(config, ROLE, 'ts_anomaly_detection', rt);
  return {
    async predict({ csv, visualize }: TimeSeriesTask): Promise<{ csv: string; image?: Uint8Array }> {
      const detection = await detector.predict(parseCsv(csv, CSV_FIELD));
      // PaddleX's GetAnomaly frame has the one column "label"
      const result = {
        csv: base64FrameCsv(detection.timeCol, detection.axis, [{ name: 'label', cells: Array.from(detection.labels, String) }]),
      };
      return visualize ? { ...result, image: await drawAnomalies(detection) } : result;
    },
  };
});
export default worker;
