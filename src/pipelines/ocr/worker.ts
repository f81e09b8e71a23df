/** OCR, worker side: the OCR engine (shared/ocrEngine.ts) over images and PDF pages. */
import { defineWorker } from '../define.js';
import { documentOps } from '../shared/documentWorker.js';
import { createOcrEngine } from '../shared/ocrEngine.js';

const worker = defineWorker(async (config, rt) => documentOps(await createOcrEngine(config, rt)));
export default worker;
