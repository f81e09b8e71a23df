/** The searchable PDF built in a thread of its own (see buildSearchablePdfInThread): pages in, PDF out, then the thread ends. */
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { bundledFontPath } from '../../vis/fontFile.js';
import { buildSearchablePdf, type SearchablePage } from './searchablePdf.js';

const { pages } = workerData as { pages: SearchablePage[] };
const built = await buildSearchablePdf(pages, () => readFileSync(bundledFontPath()));
parentPort!.postMessage(built, [built.pdf.buffer as ArrayBuffer]);
