/** PaddleX `ts_forecast` (PaddleTS forecasting exports such as DLinear) on an ONNX session. */
import type { ResolvedSubModule } from '../config/models.js';
import { invalidInput } from '../errors.js';
import type { CsvTable } from '../io/csv.js';
import { fixedFrequencyMs } from '../io/timeIndex.js';
import type { RuntimeContext } from '../runtime/context.js';
import { CSV_FIELD, requiredColumns, type Series, type TimeAxis, TimeSeriesModel, toColumns, toTimeMajor } from './timeSeries.js';

const INPUT = 'past_target';

export interface Forecast {
  timeCol: string;
  /** target_cols */
  columns: string[];
  /** the forecast's time index */
  axis: TimeAxis;
  /** de-normalised forecast, one float32 array per target column */
  values: Float32Array[];
  /** the rows the forecast was made from (time index and raw target values), for the plot */
  history: Series;
  /** the raw model tensors */
  tensors: { input: Float32Array; output: Float32Array };
}

/** The step between the last time and the first forecast (`pd.infer_freq` of an evenly spaced index). */
function inferredStepMs(ms: number[]): number {
  const step = ms[1]! - ms[0]!;
  if (ms.length < 2 || step <= 0 || ms.some((t, i) => i > 0 && t - ms[i - 1]! !== step)) {
    throw invalidInput(
      `${CSV_FIELD}: the times are not evenly spaced, so the frequency of the series cannot be inferred (PaddleX needs pd.infer_freq to find one)`,
    );
  }
  return step;
}

export class TimeSeriesForecaster {
  private constructor(
    private readonly model: TimeSeriesModel,
    private readonly targets: string[],
    private readonly inLength: number,
    private readonly outLength: number,
  ) {}

  static async load(sub: ResolvedSubModule, rt: RuntimeContext, keyPath: string): Promise<TimeSeriesForecaster> {
    const model = await TimeSeriesModel.open(sub, rt, keyPath, 'forecasting', (info, yml) => requiredColumns(info, 'target_cols', yml));
    const { info } = model.config;
    const { yml } = model;
    const targets = requiredColumns(info, 'target_cols', yml);
    const inLength = model.windowLength(INPUT);
    if (typeof info.freq === 'string' ? fixedFrequencyMs(info.freq) === undefined : info.freq == null) {
      throw yml.error(
        'info_params.freq',
        `${JSON.stringify(info.freq)}: expected a fixed-length pandas frequency ([n]D, h, min, s, ms) or an integer step`,
      );
    }
    if (model.sizeOf('skip_chunk_len') !== 0) throw yml.error('size.skip_chunk_len', 'only 0 is supported');
    return new TimeSeriesForecaster(model, targets, inLength, model.sizeOf('out_chunk_len'));
  }

  /** PaddleX's steps: last in_chunk_len rows → normalise → model → future time index → de-normalise. */
  async predict(table: CsvTable): Promise<Forecast> {
    const { model, targets, inLength, outLength } = this;
    const history = model.readSeries(model.lastRows(table, inLength), targets, 'target_cols');
    const input = toTimeMajor(model.normalize(history.columns));
    const [output] = await model.run({ [INPUT]: { data: input, dims: [1, inLength, targets.length] } });
    if (!output || output.data.length !== outLength * targets.length) {
      throw new Error(`forecast model output [${output?.dims.join(', ')}] is not [1, ${outLength}, ${targets.length}]`);
    }
    const { freq, time_col: timeCol } = model.config.info;
    let axis: TimeAxis;
    if (history.axis.kind === 'datetime') {
      if (typeof freq !== 'string') {
        throw invalidInput(
          `${CSV_FIELD}: column "${timeCol}" holds date-times, but the model's info_params.freq is the integer step ${freq}`,
        );
      }
      const last = history.axis.ms.at(-1)! + inferredStepMs(history.axis.ms);
      const step = fixedFrequencyMs(freq)!;
      axis = { kind: 'datetime', ms: Array.from({ length: outLength }, (_, i) => last + i * step) };
    } else {
      const start = Math.max(...history.axis.values) + 1;
      axis = { kind: 'integer', values: Array.from({ length: outLength }, (_, i) => start + i * Number(freq)) };
    }
    const values = model.denormalizeFloat32(toColumns(output.data, outLength, targets.length));
    return { timeCol, columns: targets, axis, values, history, tensors: { input, output: output.data } };
  }
}
