/**
 * What PaddleX's three time-series modules share (PaddleTS exports): the inference.yml keys
 * (`info_params`, `size`, `input_data`, `scale`), the StandardScaler beside the model, reading the
 * time index and value columns of a client's CSV as `load_from_dataframe` does, and feeding the
 * ONNX inputs by the sorted `input_data` keys (outputs are used by position).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import { z } from 'zod';
import type { ResolvedSubModule } from '../config/models.js';
import { invalidInput } from '../errors.js';
import { type CsvTable, columnIndex, csvLine, isIntegerColumn, numericColumn } from '../io/csv.js';
import { readStandardScalerPickle, type StandardScalerState } from '../io/scalerPickle.js';
import { PickleFormatError } from '../io/restrictedPickle.js';
import { formatDateTimes, parseDateTime } from '../io/timeIndex.js';
import type { RuntimeContext } from '../runtime/context.js';
import { ort } from '../runtime/session.js';
import { InferenceConfigReader } from './common.js';

/** The request field time-series CSVs arrive in (named in client errors). */
export const CSV_FIELD = 'csv';

const columnList = z.union([z.string().transform((c) => [c]), z.array(z.string()).min(1)]);

const infoParams = z.object({
  time_col: z.string().min(1),
  target_cols: columnList.optional(),
  feature_cols: columnList.optional(),
  group_id: z.string().nullish(),
  freq: z.union([z.string().min(1), z.number().int().positive()]).nullish(),
});
export type InfoParams = z.output<typeof infoParams>;

/** `input_data`: each model input's shape, `[null, length, channels]` or `[null, length]`. */
const inputData = z.record(z.string(), z.array(z.number().int().positive().nullable()).min(2).max(3));

/** The parsed inference.yml of a PaddleTS export. */
export interface TimeSeriesConfig {
  info: InfoParams;
  inputShapes: Record<string, Array<number | null>>;
  scale: boolean;
  raw: Record<string, unknown>;
}

/** `(x - mean) / scale` per column and back, as sklearn's StandardScaler. */
export class StandardScaler {
  constructor(private readonly state: StandardScalerState) {}

  transform(columns: Float64Array[]): Float64Array[] {
    const { mean, scale } = this.state;
    return columns.map((values, c) => values.map((x) => (x - (mean?.[c] ?? 0)) / (scale?.[c] ?? 1)));
  }

  /**
   * sklearn keeps a float32 input float32: `X *= scale_; X += mean_` round to float32 at each step,
   * which is what PaddleX's forecasts are written from.
   */
  inverseTransformFloat32(columns: Float32Array[]): Float32Array[] {
    const { mean, scale } = this.state;
    return columns.map((values, c) => values.map((x) => Math.fround(Math.fround(x * (scale?.[c] ?? 1)) + (mean?.[c] ?? 0))));
  }
}

const scalerJson = z.object({
  feature_names_in: z.array(z.string()).optional(),
  with_mean: z.boolean().default(true),
  with_std: z.boolean().default(true),
  mean: z.array(z.number()).nullish(),
  scale: z.array(z.number()).nullish(),
});

/**
 * `scaler.pkl` (joblib, read by the restricted reader) or else `scaler.json` from the model dir,
 * checked against the columns it will scale (sklearn refuses other feature names, too).
 */
function loadScaler(yml: InferenceConfigReader, columns: string[]): StandardScaler {
  const dir = path.dirname(yml.sub.resolved.onnxPath);
  const pkl = path.join(dir, 'scaler.pkl');
  const json = path.join(dir, 'scaler.json');
  let state: StandardScalerState;
  if (existsSync(pkl)) {
    try {
      state = readStandardScalerPickle(readFileSync(pkl));
    } catch (err) {
      if (err instanceof PickleFormatError)
        throw yml.error('scale', `${pkl} is not a StandardScaler file this server reads: ${err.message}`);
      throw err;
    }
  } else if (existsSync(json)) {
    let parsed: z.output<typeof scalerJson>;
    try {
      parsed = yml.parse(scalerJson, JSON.parse(readFileSync(json, 'utf8')), json);
    } catch (err) {
      if (err instanceof SyntaxError) throw yml.error('scale', `${json} is not valid JSON: ${err.message}`);
      throw err;
    }
    state = {
      featureNames: parsed.feature_names_in,
      withMean: parsed.with_mean,
      withStd: parsed.with_std,
      mean: parsed.with_mean && parsed.mean ? Float64Array.from(parsed.mean) : undefined,
      scale: parsed.with_std && parsed.scale ? Float64Array.from(parsed.scale) : undefined,
    };
  } else {
    throw yml.error('scale', `true, but neither ${pkl} nor ${json} exists (PaddleTS writes scaler.pkl next to the model)`);
  }
  const sizes = [state.mean?.length, state.scale?.length].filter((n) => n !== undefined);
  if (sizes.some((n) => n !== columns.length) || (state.withMean && !state.mean) || (state.withStd && !state.scale)) {
    throw yml.error('scale', `the scaler's statistics do not cover the ${columns.length} columns ${columns.join(', ')}`);
  }
  if (state.featureNames && state.featureNames.join('\u0000') !== columns.join('\u0000')) {
    throw yml.error('scale', `the scaler was fitted on columns ${state.featureNames.join(', ')}, but the model uses ${columns.join(', ')}`);
  }
  return new StandardScaler(state);
}

