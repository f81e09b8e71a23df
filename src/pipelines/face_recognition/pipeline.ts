import { recognitionPipeline } from '../shared/imageRecognition.js';

/** PaddleX `face_recognition`: face detection + face feature + index. */
export const faceRecognitionPipeline = recognitionPipeline({
  pipelineName: 'face_recognition',
  prefix: '/face-recognition',
  objectsField: 'faces',
  what: 'faces',
  worker: new URL('./worker.js', import.meta.url).href,
});
