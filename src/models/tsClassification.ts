/** PaddleX `ts_classification` (PaddleTS classification exports such as TimesNet_cls) on an ONNX session. */
import type { ResolvedSubModule } from '../config/models.js';
import { invalidInput } from '../errors.js';
import { type CsvTable, columnIndex } from '../io/csv.js';
import type { RuntimeContext } from '../runtime/context.js';
import { CSV_FIELD, requiredColumns, type Series, TimeSeriesModel, toTimeMajor } from './timeSeries.js';

const FEATURES = 'features';
const PAD_MASK = 'pad_mask';

export interface SeriesClassification {
  classId: number;
  /** softmax probability of classId */
  score: number;
  /** the classified rows (raw target values), for the plot */
  series: Series;
  targets: string[];
  tensors: { features: Float32Array; padMask: Float32Array; logits: Float32Array };
}

export class TimeSeriesClassifier {
  private constructor(
    private readonly model: TimeSeriesModel,
    private readonly targets: string[],
    private readonly length: number,
  ) {}

  static async load(sub: ResolvedSubModule, rt: RuntimeContext, keyPath: string): Promise<TimeSeriesClassifier> {
    const model = await TimeSeriesModel.open(sub, rt, keyPath, 'classification', (info, yml) => requiredColumns(info, 'target_cols', yml));
    const { yml } = model;
    const inputs = Object.keys(model.config.inputShapes).sort();
    if (inputs.join() !== [FEATURES, PAD_MASK].join())
      throw yml.error('input_data', `expected ${FEATURES} and ${PAD_MASK}, got ${inputs.join(', ')}`);
    const length = model.inputLength(FEATURES);
    if (model.inputLength(PAD_MASK) !== length) throw yml.error(`input_data.${PAD_MASK}`, `length differs from ${FEATURES}' ${length}`);
    return new TimeSeriesClassifier(model, requiredColumns(model.config.info, 'target_cols', yml), length);
  }

  /** The first group's rows (when info_params.group_id is set), as PaddleX classifies only that one; `what` names them in errors. */
  private firstGroup(table: CsvTable): { group: CsvTable; what: string } {
    const groupId = this.model.config.info.group_id;
    if (!groupId) return { group: table, what: 'the CSV' };
    const at = columnIndex(table, groupId, CSV_FIELD, 'group_id');
    const first = table.rows[0]?.[at];
    return {
      group: { columns: table.columns, rows: table.rows.filter((row) => row[at] === first) },
      what: `its first group (${groupId} = ${first})`,
    };
  }

  /** Normalise → features [1, L, C] and an all-ones pad_mask [1, L] → softmax → argmax. */
  async predict(table: CsvTable): Promise<SeriesClassification> {
    const { model, targets, length } = this;
    const { group, what } = this.firstGroup(table);
    if (group.rows.length !== length) {
      throw invalidInput(`${CSV_FIELD}: the model classifies series of exactly ${length} rows; ${what} has ${group.rows.length}`);
    }
    const series = model.readSeries({ table: group, firstRow: 0 }, targets, 'target_cols');
    const features = toTimeMajor(model.normalize(series.columns));
    const padMask = new Float32Array(length).fill(1);
    const [output] = await model.run({
      [FEATURES]: { data: features, dims: [1, length, targets.length] },
      [PAD_MASK]: { data: padMask, dims: [1, length] },
    });
    if (output?.dims.length !== 2 || output.dims[0] !== 1)
      throw new Error(`classification model output [${output?.dims.join(', ')}] is not [1, classes]`);
    const logits = output.data;
    const max = Math.max(...logits);
    const exps = Array.from(logits, (x) => Math.exp(x - max));
    const total = exps.reduce((a, b) => a + b, 0);
    const classId = exps.indexOf(Math.max(...exps));
    return { classId, score: Math.fround(exps[classId]! / total), series, targets, tensors: { features, padMask, logits } };
  }
}
