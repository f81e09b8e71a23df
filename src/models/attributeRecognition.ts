/**
 * Pedestrian / vehicle attribute models (PP-LCNet_x1_0_pedestrian_attribute, ..._vehicle_attribute):
 * PaddleClas exports that PaddleX runs with its multi-label classification predictor (MLClasPredictor):
 * PaddleClas pre-processing, one sigmoid score per attribute, `MultiLabelThreshOutput`.
 */
import { z } from 'zod';
import type { InferenceSession } from 'onnxruntime-node';
import type { ResolvedSubModule } from '../config/models.js';
import { invalidInput } from '../errors.js';
import type { RgbImage } from '../io/image.js';
import type { RuntimeContext } from '../runtime/context.js';
import { batchSizeOf, classifierRows, InferenceConfigReader, runInBatches } from './common.js';
import { PaddleClasPreprocess } from './paddleClasPreprocess.js';

/**
 * A score threshold for every class, a map with a required `default` and per-class-id overrides, or
 * one value per class: the three forms of PaddleX's MultiLabelThreshOutput.
 */
export type MultiLabelThreshold = number | ({ default: number } & Record<number, number>) | number[];

export interface AttributeResult {
  classIds: number[];
  /** rounded to 5 decimals, as PaddleX reports them */
  scores: number[];
  labelNames: string[];
}

const threshOutputParams = z.object({
  threshold: z.number().nullish(),
  label_list: z.array(z.union([z.string(), z.number()]).transform(String)).nullish(),
});

interface AttributeConfig {
  preprocess: PaddleClasPreprocess;
  labels?: string[];
  threshold: number;
}

function parseAttributeConfig(yml: InferenceConfigReader): AttributeConfig {
  const preprocess = PaddleClasPreprocess.fromConfig(yml);
  const post: unknown = yml.config.PostProcess;
  if (!post || typeof post !== 'object' || !('MultiLabelThreshOutput' in post)) {
    throw yml.error('PostProcess', 'no MultiLabelThreshOutput entry (PaddleX runs attribute models as multi-label classifiers)');
  }
  const params = yml.parse(
    threshOutputParams,
    (post as Record<string, unknown>).MultiLabelThreshOutput,
    'PostProcess.MultiLabelThreshOutput',
  );
  return { preprocess, labels: params.label_list ?? undefined, threshold: params.threshold ?? 0.5 };
}

/** 5 decimals, as np.around(..., decimals=5) in MultiLabelThreshOutput. */
function roundScore(value: number): number {
  return Math.round(value * 1e5) / 1e5;
}

/**
 * One threshold per class. A map needs `default` and class ids below `classes`; a list needs one
 * value per class (PaddleX asserts both; here they are the client's 422).
 */
export function thresholdPerClass(threshold: MultiLabelThreshold, classes: number, field: string): number[] {
  if (typeof threshold === 'number') return new Array<number>(classes).fill(threshold);
  if (Array.isArray(threshold)) {
    if (threshold.length !== classes) {
      throw invalidInput(`${field}: ${threshold.length} thresholds given; the model has ${classes} classes, one value per class is needed`);
    }
    return threshold;
  }
  if (typeof threshold.default !== 'number') {
    throw invalidInput(`${field}: a per-class map needs a "default" threshold for the classes it does not list`);
  }
  const perClass = new Array<number>(classes).fill(threshold.default);
  for (const [key, value] of Object.entries(threshold)) {
    if (key === 'default') continue;
    const classId = Number(key);
    if (!(classId < classes)) throw invalidInput(`${field}: class id ${key} is not below the model's ${classes} classes`);
    perClass[classId] = value;
  }
  return perClass;
}

/** PaddleX module `pedestrian_attribute_recognition` / `vehicle_attribute_recognition` on an ONNX session. */
export class AttributeClassifier {
  private constructor(
    private readonly session: InferenceSession,
    private readonly config: AttributeConfig,
    private readonly batchSize: number,
  ) {}

  static async load(sub: ResolvedSubModule, rt: RuntimeContext, keyPath: string): Promise<AttributeClassifier> {
    const config = parseAttributeConfig(new InferenceConfigReader(sub, keyPath));
    const session = await rt.loadSession(sub.resolved);
    return new AttributeClassifier(session, config, batchSizeOf(sub, session));
  }

  /**
   * The attributes whose score exceeds their class threshold (`inference.yml` MultiLabelThreshOutput
   * threshold when none is given), highest score first. `field` names the threshold in errors.
   */
  async predict(images: RgbImage[], opts: { threshold?: MultiLabelThreshold | null; field?: string } = {}): Promise<AttributeResult[]> {
    const { preprocess, labels } = this.config;
    const threshold = opts.threshold ?? this.config.threshold;
    return runInBatches(images, this.batchSize, {
      prepare: (img) => preprocess.resizeAndCrop(img),
      shapeOf: (img) => `${img.width}x${img.height}`,
      run: async (batch) => {
        const rows = await classifierRows(this.session, preprocess.toTensor(batch), 'attribute recognition', labels?.length);
        return rows.map((row) => {
          const perClass = thresholdPerClass(threshold, row.length, opts.field ?? 'threshold');
          // PaddleX: the classes above their threshold, by descending score.
          const classIds = Array.from(row.keys())
            .filter((id) => row[id]! > perClass[id]!)
            .sort((a, b) => row[b]! - row[a]!);
          return {
            classIds,
            scores: classIds.map((id) => roundScore(row[id]!)),
            labelNames: classIds.map((id) => labels?.[id] ?? String(id)),
          };
        });
      },
    });
  }
}
