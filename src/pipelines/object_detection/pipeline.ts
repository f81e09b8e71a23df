import { detectionPipeline } from '../shared/detection.js';

/** PaddleX `object_detection`: POST /object-detection. */
export const objectDetectionPipeline = detectionPipeline({
  pipelineName: 'object_detection',
  path: '/object-detection',
  summary: 'Detect objects in an image',
  worker: new URL('./worker.js', import.meta.url).href,
});
