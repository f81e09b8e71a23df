/** PaddleX's table_recognition pipeline and its `/table-recognition` endpoint, HTTP side (shared/tableRecognition.ts). */
import { tableRecognitionDescriptor } from '../shared/tableRecognition.js';

export const tableRecognitionPipeline = tableRecognitionDescriptor('table_recognition', new URL('./worker.js', import.meta.url).href);
