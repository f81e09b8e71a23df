/**
 * PDF pages rendered with PDFium, as PaddleX does (pypdfium2, scale 2), through the @embedpdf/pdfium
 * WASM build. PDFium runs in a thread of its own (pdfiumWorker.ts), started on first use and kept for
 * later documents, so that:
 * - a page that renders longer than its time limit is stopped (the thread is terminated) and refused;
 * - the memory a large page needed is returned: after a call that left PDFium's WASM memory above
 *   PDFIUM_MEMORY_KEEP_BYTES the thread is ended, and the next document starts a fresh one.
 * Callers must themselves run off the HTTP thread (the pipeline workers do).
 */
import { Worker } from 'node:worker_threads';
import { invalidInput } from '../errors.js';
import { DEFAULT_MAX_PIXELS } from './codec.js';
import type { RgbImage } from './image.js';
import type { PdfiumFailure, PdfiumRequest, PdfiumResponse } from './pdfiumWorker.js';

/** PaddleX renders PDF pages at 2× (≈144 DPI). */
export const DEFAULT_PDF_SCALE = 2;
/** Longest one page may take to render (a page of millions of path operators takes minutes). */
export const PDF_PAGE_RENDER_TIMEOUT_MS = 20_000;
/** Reading the page count and sizes is quick for any real PDF; this bounds a hostile one. */
const PDF_INSPECT_TIMEOUT_MS = 10_000;
/** PDFium's WASM memory above which its thread is ended after a call, returning the memory. */
const PDFIUM_MEMORY_KEEP_BYTES = 128 * 2 ** 20;

export interface PageSize {
  width: number;
  height: number;
}

export interface RenderOptions {
  scale?: number;
  maxPixels?: number;
  /** time limit of this render, at most PDF_PAGE_RENDER_TIMEOUT_MS */
  timeoutMs?: number;
}

export interface PdfDocument {
  numPages: number;
  /** Size in points (1/72 inch, page rotation applied) of the first pages, up to `maxSizes` of openPdf. */
  pageSizes: PageSize[];
  /** Render page `index` (0-based) to RGB on a white background. */
  renderPage(index: number, opts?: RenderOptions): Promise<RgbImage>;
  close(): Promise<void>;
}

/** The rendered size of a page, rounded up as pypdfium2 does. */
export function renderedSize(size: PageSize, scale = DEFAULT_PDF_SCALE): PageSize {
  return { width: Math.ceil(size.width * scale), height: Math.ceil(size.height * scale) };
}

type Answer = Extract<PdfiumResponse, { ok: true }>;
/** A request without its id (which the thread assigns). */
type PdfiumCall = PdfiumRequest extends infer R ? (R extends PdfiumRequest ? Omit<R, 'id'> : never) : never;

/** The PDFium thread of this thread, and its calls in flight (answered in order). */
class PdfiumThread {
  private worker: Worker | undefined;
  /** WASM memory of the running thread after its last call; 0 when no thread runs */
  memoryBytes = 0;
  private nextId = 1;
  private readonly pending = new Map<number, { worker: Worker; resolve: (r: PdfiumResponse) => void; reject: (e: Error) => void }>();

