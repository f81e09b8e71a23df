import { detectionPipeline } from '../shared/detection.js';

/** PaddleX `rotated_object_detection`: POST /rotated-object-detection, 8-point boxes. */
export const rotatedObjectDetectionPipeline = detectionPipeline({
  pipelineName: 'rotated_object_detection',
  path: '/rotated-object-detection',
  summary: 'Detect rotated objects in an image',
  worker: new URL('./worker.js', import.meta.url).href,
  rotated: true,
});
