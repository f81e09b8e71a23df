/** Worker side of the single-detector pipelines (see detection.ts). */
import { readParam } from '../../config/pipelineConfig.js';
import { decodeImage } from '../../io/codec.js';
import { loadModel } from '../../models/registry.js';
import { defineWorker, type OpsOf } from '../define.js';
import type { Box, DetectionThreshold, RotatedBox } from '../../models/objectDetection.js';
import { thresholdSchema, toThreshold } from './detection.js';
import { drawDetections } from './drawDetections.js';

export interface DetectionTask {
  /** encoded image bytes */
  image: Uint8Array;
  threshold?: DetectionThreshold | null;
  visualize: boolean;
}

export interface DetectedObjectResult {
  bbox: Box | RotatedBox;
  categoryId: number;
  categoryName: string;
  score: number;
}

export interface DetectionTaskResult {
  detectedObjects: DetectedObjectResult[];
  /** JPEG, when visualizing */
  image?: Uint8Array;
}

/** The worker module of a detection pipeline whose detector is `SubModules.<role>` (a rotated detector when `rotated`). */
export function detectionWorker(role: string, { rotated = false } = {}) {
  return defineWorker(async (config, rt) => {
    const keyPath = `SubModules.${role}`;
    const detector = await loadModel(config, role, 'object_detection', rt);
    // PaddleX: request threshold, else the sub-module's `threshold`, else draw_threshold of inference.yml.
    const yamlThreshold = readParam(config.SubModules![role]!, 'threshold', thresholdSchema.optional(), keyPath, undefined);
    const defaultThreshold = yamlThreshold === undefined ? undefined : toThreshold(yamlThreshold);
    return {
      async predict({ image, threshold, visualize }: DetectionTask): Promise<DetectionTaskResult> {
        const img = await decodeImage(image, 'image');
        const opts = { threshold: threshold ?? defaultThreshold };
        const [objects] = rotated ? await detector.predictRotated([img], opts) : await detector.predict([img], opts);
        const detectedObjects = objects!.map((o) => ({ bbox: o.coordinate, categoryId: o.clsId, categoryName: o.label, score: o.score }));
        return visualize ? { detectedObjects, image: await drawDetections(img, detectedObjects) } : { detectedObjects };
      },
    };
  });
}

export type DetectionOps = OpsOf<ReturnType<typeof detectionWorker>>;