/** The time index of a series: date-times or a RangeIndex. */
export type TimeAxis = { kind: 'datetime'; ms: number[] } | { kind: 'integer'; values: number[] };

/** Index labels as `to_csv` writes them. */
export function timeLabels(axis: TimeAxis): string[] {
  return axis.kind === 'datetime' ? formatDateTimes(axis.ms) : axis.values.map(String);
}

/** A series read from the CSV: its time index and value columns, in index order. */
export interface Series {
  axis: TimeAxis;
  /** one array per value column */
  columns: Float64Array[];
}

/** The last rows of a table (the cut-off) and where they start in the client's CSV, so errors name its lines. */
export interface TableSlice {
  table: CsvTable;
  /** index of the slice's first row in the client's CSV */
  firstRow: number;
}

/** A loaded PaddleTS export: its config, scaler and session. */
export class TimeSeriesModel {
  private constructor(
    readonly config: TimeSeriesConfig,
    readonly yml: InferenceConfigReader,
    private readonly session: InferenceSession,
    private readonly scaler: StandardScaler | undefined,
    /** inputs in PaddleX's order: sorted `input_data` keys */
    readonly inputNames: string[],
  ) {}

  /** Reads inference.yml, checks it is a `modelType` export, loads the scaler of `scaledColumns(info)` and the session. */
  static async open(
    sub: ResolvedSubModule,
    rt: RuntimeContext,
    keyPath: string,
    modelType: 'forecasting' | 'anomaly' | 'classification',
    scaledColumns: (info: InfoParams, yml: InferenceConfigReader) => string[],
  ): Promise<TimeSeriesModel> {
    const yml = new InferenceConfigReader(sub, keyPath);
    const raw = yml.config as Record<string, unknown>;
    if (raw.model_type !== modelType) {
      throw yml.error('model_type', `${JSON.stringify(raw.model_type)}, but this module needs a PaddleTS "${modelType}" export`);
    }
    const config: TimeSeriesConfig = {
      info: yml.parse(infoParams, raw.info_params, 'info_params'),
      inputShapes: yml.parse(inputData, raw.input_data, 'input_data'),
      scale: yml.parse(z.boolean().default(false), raw.scale ?? false, 'scale'),
      raw,
    };
    const scaler = config.scale ? loadScaler(yml, scaledColumns(config.info, yml)) : undefined;
    const session = await rt.loadSession(sub.resolved);
    const inputNames = Object.keys(config.inputShapes).sort();
    const missing = inputNames.filter((name) => !session.inputNames.includes(name));
    if (missing.length) {
      throw yml.error(
        'input_data',
        `names inputs ${missing.join(', ')} that the ONNX model does not have (it has ${session.inputNames.join(', ')})`,
      );
    }
    return new TimeSeriesModel(config, yml, session, scaler, inputNames);
  }

  /** `size.<key>` of inference.yml, a positive integer. */
  sizeOf(key: string): number {
    const size = this.yml.parse(z.record(z.string(), z.unknown()).default({}), this.config.raw.size ?? {}, 'size');
    return this.yml.parse(z.number().int().nonnegative(), size[key], `size.${key}`);
  }

  /** The length an input declares in `input_data` (its second dimension). */
  inputLength(name: string): number {
    const length = this.config.inputShapes[name]?.[1];
    if (typeof length !== 'number') throw this.yml.error(`input_data.${name}`, 'expected a fixed length as its second dimension');
    return length;
  }

  /** Forecast and anomaly models read one window: `input` must be their only input, as long as size.in_chunk_len (returned). */
  windowLength(input: string): number {
    const inputs = Object.keys(this.config.inputShapes);
    if (inputs.length !== 1 || inputs[0] !== input) {
      throw this.yml.error(
        'input_data',
        `expected only ${input} (covariates and time features are not supported), got ${inputs.join(', ')}`,
      );
    }
    const length = this.sizeOf('in_chunk_len');
    if (this.inputLength(input) !== length) throw this.yml.error(`input_data.${input}`, `length differs from size.in_chunk_len ${length}`);
    return length;
  }

