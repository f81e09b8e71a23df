/**
 * PDFium (the @embedpdf/pdfium WASM build) in a thread of its own, so that a page that renders for too
 * long can be stopped (the thread is terminated: WASM cannot be interrupted) and the memory a large
 * page made WASM grow is returned (WASM memory never shrinks; a fresh thread starts small).
 * Driven by `pdf.ts`; every request is self-contained (the PDF is loaded, used and closed).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parentPort } from 'node:worker_threads';
import { init, type WrappedPdfiumModule } from '@embedpdf/pdfium';

export type PdfiumRequest =
  | { id: number; op: 'inspect'; pdf: Uint8Array; maxSizes: number }
  | { id: number; op: 'render'; pdf: Uint8Array; page: number; scale: number; maxPixels: number };

/** Why PDFium refused: its FPDF_ERR_* code, or a page/pixel problem found here. */
export type PdfiumFailure =
  | { kind: 'encrypted' | 'unreadable'; reason: string }
  | { kind: 'too-large'; width: number; height: number }
  | { kind: 'render-failed'; reason: string };

export type PdfiumResponse = { id: number; memoryBytes: number } & (
  | { ok: true; numPages: number; pageSizes: Array<{ width: number; height: number }> }
  | { ok: true; width: number; height: number; data: Uint8Array }
  | { ok: false; failure: PdfiumFailure }
);

// FPDF_GetLastError codes (fpdfview.h)
const FPDF_ERR_PASSWORD = 4;
const FPDF_ERR_SECURITY = 5;
const LOAD_ERRORS: Record<number, string> = {
  1: 'unknown error',
  2: 'file not found or could not be opened',
  3: 'file not in PDF format or corrupted',
  5: 'unsupported security scheme',
  6: 'page not found or content error',
};
const FPDFBitmap_BGR = 2;
/** FPDF_ANNOT: draw annotations, as pypdfium2's render does by default. */
const RENDER_FLAGS = 0x01;
const WHITE = 0xffffffff;

class Refusal extends Error {
  constructor(readonly failure: PdfiumFailure) {
    super(failure.kind);
  }
}

const require = createRequire(import.meta.url);
let pdfiumReady: Promise<WrappedPdfiumModule> | undefined;

function loadPdfium(): Promise<WrappedPdfiumModule> {
  pdfiumReady ??= (async () => {
    const wasm = readFileSync(require.resolve('@embedpdf/pdfium/pdfium.wasm'));
    const pdfium = await init({ wasmBinary: wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength) as ArrayBuffer });
    pdfium.PDFiumExt_Init();
    return pdfium;
  })();
  return pdfiumReady;
}

/** Runs `use` on the loaded document and frees it (and its copy of the bytes) afterwards. */
function withDocument<T>(pdfium: WrappedPdfiumModule, bytes: Uint8Array, use: (doc: number) => T): T {
  const { wasmExports, HEAPU8 } = pdfium.pdfium;
  const pointer = wasmExports.malloc(Math.max(1, bytes.length));
  try {
    HEAPU8.set(bytes, pointer);
    const doc = pdfium.FPDF_LoadMemDocument(pointer, bytes.length, '');
    if (!doc) {
      const code = pdfium.FPDF_GetLastError();
      if (code === FPDF_ERR_PASSWORD || code === FPDF_ERR_SECURITY) {
        throw new Refusal({ kind: 'encrypted', reason: LOAD_ERRORS[code] ?? 'password required' });
      }
      throw new Refusal({ kind: 'unreadable', reason: LOAD_ERRORS[code] ?? `PDFium error ${code}` });
    }
    try {
      return use(doc);
    } finally {
      pdfium.FPDF_CloseDocument(doc);
    }
  } finally {
    wasmExports.free(pointer);
  }
}

