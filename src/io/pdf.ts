import { createRequire } from 'node:module';
import path from 'node:path';
import { getDocument, type PDFDocumentProxy } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { invalidInput } from '../errors.js';
import { DEFAULT_MAX_PIXELS, rgbaToRgb } from './codec.js';
import type { RgbImage } from './image.js';

/** PaddleX renders PDF pages at 2× (≈144 DPI). */
export const DEFAULT_PDF_SCALE = 2;

export interface PdfDocument {
  numPages: number;
  /** Render page `index` (0-based) to RGB on a white background. */
  renderPage(index: number, opts?: { scale?: number; maxPixels?: number }): Promise<RgbImage>;
  close(): Promise<void>;
}

const PDFJS_DIR = path.dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json'));
/** pdfjs wants its asset directories as strings ending in a separator. */
const pdfjsAsset = (dir: string) => path.join(PDFJS_DIR, dir) + path.sep;

/**
 * Typed view of pdfjs' canvas factory. Pages are drawn on canvases from this
 * factory, so they always come from the @napi-rs/canvas that pdfjs resolves
 * (package.json keeps a single copy in pdfjs' version range).
 */
interface PdfjsCanvas {
  canvas: unknown;
  context: { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } };
}
interface PdfjsCanvasFactory {
  create(width: number, height: number): PdfjsCanvas;
  destroy(canvas: PdfjsCanvas): void;
}

function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Open client PDF bytes with pdfjs. Password protection, corruption and empty
 * documents are client errors (422). Rendering is in-process, without pdfjs'
 * worker thread; callers that must not block should call this from a worker.
 */
export async function openPdf(bytes: Uint8Array, field: string): Promise<PdfDocument> {
  const task = getDocument({
    // pdfjs transfers (detaches) the buffer it is given; keep the caller's intact.
    data: bytes.slice(),
    standardFontDataUrl: pdfjsAsset('standard_fonts'),
    cMapUrl: pdfjsAsset('cmaps'),
    cMapPacked: true,
    wasmUrl: pdfjsAsset('wasm'),
    iccUrl: pdfjsAsset('iccs'),
    isEvalSupported: false,
    disableFontFace: true,
    // Embedded images beyond this are skipped instead of decoded (image bombs inside a PDF).
    maxImageSize: DEFAULT_MAX_PIXELS,
    verbosity: 0,
  });
  let doc: PDFDocumentProxy;
  try {
    doc = await task.promise;
  } catch (err) {
    await task.destroy();
    if (err instanceof Error && err.name === 'PasswordException') {
      throw invalidInput(`${field}: PDF is encrypted (password-protected); send an unencrypted PDF`);
    }
    throw invalidInput(`${field}: not a readable PDF (${reasonOf(err)})`);
  }
  if (doc.numPages < 1) {
    await doc.destroy();
    throw invalidInput(`${field}: PDF has no pages`);
  }
  return {
    numPages: doc.numPages,
    renderPage: (index, opts = {}) => renderPage(doc, index, field, opts.scale ?? DEFAULT_PDF_SCALE, opts.maxPixels ?? DEFAULT_MAX_PIXELS),
    close: () => doc.destroy(),
  };
}

async function renderPage(doc: PDFDocumentProxy, index: number, field: string, scale: number, maxPixels: number): Promise<RgbImage> {
  if (!Number.isInteger(index) || index < 0 || index >= doc.numPages) {
    throw new RangeError(`page index ${index} is outside 0..${doc.numPages - 1}`);
  }
  const pageNumber = index + 1;
  let page: Awaited<ReturnType<PDFDocumentProxy['getPage']>>;
  try {
    page = await doc.getPage(pageNumber);
  } catch (err) {
    throw invalidInput(`${field}: page ${pageNumber} of the PDF cannot be read (${reasonOf(err)})`);
  }
  try {
    const viewport = page.getViewport({ scale });
    // Rounded up, as pypdfium2 sizes PaddleX's bitmaps.
    const width = Math.ceil(viewport.width);
    const height = Math.ceil(viewport.height);
    if (width * height > maxPixels) {
      throw invalidInput(
        `${field}: page ${pageNumber} renders to ${width}×${height} pixels, which exceeds the limit of ${maxPixels} pixels`,
      );
    }
    const factory = doc.canvasFactory as PdfjsCanvasFactory;
    const target = factory.create(width, height);
    try {
      await page.render({ canvas: target.canvas as HTMLCanvasElement, viewport }).promise;
      return { width, height, data: rgbaToRgb(target.context.getImageData(0, 0, width, height).data) };
    } catch (err) {
      throw invalidInput(`${field}: page ${pageNumber} of the PDF cannot be rendered (${reasonOf(err)})`);
    } finally {
      factory.destroy(target);
    }
  } finally {
    page.cleanup();
  }
}
