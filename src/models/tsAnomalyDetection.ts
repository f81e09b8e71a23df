/** PaddleX `ts_anomaly_detection` (PaddleTS anomaly exports such as DLinear_ad) on an ONNX session. */
import { z } from 'zod';
import type { ResolvedSubModule } from '../config/models.js';
import type { CsvTable } from '../io/csv.js';
import type { RuntimeContext } from '../runtime/context.js';
import { requiredColumns, type Series, type TimeAxis, TimeSeriesModel, toTimeMajor } from './timeSeries.js';

const INPUT = 'observed_cov_numeric';

export interface AnomalyDetection {
  timeCol: string;
  /** feature_cols, the columns of `series` */
  featureNames: string[];
  axis: TimeAxis;
  /** 1 where the step's score reaches model_threshold */
  labels: Uint8Array;
  /** per step: mean over channels of the squared reconstruction error (normalised units) */
  scores: Float64Array;
  /** the rows that were scored (raw feature values), for the plot */
  series: Series;
  tensors: { input: Float32Array; output: Float32Array };
}

export class TimeSeriesAnomalyDetector {
  private constructor(
    private readonly model: TimeSeriesModel,
    private readonly features: string[],
    private readonly length: number,
    private readonly threshold: number,
  ) {}

  static async load(sub: ResolvedSubModule, rt: RuntimeContext, keyPath: string): Promise<TimeSeriesAnomalyDetector> {
    const model = await TimeSeriesModel.open(sub, rt, keyPath, 'anomaly', (info, yml) => requiredColumns(info, 'feature_cols', yml));
    const { yml } = model;
    const features = requiredColumns(model.config.info, 'feature_cols', yml);
    const length = model.windowLength(INPUT);
    const threshold = yml.parse(z.number(), model.config.raw.model_threshold, 'model_threshold');
    return new TimeSeriesAnomalyDetector(model, features, length, threshold);
  }

  /** Last in_chunk_len rows → normalise → reconstruct → score = mean squared error over channels → label = score >= threshold. */
  async predict(table: CsvTable): Promise<AnomalyDetection> {
    const { model, features, length, threshold } = this;
    const series = model.readSeries(model.lastRows(table, length), features, 'feature_cols');
    const normalized = model.normalize(series.columns);
    const input = toTimeMajor(normalized);
    const [output] = await model.run({ [INPUT]: { data: input, dims: [1, length, features.length] } });
    if (!output || output.data.length !== length * features.length) {
      throw new Error(`anomaly model output [${output?.dims.join(', ')}] is not [1, ${length}, ${features.length}]`);
    }
    // PaddleX subtracts the float64 normalised frame from the float32 reconstruction: float64 scores
    const scores = Float64Array.from({ length }, (_, t) => {
      let sum = 0;
      normalized.forEach((column, c) => {
        sum += (output.data[t * features.length + c]! - column[t]!) ** 2;
      });
      return sum / features.length;
    });
    const labels = Uint8Array.from(scores, (score) => (score >= threshold ? 1 : 0));
    return {
      timeCol: model.config.info.time_col,
      featureNames: features,
      axis: series.axis,
      labels,
      scores,
      series,
      tensors: { input, output: output.data },
    };
  }
}
