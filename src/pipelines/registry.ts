/**
 * Every pipeline this server can run, by the `pipeline_name` of its YAML: one line per pipeline.
 * Only descriptors are imported here (HTTP side); their worker modules load inside the workers.
 */
import { ConfigError } from '../errors.js';
import type { PipelineDescriptor } from './define.js';
import { imageClassificationPipeline } from './image_classification/pipeline.js';
import { objectDetectionPipeline } from './object_detection/pipeline.js';
import { ocrPipeline } from './ocr/pipeline.js';
import { smallObjectDetectionPipeline } from './small_object_detection/pipeline.js';
import { ppShiTuV2Pipeline } from './pp_shituv2/pipeline.js';
import { faceRecognitionPipeline } from './face_recognition/pipeline.js';

export const PIPELINES: readonly PipelineDescriptor[] = [
  imageClassificationPipeline,
  objectDetectionPipeline,
  smallObjectDetectionPipeline,
  ocrPipeline,
  ppShiTuV2Pipeline,
  faceRecognitionPipeline,
];

export function pipelineDescriptor(pipelineName: string): PipelineDescriptor {
  const found = PIPELINES.find((p) => p.pipelineName === pipelineName);
  if (!found) {
    throw new ConfigError(
      `pipeline_name: "${pipelineName}" is not a pipeline this server implements (${PIPELINES.map((p) => p.pipelineName).join(', ')})`,
    );
  }
  return found;
}
