/** Worker side of the attribute recognition pipelines (see attributes.ts). */
import type { z } from 'zod';
import { readParam } from '../../config/pipelineConfig.js';
import { decodeImage } from '../../io/codec.js';
import type { RgbImage } from '../../io/image.js';
import type { MultiLabelThreshold } from '../../models/multilabelClassification.js';
import type { Box, DetectionThreshold } from '../../models/objectDetection.js';
import { loadModel } from '../../models/registry.js';
import { cropImage } from '../../ops/resize.js';
import { defineWorker, type OpsOf } from '../define.js';
import { multiLabelThresholdSchema, toMultiLabelThreshold } from './attributes.js';
import { thresholdSchema, toThreshold } from './detection.js';
import { drawAttributes } from './drawAttributes.js';

const DETECTION = 'Detection';
const CLASSIFICATION = 'Classification';

export interface AttributeTask {
  /** encoded image bytes */
  image: Uint8Array;
  detThreshold?: number | null;
  clsThreshold?: MultiLabelThreshold | null;
  visualize: boolean;
}

export interface RecognizedObject {
  bbox: Box;
  attributes: Array<{ label: string; score: number }>;
  /** detection score */
  score: number;
}

export interface AttributeTaskResult {
  objects: RecognizedObject[];
  /** JPEG, when visualizing */
  image?: Uint8Array;
}

/** PaddleX's CropByBoxes: coordinates truncated to integers, img[ymin:ymax, xmin:xmax]. */
function cropBox(img: RgbImage, [x1, y1, x2, y2]: Box): RgbImage | undefined {
  const [left, top] = [Math.trunc(x1), Math.trunc(y1)];
  const [width, height] = [Math.trunc(x2) - left, Math.trunc(y2) - top];
  return width > 0 && height > 0 ? cropImage(img, left, top, width, height) : undefined;
}

const worker = defineWorker(async (config, rt) => {
  const detector = await loadModel(config, DETECTION, 'object_detection', rt);
  const classifier = await loadModel(config, CLASSIFICATION, 'image_multilabel_classification', rt);
  // PaddleX: the sub-modules' `threshold`, 0.5 (detection) and 0.7 (attributes) when the key is absent,
  // the model's own default (inference.yml) when it is null; the request's win.
  const yamlThreshold = <T>(role: string, schema: z.ZodType<T>, absent: T): T | undefined =>
    config.SubModules![role]!.threshold === undefined
      ? absent
      : readParam<T | undefined>(config.SubModules![role]!, 'threshold', schema, `SubModules.${role}`, undefined);
  const yamlDet = yamlThreshold(DETECTION, thresholdSchema, 0.5);
  const defaultDetThreshold: DetectionThreshold | undefined = yamlDet === undefined ? undefined : toThreshold(yamlDet);
  const yamlCls = yamlThreshold(CLASSIFICATION, multiLabelThresholdSchema, 0.7);
  const defaultClsThreshold = yamlCls === undefined ? undefined : toMultiLabelThreshold(yamlCls);
  return {
    async predict({ image, detThreshold, clsThreshold, visualize }: AttributeTask): Promise<AttributeTaskResult> {
      const img = await decodeImage(image, 'image');
      const [detections] = await detector.predict([img], { threshold: detThreshold ?? defaultDetThreshold });
      const crops = detections!.map((d) => cropBox(img, d.coordinate));
      const cropped = crops.filter((c): c is RgbImage => c !== undefined);
      const classified = await classifier.predict(cropped, { threshold: clsThreshold ?? defaultClsThreshold, field: 'clsThreshold' });
      let next = 0;
      const objects = detections!.map((d, i) => {
        // a box thinner than a pixel has no crop to classify, hence no attributes
        const found = crops[i] ? classified[next++]! : { labelNames: [], scores: [] };
        return {
          bbox: d.coordinate,
          attributes: found.labelNames.map((label, k) => ({ label, score: found.scores[k]! })),
          score: d.score,
        };
      });
      return visualize ? { objects, image: await drawAttributes(img, objects) } : { objects };
    },
  };
});
export default worker;

export type AttributeOps = OpsOf<typeof worker>;
