import { detectionPipeline } from '../shared/detection.js';

/** PaddleX `small_object_detection`: POST /small-object-detection, same shape as object detection. */
export const smallObjectDetectionPipeline = detectionPipeline({
  pipelineName: 'small_object_detection',
  path: '/small-object-detection',
  summary: 'Detect small objects in an image',
  worker: new URL('./worker.js', import.meta.url).href,
});
