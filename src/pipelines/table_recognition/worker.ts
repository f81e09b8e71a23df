/** table_recognition, worker side: the table pipeline's page function (shared/tableRecognitionWorker.ts). */
import { defineWorker } from '../define.js';
import { tableWorkerOps } from '../shared/tableRecognitionWorker.js';

const worker = defineWorker(tableWorkerOps);
export default worker;
