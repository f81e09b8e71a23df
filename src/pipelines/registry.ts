import { ConfigError } from '../errors.js';
import { imageClassificationPipeline } from './imageClassification.js';
import { objectDetectionPipeline, smallObjectDetectionPipeline } from './objectDetection.js';
import { ocrPipeline } from './ocr.js';
import type { PipelineDefinition } from './types.js';

/** Every pipeline this server can run, by the `pipeline_name` of its YAML. */
const PIPELINES: PipelineDefinition[] = [
  imageClassificationPipeline,
  objectDetectionPipeline,
  smallObjectDetectionPipeline,
  ocrPipeline,
];

export function pipelineDefinition(pipelineName: string): PipelineDefinition {
  const found = PIPELINES.find((p) => p.pipelineName === pipelineName);
  if (!found) {
    throw new ConfigError(
      `pipeline_name: "${pipelineName}" is not a pipeline this server implements (${PIPELINES.map((p) => p.pipelineName).join(', ')})`,
    );
  }
  return found;
}
