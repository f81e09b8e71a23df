import { z } from 'zod';
import { readParam } from '../../config/pipelineConfig.js';
import { decodeImage } from '../../io/codec.js';
import type { GroundedBox } from '../../models/openVocabularyDetection.js';
import { loadModel } from '../../models/registry.js';
import { defineWorker } from '../define.js';
import { drawDetections } from '../shared/drawDetections.js';

const ROLE = 'OpenVocabularyDetection';

export interface OpenVocabularyDetectionTask {
  /** encoded image bytes */
  image: Uint8Array;
  prompt: string;
  /** `thresholds` of the request (box_threshold, text_threshold; other names are ignored, as PaddleX) */
  thresholds?: Record<string, number> | null;
  visualize: boolean;
}

export interface OpenVocabularyDetectionResult {
  detectedObjects: Array<{ bbox: [number, number, number, number]; categoryName: string; score: number }>;
  /** JPEG, when visualizing */
  image?: Uint8Array;
}

/** PaddleX's DetResult colours boxes by label, each new label taking the next colour. */
function drawGrounded(img: Parameters<typeof drawDetections>[0], boxes: GroundedBox[]): Promise<Uint8Array> {
  const labels: string[] = [];
  return drawDetections(
    img,
    boxes.map(({ coordinate, label, score }) => {
      if (!labels.includes(label)) labels.push(label);
      return { bbox: coordinate, categoryId: labels.indexOf(label), categoryName: label, score };
    }),
  );
}

const worker = defineWorker(async (config, rt) => {
  const detector = await loadModel(config, ROLE, 'open_vocabulary_detection', rt);
  // The sub-module's `thresholds` (PaddleX keeps them but never applies them: see the README) sit
  // between the request's and the model's inference.yml values.
  const yamlThresholds = readParam<Record<string, number | null>>(
    config.SubModules![ROLE]!,
    'thresholds',
    z.record(z.string(), z.number().nullable()),
    `SubModules.${ROLE}`,
    {},
  );
  return {
    async predict({ image, prompt, thresholds, visualize }: OpenVocabularyDetectionTask): Promise<OpenVocabularyDetectionResult> {
      const img = await decodeImage(image, 'image');
      const merged = { ...yamlThresholds, ...thresholds };
      const boxes = await detector.predict(img, prompt, { box_threshold: merged.box_threshold, text_threshold: merged.text_threshold });
      const detectedObjects = boxes.map(({ coordinate, label, score }) => ({ bbox: coordinate, categoryName: label, score }));
      return visualize ? { detectedObjects, image: await drawGrounded(img, boxes) } : { detectedObjects };
    },
  };
});
export default worker;