  normalize(columns: Float64Array[]): Float64Array[] {
    return this.scaler ? this.scaler.transform(columns) : columns;
  }

  denormalizeFloat32(columns: Float32Array[]): Float32Array[] {
    return this.scaler ? this.scaler.inverseTransformFloat32(columns) : columns;
  }

  /** One session run on a batch of one; returns the outputs by position as [rows, channels] float32 data. */
  async run(
    inputs: Record<string, { data: Float32Array; dims: number[] }>,
  ): Promise<Array<{ data: Float32Array; dims: readonly number[] }>> {
    const feeds = Object.fromEntries(
      this.inputNames.map((name) => [name, new ort.Tensor('float32', inputs[name]!.data, inputs[name]!.dims)]),
    );
    const outputs = await this.session.run(feeds);
    return this.session.outputNames.map((name) => {
      const tensor = outputs[name]!;
      return { data: tensor.data as Float32Array, dims: tensor.dims };
    });
  }

  /** The rows of `table` from `firstRow` on (PaddleX's cut-off to the last `in_chunk_len` rows). */
  lastRows(table: CsvTable, count: number): TableSlice {
    if (table.rows.length < count) {
      throw invalidInput(
        `${CSV_FIELD}: the CSV has ${table.rows.length} data rows; the model reads the last ${count}, so it needs at least ${count}`,
      );
    }
    const firstRow = table.rows.length - count;
    return { table: { columns: table.columns, rows: table.rows.slice(firstRow) }, firstRow };
  }

  /**
   * The time index and `valueCols` of a slice, as PaddleX's `load_from_dataframe`: an integer time
   * column becomes a RangeIndex (step `freq`, default 1) that must span exactly the rows, and the rows
   * keep their CSV order under it (pandas labels them, it does not sort them); date-times are parsed
   * and the rows sorted by time.
   */
  readSeries({ table, firstRow }: TableSlice, valueCols: string[], role: string): Series {
    const { time_col: timeCol, freq } = this.config.info;
    const at = columnIndex(table, timeCol, CSV_FIELD, 'time_col');
    const line = (row: number) => csvLine(firstRow + row);
    const values = valueCols.map((name) => numericColumn(table, name, CSV_FIELD, role, firstRow));
    if (isIntegerColumn(table, at) && typeof freq !== 'string') {
      const step = freq ?? 1;
      const cells = table.rows.map((row) => Number(row[at]));
      const min = Math.min(...cells);
      const max = Math.max(...cells);
      if ((max + step - min) / step !== cells.length) {
        throw invalidInput(
          `${CSV_FIELD}: column "${timeCol}" runs from ${min} to ${max} in ${cells.length} rows; ` +
            `an integer time column must hold consecutive steps of ${step} (one row per step)`,
        );
      }
      return { axis: { kind: 'integer', values: cells.map((_, i) => min + i * step) }, columns: values };
    }
    const ms = table.rows.map((row, i) => {
      const cell = (row[at] ?? '').trim();
      const time = parseDateTime(cell);
      if (time === undefined) {
        throw invalidInput(
          `${CSV_FIELD}: column "${timeCol}", line ${line(i)}: "${cell.slice(0, 40)}" is not a date-time (expected e.g. 2024-01-31 or 2024-01-31 12:00:00)`,
        );
      }
      return time;
    });
    const order = ms.map((_, i) => i).sort((a, b) => ms[a]! - ms[b]!);
    return {
      axis: { kind: 'datetime', ms: order.map((i) => ms[i]!) },
      columns: values.map((column) => Float64Array.from(order, (i) => column[i]!)),
    };
  }
}

/** Columns `[C][L]` as one float32 `[L, C]` row-major block (TStoArray). */
export function toTimeMajor(columns: Float64Array[]): Float32Array {
  const length = columns[0]?.length ?? 0;
  const out = new Float32Array(length * columns.length);
  columns.forEach((column, c) => {
    column.forEach((x, t) => {
      out[t * columns.length + c] = x;
    });
  });
  return out;
}

/** A `[L, C]` row-major block split into its C columns. */
export function toColumns(data: Float32Array, length: number, channels: number): Float32Array[] {
  return Array.from({ length: channels }, (_, c) => Float32Array.from({ length }, (_, t) => data[t * channels + c]!));
}

/** `target_cols` (or `feature_cols`) of info_params, required. */
export function requiredColumns(info: InfoParams, key: 'target_cols' | 'feature_cols', yml: InferenceConfigReader): string[] {
  const columns = info[key];
  if (!columns) throw yml.error(`info_params.${key}`, 'missing (the columns the model reads)');
  return columns;
}
