import { readParam } from '../../config/pipelineConfig.js';
import { ConfigError } from '../../errors.js';
import { decodeImage } from '../../io/codec.js';
import type { PersonBox } from '../../models/keypointDetection.js';
import type { Box } from '../../models/objectDetection.js';
import { loadModel } from '../../models/registry.js';
import type { Point } from '../../ops/topDownAffine.js';
import { defineWorker } from '../define.js';
import { thresholdSchema, toThreshold } from '../shared/detection.js';
import { drawKeypoints } from './draw.js';

const DETECTION = 'ObjectDetection';
const KEYPOINTS = 'KeypointDetection';

export interface KeypointTask {
  /** encoded image bytes */
  image: Uint8Array;
  detThreshold?: number | null;
  visualize: boolean;
}

export interface Person {
  bbox: Box;
  kpts: Array<[number, number, number]>;
  detScore: number;
  kptScore: number;
}

export interface KeypointTaskResult {
  persons: Person[];
  /** JPEG, when visualizing */
  image?: Uint8Array;
}

/** PaddleX's _box_xyxy2cs: the box centre, and its size grown to the model's aspect ratio, padded by 1.25. */
export function personBox([x1, y1, x2, y2]: Box, [inputWidth, inputHeight]: Point, padding = 1.25): PersonBox {
  const aspect = inputWidth / inputHeight;
  let [w, h] = [x2 - x1, y2 - y1];
  if (w > aspect * h) h = w / aspect;
  else if (w < aspect * h) w = h * aspect;
  return { center: [(x1 + x2) / 2, (y1 + y2) / 2], scale: [w * padding, h * padding] };
}

const worker = defineWorker(async (config, rt) => {
  const detectorConfig = config.SubModules![DETECTION]!;
  if (detectorConfig.img_size != null) {
    throw new ConfigError(`SubModules.${DETECTION}.img_size: resizing the detector input is not supported; leave it null`);
  }
  const detector = await loadModel(config, DETECTION, 'object_detection', rt);
  const keypointer = await loadModel(config, KEYPOINTS, 'keypoint_detection', rt);
  // PaddleX: request detThreshold, else the sub-module's `threshold`, else draw_threshold of inference.yml.
  const yamlThreshold = readParam(detectorConfig, 'threshold', thresholdSchema.optional(), `SubModules.${DETECTION}`, undefined);
  const defaultThreshold = yamlThreshold === undefined ? undefined : toThreshold(yamlThreshold);
  return {
    async predict({ image, detThreshold, visualize }: KeypointTask): Promise<KeypointTaskResult> {
      const img = await decodeImage(image, 'image');
      const [detections] = await detector.predict([img], { threshold: detThreshold ?? defaultThreshold });
      const found = await keypointer.predict(
        img,
        detections!.map((d) => personBox(d.coordinate, keypointer.inputSize)),
      );
      const persons = detections!.map((d, i) => ({
        bbox: d.coordinate,
        kpts: found[i]!.keypoints,
        detScore: d.score,
        kptScore: found[i]!.kptScore,
      }));
      return visualize ? { persons, image: await drawKeypoints(img, persons) } : { persons };
    },
  };
});
export default worker;
