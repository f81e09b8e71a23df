/** Worker-side pieces of the time-series pipelines: writing a result frame as Base64 CSV. */
import { writeCsv } from '../../io/csv.js';
import { type TimeAxis, timeLabels } from '../../models/timeSeries.js';
import { toBase64 } from './output.js';

/** `DataFrame.to_csv()` of a frame indexed by `axis` (named `timeCol`), Base64-encoded as PaddleX replies. */
export function base64FrameCsv(timeCol: string, axis: TimeAxis, columns: Array<{ name: string; cells: string[] }>): string {
  return toBase64(new TextEncoder().encode(writeCsv(timeCol, timeLabels(axis), columns)));
}
