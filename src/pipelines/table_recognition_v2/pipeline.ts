/** PaddleX's table_recognition_v2 pipeline and its `/table-recognition` endpoint, HTTP side (shared/tableRecognition.ts). */
import { tableRecognitionDescriptor } from '../shared/tableRecognition.js';

export const tableRecognitionV2Pipeline = tableRecognitionDescriptor('table_recognition_v2', new URL('./worker.js', import.meta.url).href);
