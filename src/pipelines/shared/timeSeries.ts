/**
 * What PaddleX's time-series apps (ts_forecast, ts_anomaly_detection, ts_classification) share on
 * the HTTP side: the request `{csv, visualize?}` (csv = URL or Base64 of a UTF-8 CSV), the Base64
 * CSV result field, and handing the CSV bytes to the worker, which parses them (off the HTTP thread).
 */
import { z } from 'zod';
import { defineEndpoint, definePipeline, type EndpointContext, type PipelineDescriptor, type WorkerOps } from '../define.js';
import { withImage } from './output.js';
import { visualizeField, wantsVisualization } from './request.js';
import { base64Image, noServingExtra } from './schemas.js';

export const timeSeriesRequest = z.object({
  csv: z.string(),
  visualize: visualizeField,
});

/** A Base64 UTF-8 CSV as `DataFrame.to_csv()` writes it (first column = the time index). */
export const base64Csv = z.string().meta({ format: 'byte', description: 'Base64-encoded UTF-8 CSV' });

/** `{csv, image?}`: the result of forecasting and anomaly detection. */
export const csvResult = z.object({ csv: base64Csv, image: base64Image().optional() });

export interface TimeSeriesTask {
  /** the client's CSV bytes */
  csv: Uint8Array;
  visualize: boolean;
}

/** A time-series worker's one operation: result fields plus the plot (JPEG) when visualizing. */
export type TimeSeriesOps = WorkerOps & { predict(task: TimeSeriesTask): Promise<{ image?: Uint8Array }> };

/** The response result of a worker's `predict`: its fields, with the plot as Base64 `image`. */
type WireResult<Ops extends TimeSeriesOps> = Omit<Awaited<ReturnType<Ops['predict']>>, 'image'> & { image?: string };

/** Loads `req.csv`, runs the worker's `predict` and returns its fields with the plot as Base64 `image`. */
async function predictCsv<Ops extends TimeSeriesOps>(
  req: z.output<typeof timeSeriesRequest>,
  ctx: EndpointContext<Ops>,
): Promise<WireResult<Ops>> {
  const bytes = await ctx.loadInput(req.csv, 'csv');
  const { image, ...fields } = await ctx.run('predict', { csv: bytes, visualize: wantsVisualization(req.visualize, ctx) });
  return withImage(fields, image);
}

/**
 * A PaddleX time-series app: POST <path> {csv, visualize?} → `result` (its schema must describe
 * exactly what the worker's `predict` returns, with the plot as Base64 `image`).
 */
export function timeSeriesPipeline<Ops extends TimeSeriesOps>(options: {
  pipelineName: string;
  path: string;
  summary: string;
  /** URL of the pipeline's worker module */
  worker: string;
  result: z.ZodType<unknown, WireResult<Ops>>;
}): PipelineDescriptor<Ops, Record<string, unknown>> {
  return definePipeline<Ops, Record<string, unknown>>({
    pipelineName: options.pipelineName,
    worker: options.worker,
    servingExtra: noServingExtra,
    endpoints: [
      defineEndpoint<Ops>()({
        path: options.path,
        operationId: 'infer',
        summary: options.summary,
        request: timeSeriesRequest,
        result: options.result,
        input: { kind: 'csv', field: 'csv' },
        handle: (req, ctx) => predictCsv(req, ctx),
      }),
    ],
  });
}
