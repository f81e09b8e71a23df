import { attributePipeline } from '../shared/attributes.js';

/** PaddleX `vehicle_attribute_recognition`: POST /vehicle-attribute-recognition → vehicles. */
export const vehicleAttributeRecognitionPipeline = attributePipeline({
  pipelineName: 'vehicle_attribute_recognition',
  path: '/vehicle-attribute-recognition',
  summary: 'Detect vehicles and recognize their attributes',
  objectsField: 'vehicles',
  worker: new URL('./worker.js', import.meta.url).href,
});
