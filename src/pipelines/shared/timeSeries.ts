/**
 * What PaddleX's time-series apps (ts_forecast, ts_anomaly_detection, ts_classification) share on
 * the HTTP side: the request `{csv, visualize?}` (csv = URL or Base64 of a UTF-8 CSV), the Base64
 * CSV result field, and handing the CSV bytes to the worker, which parses them (off the HTTP thread).
 */
import { z } from 'zod';
import type { EndpointContext, WorkerOps } from '../define.js';
import { transferable, withImage } from './output.js';
import { visualizeField, wantsVisualization } from './request.js';
import { base64Image } from './schemas.js';

export const timeSeriesRequest = z.object({
  csv: z.string(),
  visualize: visualizeField,
});

/** A Base64 UTF-8 CSV as `DataFrame.to_csv()` writes it (first column = the time index). */
export const base64Csv = z
  .string()
  .meta({ contentEncoding: 'base64', contentMediaType: 'text/csv', description: 'Base64-encoded UTF-8 CSV' });

/** `{csv, image?}`: the result of forecasting and anomaly detection. */
export const csvResult = z.object({ csv: base64Csv, image: base64Image().optional() });

export interface TimeSeriesTask {
  /** the client's CSV bytes */
  csv: Uint8Array;
  visualize: boolean;
}

/** A time-series worker's one operation: result fields plus the plot (JPEG) when visualizing. */
export type TimeSeriesOps = WorkerOps & { predict(task: TimeSeriesTask): Promise<{ image?: Uint8Array }> };

/** Loads `req.csv`, runs the worker's `predict` and returns its fields with the plot as Base64 `image`. */
export async function predictCsv<Ops extends TimeSeriesOps>(
  req: z.output<typeof timeSeriesRequest>,
  ctx: EndpointContext<Ops>,
): Promise<Omit<Awaited<ReturnType<Ops['predict']>>, 'image'> & { image?: string }> {
  const { bytes, transfer } = transferable(await ctx.loadInput(req.csv, 'csv'));
  const { image, ...fields } = await ctx.run('predict', { csv: bytes, visualize: wantsVisualization(req.visualize, ctx) }, { transfer });
  return withImage(fields, image);
}
