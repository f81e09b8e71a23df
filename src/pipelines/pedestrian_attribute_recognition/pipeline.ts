import { attributePipeline } from '../shared/attributes.js';

/** PaddleX `pedestrian_attribute_recognition`: POST /pedestrian-attribute-recognition → pedestrians. */
export const pedestrianAttributeRecognitionPipeline = attributePipeline({
  pipelineName: 'pedestrian_attribute_recognition',
  path: '/pedestrian-attribute-recognition',
  summary: 'Detect pedestrians and recognize their attributes',
  objectsField: 'pedestrians',
  worker: new URL('./worker.js', import.meta.url).href,
});