  private start(): Worker {
    const worker = new Worker(new URL('./pdfiumWorker.js', import.meta.url));
    worker.on('message', (response: PdfiumResponse) => {
      const call = this.pending.get(response.id);
      this.pending.delete(response.id);
      this.memoryBytes = response.memoryBytes;
      if (response.memoryBytes > PDFIUM_MEMORY_KEEP_BYTES && this.pending.size === 0 && this.worker === worker) this.stop();
      call?.resolve(response);
    });
    // Only the calls of this thread fail with it: a new thread may already serve later calls.
    const fail = (err: Error) => {
      if (this.worker === worker) this.worker = undefined;
      for (const [id, call] of this.pending) {
        if (call.worker !== worker) continue;
        this.pending.delete(id);
        call.reject(err);
      }
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the PDFium thread stopped (exit code ${code})`)));
    // after the listeners, which would otherwise hold the process open when it has nothing else to do
    worker.unref();
    return worker;
  }

  private stop(): void {
    const worker = this.worker;
    this.worker = undefined;
    this.memoryBytes = 0;
    void worker?.terminate();
  }

  /** Sends `request`; past `timeoutMs` the thread is terminated and `onTimeout` thrown. */
  async call(request: PdfiumCall, timeoutMs: number, onTimeout: () => Error): Promise<PdfiumResponse> {
    this.worker ??= this.start();
    const worker = this.worker;
    const id = this.nextId++;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await new Promise<PdfiumResponse>((resolve, reject) => {
        this.pending.set(id, { worker, resolve, reject });
        timer = setTimeout(() => {
          this.pending.delete(id);
          reject(onTimeout());
          // every other call in flight fails with it: WASM cannot be interrupted, only its thread ended
          this.stop();
        }, timeoutMs);
        worker.postMessage({ ...request, id } as PdfiumRequest);
      });
    } finally {
      clearTimeout(timer);
    }
  }
}

const pdfium = new PdfiumThread();

/** WASM memory held by this thread's PDFium thread (0 when none runs): large renders must not leave it high. */
export function pdfiumMemoryBytes(): number {
  return pdfium.memoryBytes;
}

function refusal(field: string, failure: PdfiumFailure, page?: number): Error {
  const where = page === undefined ? `${field}:` : `${field}: page ${page}`;
  switch (failure.kind) {
    case 'encrypted':
      return invalidInput(`${field}: PDF is encrypted (password-protected); send an unencrypted PDF`);
    case 'unreadable':
      return invalidInput(`${field}: not a readable PDF (${failure.reason})`);
    case 'too-large':
      return invalidInput(`${where} renders to ${failure.width}×${failure.height} pixels, which exceeds the limit`);
    case 'render-failed':
      return invalidInput(`${where} of the PDF cannot be rendered (${failure.reason})`);
  }
}

/**
 * Open client PDF bytes. Password protection, corruption and empty documents are client errors
 * (422). `maxSizes` bounds how many page sizes are read (the pages a request may render).
 */
export async function openPdf(bytes: Uint8Array, field: string, maxSizes = 1000): Promise<PdfDocument> {
  const inspected = await pdfium.call({ op: 'inspect', pdf: bytes, maxSizes }, PDF_INSPECT_TIMEOUT_MS, () =>
    invalidInput(`${field}: the PDF could not be read within ${PDF_INSPECT_TIMEOUT_MS / 1000} s`),
  );
  if (!inspected.ok) throw refusal(field, inspected.failure);
  const { numPages, pageSizes } = inspected as Extract<Answer, { numPages: number }>;
  if (numPages < 1) throw invalidInput(`${field}: PDF has no pages`);
  return {
    numPages,
    pageSizes,
    renderPage: (index, opts = {}) => renderPage(bytes, numPages, index, field, opts),
    close: async () => {},
  };
}

async function renderPage(bytes: Uint8Array, numPages: number, index: number, field: string, opts: RenderOptions): Promise<RgbImage> {
  if (!Number.isInteger(index) || index < 0 || index >= numPages) {
    throw new RangeError(`page index ${index} is outside 0..${numPages - 1}`);
  }
  const pageNumber = index + 1;
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  const timeoutMs = Math.min(opts.timeoutMs ?? PDF_PAGE_RENDER_TIMEOUT_MS, PDF_PAGE_RENDER_TIMEOUT_MS);
  const response = await pdfium.call(
    { op: 'render', pdf: bytes, page: index, scale: opts.scale ?? DEFAULT_PDF_SCALE, maxPixels },
    timeoutMs,
    () =>
      invalidInput(`${field}: page ${pageNumber} of the PDF took longer than ${(timeoutMs / 1000).toFixed(1)} s to render; it was stopped`),
  );
  if (!response.ok) {
    const failure = response.failure;
    if (failure.kind === 'too-large') {
      throw invalidInput(
        `${field}: page ${pageNumber} renders to ${failure.width}×${failure.height} pixels, which exceeds the limit of ${maxPixels} pixels`,
      );
    }
    throw refusal(field, failure, pageNumber);
  }
  const { width, height, data } = response as Extract<Answer, { data: Uint8Array }>;
  return { width, height, data };
}
