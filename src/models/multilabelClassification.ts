import { z } from 'zod';
import type { InferenceSession } from 'onnxruntime-node';
import type { ResolvedSubModule } from '../config/models.js';
import { invalidInput } from '../errors.js';
import type { RgbImage } from '../io/image.js';
import type { RuntimeContext } from '../runtime/context.js';
import { batchSizeOf, classifierRows, InferenceConfigReader, runInBatches } from './common.js';
import type { Classification } from './imageClassification.js';
import { PaddleClasPreprocess } from './paddleClasPreprocess.js';

/**
 * PaddleX's multi-label threshold: one number for every class, `{default, <class id>: number}`
 * (ids as numbers or digit strings), or one number per class.
 */
export type MultiLabelThreshold = number | Record<string, number> | number[];

const threshOutputParams = z.object({
  // keys are checked against the class count by perClassThresholds
  threshold: z.union([z.number(), z.record(z.string(), z.number()), z.array(z.number())]).nullish(),
  label_list: z.array(z.union([z.string(), z.number()]).transform(String)).nullish(),
});

/**
 * The threshold of every class, as PaddleX's MultiLabelThreshOutput expands it. Its errors (which
 * PaddleX raises as exceptions) are 422s: they come from the request or a YAML the request did not override.
 */
export function perClassThresholds(threshold: MultiLabelThreshold, classes: number, field = 'threshold'): number[] {
  if (typeof threshold === 'number') return new Array<number>(classes).fill(threshold);
  if (Array.isArray(threshold)) {
    if (threshold.length !== classes) {
      throw invalidInput(`${field}: a list needs one value per class (${classes}), got ${threshold.length}`);
    }
    return threshold;
  }
  const { default: fallback, ...perClass } = threshold;
  if (fallback === undefined) throw invalidInput(`${field}: a per-class map needs a "default" entry for the other classes`);
  const thresholds = new Array<number>(classes).fill(fallback);
  for (const [key, value] of Object.entries(perClass)) {
    const id = Number(key);
    if (!Number.isInteger(id) || id < 0 || id >= classes) {
      throw invalidInput(`${field}: class id ${key} is not one of the model's ${classes} classes (0-${classes - 1})`);
    }
    thresholds[id] = value;
  }
  return thresholds;
}

/** 5 decimals, as PaddleX reports scores (np.around). */
const roundScore = (value: number) => Math.round(value * 1e5) / 1e5;

/**
 * PaddleClas multi-label classifier, run as PaddleX's MLClasPredictor runs it: PaddleClas
 * pre-processing, sigmoid scores `[N, classes]`, then `PostProcess.MultiLabelThreshOutput`
 * (`threshold`, `label_list`). PaddleX uses it for the modules `image_multilabel_classification`
 * (e.g. PP-HGNetV2-B6_ML) and `pedestrian_attribute_recognition` / `vehicle_attribute_recognition`
 * (PP-LCNet_x1_0_pedestrian_attribute, ..._vehicle_attribute).
 */
export class MultiLabelClassifier {
  private constructor(
    private readonly session: InferenceSession,
    private readonly preprocess: PaddleClasPreprocess,
    private readonly batchSize: number,
    private readonly labels: string[] | undefined,
    /** MultiLabelThreshOutput.threshold of inference.yml */
    readonly defaultThreshold: MultiLabelThreshold,
  ) {}

  static async load(sub: ResolvedSubModule, rt: RuntimeContext, keyPath: string): Promise<MultiLabelClassifier> {
    const yml = new InferenceConfigReader(sub, keyPath);
    const preprocess = PaddleClasPreprocess.fromConfig(yml);
    const post: unknown = yml.config.PostProcess;
    if (!post || typeof post !== 'object' || !('MultiLabelThreshOutput' in post)) {
      throw yml.error('PostProcess', 'missing MultiLabelThreshOutput (the post-process of PaddleX multi-label classifiers)');
    }
    const params = yml.parse(threshOutputParams, post.MultiLabelThreshOutput, 'PostProcess.MultiLabelThreshOutput');
    if (params.threshold == null) throw yml.error('PostProcess.MultiLabelThreshOutput.threshold', 'missing (PaddleX requires it)');
    const session = await rt.loadSession(sub.resolved);
    return new MultiLabelClassifier(session, preprocess, batchSizeOf(sub, session), params.label_list ?? undefined, params.threshold);
  }

  /** Classes scoring above their threshold, highest score first. `field` names the threshold in errors. */
  async predict(images: RgbImage[], opts: { threshold?: MultiLabelThreshold | null; field?: string } = {}): Promise<Classification[]> {
    const threshold = opts.threshold ?? this.defaultThreshold;
    return runInBatches(images, this.batchSize, {
      prepare: (img) => this.preprocess.resizeAndCrop(img),
      shapeOf: (img) => `${img.width}x${img.height}`,
      run: async (batch) => {
        const rows = await classifierRows(this.session, this.preprocess.toTensor(batch), 'multi-label classification', this.labels?.length);
        return rows.map((row) => {
          const thresholds = perClassThresholds(threshold, row.length, opts.field);
          const classIds = Array.from(row.keys())
            .filter((id) => row[id]! > thresholds[id]!)
            .sort((a, b) => row[b]! - row[a]! || a - b);
          return {
            classIds,
            scores: classIds.map((id) => roundScore(row[id]!)),
            labelNames: classIds.map((id) => this.labels?.[id] ?? String(id)),
          };
        });
      },
    });
  }
}