/** Page sizes in points (PDF units), rotation applied, for the first `maxSizes` pages. */
function inspect(pdfium: WrappedPdfiumModule, doc: number, maxSizes: number) {
  const numPages = pdfium.FPDF_GetPageCount(doc);
  const sizeOut = pdfium.pdfium.wasmExports.malloc(8);
  try {
    const pageSizes = Array.from({ length: Math.min(numPages, maxSizes) }, (_, index) => {
      if (!pdfium.FPDF_GetPageSizeByIndexF(doc, index, sizeOut)) {
        throw new Refusal({ kind: 'unreadable', reason: `page ${index + 1} has no readable size` });
      }
      const heap = pdfium.pdfium.HEAPF32;
      return { width: heap[sizeOut >> 2]!, height: heap[(sizeOut >> 2) + 1]! };
    });
    return { numPages, pageSizes };
  } finally {
    pdfium.pdfium.wasmExports.free(sizeOut);
  }
}

/** Renders a page at `scale` to RGB on white, sized as pypdfium2 sizes it (each side rounded up). */
function render(pdfium: WrappedPdfiumModule, doc: number, index: number, scale: number, maxPixels: number) {
  const page = pdfium.FPDF_LoadPage(doc, index);
  if (!page) throw new Refusal({ kind: 'render-failed', reason: 'the page cannot be loaded' });
  try {
    const width = Math.ceil(pdfium.FPDF_GetPageWidthF(page) * scale);
    const height = Math.ceil(pdfium.FPDF_GetPageHeightF(page) * scale);
    if (!(width >= 1 && height >= 1) || width * height > maxPixels) throw new Refusal({ kind: 'too-large', width, height });
    const bitmap = pdfium.FPDFBitmap_CreateEx(width, height, FPDFBitmap_BGR, 0, 0);
    if (!bitmap) throw new Refusal({ kind: 'render-failed', reason: `no memory for a ${width}×${height} bitmap` });
    try {
      pdfium.FPDFBitmap_FillRect(bitmap, 0, 0, width, height, WHITE);
      pdfium.FPDF_RenderPageBitmap(bitmap, page, 0, 0, width, height, 0, RENDER_FLAGS);
      const buffer = pdfium.FPDFBitmap_GetBuffer(bitmap);
      const stride = pdfium.FPDFBitmap_GetStride(bitmap);
      const heap = pdfium.pdfium.HEAPU8;
      // BGR rows with padding → packed RGB
      const data = new Uint8Array(width * height * 3);
      for (let y = 0; y < height; y++) {
        const row = buffer + y * stride;
        const out = y * width * 3;
        for (let x = 0; x < width * 3; x += 3) {
          data[out + x] = heap[row + x + 2]!;
          data[out + x + 1] = heap[row + x + 1]!;
          data[out + x + 2] = heap[row + x]!;
        }
      }
      return { width, height, data };
    } finally {
      pdfium.FPDFBitmap_Destroy(bitmap);
    }
  } finally {
    pdfium.FPDF_ClosePage(page);
  }
}

async function handle(request: PdfiumRequest): Promise<PdfiumResponse> {
  const pdfium = await loadPdfium();
  const memoryBytes = () => pdfium.pdfium.HEAPU8.length;
  try {
    const result =
      request.op === 'inspect'
        ? withDocument(pdfium, request.pdf, (doc) => inspect(pdfium, doc, request.maxSizes))
        : withDocument(pdfium, request.pdf, (doc) => render(pdfium, doc, request.page, request.scale, request.maxPixels));
    return { id: request.id, memoryBytes: memoryBytes(), ok: true, ...result };
  } catch (err) {
    if (!(err instanceof Refusal)) throw err;
    return { id: request.id, memoryBytes: memoryBytes(), ok: false, failure: err.failure };
  }
}

parentPort?.on('message', (request: PdfiumRequest) => {
  handle(request).then(
    (response) => parentPort!.postMessage(response, 'data' in response ? [response.data.buffer as ArrayBuffer] : []),
    (err: unknown) => {
      const reason = err instanceof Error ? err.message : String(err);
      parentPort!.postMessage({ id: request.id, memoryBytes: 0, ok: false, failure: { kind: 'render-failed', reason } });
    },
  );
});
