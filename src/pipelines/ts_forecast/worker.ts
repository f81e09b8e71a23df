import { formatFloat32, parseCsv } from '../../io/csv.js';
import { CSV_FIELD } from '../../models/timeSeries.js';
import { loadModel } from '../../models/registry.js';
import { defineWorker } from '../define.js';
import type { TimeSeriesTask } from '../shared/timeSeries.js';
import { base64FrameCsv } from '../shared/timeSeriesWorker.js';
import { drawForecast } from './draw.js';

export const ROLE = 'TSForecast';

const worker = defineWorker(async (config, rt) => {
  const forecaster = await loadModel(config, ROLE, 'ts_forecast', rt);
  return {
    async predict({ csv, visualize }: TimeSeriesTask): Promise<{ csv: string; image?: Uint8Array }> {
      const forecast = await forecaster.predict(parseCsv(csv, CSV_FIELD));
      const columns = forecast.columns.map((name, c) => ({ name, cells: Array.from(forecast.values[c]!, formatFloat32) }));
      const result = { csv: base64FrameCsv(forecast.timeCol, forecast.axis, columns) };
      return visualize ? { ...result, image: await drawForecast(forecast) } : result;
    },
  };
});
export default worker;
