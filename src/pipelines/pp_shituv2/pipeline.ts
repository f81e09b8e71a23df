import { recognitionPipeline } from '../shared/imageRecognition.js';

/** PaddleX `PP-ShiTuV2`: general image recognition (main-body detection + feature + index). */
export const ppShiTuV2Pipeline = recognitionPipeline({
  pipelineName: 'PP-ShiTuV2',
  prefix: '/shitu',
  objectsField: 'detectedObjects',
  what: 'objects',
  worker: new URL('./worker.js', import.meta.url).href,
});
