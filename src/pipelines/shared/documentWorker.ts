/** Document input, worker side: decode an image or render one PDF page, then run the pipeline's page function. */
import { readFileSync } from 'node:fs';
import { decodeImage, encodeJpeg } from '../../io/codec.js';
import type { RgbImage } from '../../io/image.js';
import { openPdf, type PdfDocument, renderedSize } from '../../io/pdf.js';
import { fitWithin } from '../../ops/resize.js';
import { bundledFontPath } from '../../vis/fontFile.js';
import { inTurn, withBatchForm } from '../define.js';
import type { DocumentOps, PageSize } from './documentInput.js';
import { buildSearchablePdf, type SearchablePage } from './searchablePdf.js';

/** PaddleX's document apps encode output images with cv2.imencode, whose default JPEG quality is 95. */
export const DOCUMENT_JPEG_QUALITY = 95;

async function withPdf<T>(pdf: Uint8Array, maxSizes: number, use: (doc: PdfDocument) => Promise<T>): Promise<T> {
  const doc = await openPdf(pdf, 'file', maxSizes);
  try {
    return await use(doc);
  } finally {
    await doc.close();
  }
}

let fontFile: Uint8Array | undefined;
/** The bundled Noto Sans Hans, read once per instance and only when a text layer needs it. */
function bundledFont(): Uint8Array {
  fontFile ??= readFileSync(bundledFontPath());
  return fontFile;
}

/** The document operations around `predictPage` (which sees one decoded page at a time). */
export function documentOps<Settings, Page extends PageSize>(
  predictPage: (page: RgbImage, settings: Settings) => Promise<Page>,
): DocumentOps<Settings, Page> {
  const predictImage: DocumentOps<Settings, Page>['predictImage'] = async ({ image, settings }) =>
    predictPage(await decodeImage(image, 'file'), settings);
  return {
    // requests gathered by dynamic batching: one call, pages in turn (the pipeline's batch_size is 1)
    predictImage: withBatchForm(predictImage, inTurn(predictImage)),
    countPdfPages: async ({ pdf, maxPages }) =>
      withPdf(pdf, maxPages, async (doc) => ({ numPages: doc.numPages, pageSizes: doc.pageSizes.map((size) => renderedSize(size)) })),
    predictPdfPage: async ({ pdf, page, settings, renderTimeoutMs }) =>
      withPdf(pdf, 0, async (doc) => {
        const started = performance.now();
        const image = await doc.renderPage(page, { timeoutMs: renderTimeoutMs });
        const renderMs = performance.now() - started;
        return { page: await predictPage(image, settings), renderMs };
      }),
    buildSearchablePdf: ({ pages }) => buildSearchablePdf(pages, bundledFont),
  };
}

/** An output image as PaddleX's document apps return it: shrunk to `max_output_img_size` ([height, width]), JPEG quality 95. */
export async function encodeOutputImage(img: RgbImage, [maxHeight, maxWidth]: readonly [number, number]): Promise<Uint8Array> {
  return encodeJpeg(await fitWithin(img, maxWidth, maxHeight), DOCUMENT_JPEG_QUALITY);
}

/** A page with named output images as the worker returns it: plus the input image when visualising, and the input's size. */
export async function pageWithOutputImages<P>(
  prunedResult: P,
  outputImages: Record<string, Uint8Array>,
  input: RgbImage,
  s: { visualize: boolean; maxOutputImgSize: readonly [number, number] },
): Promise<{ prunedResult: P; outputImages: Record<string, Uint8Array>; inputImage?: Uint8Array; width: number; height: number }> {
  return {
    prunedResult,
    outputImages,
    ...(s.visualize ? { inputImage: await encodeOutputImage(input, s.maxOutputImgSize) } : {}),
    width: input.width,
    height: input.height,
  };
}

/** A page of the searchable PDF: the image the lines were read on (JPEG quality 95) and the lines in order. */
export async function searchablePage(
  image: RgbImage,
  texts: readonly string[],
  boxes: ReadonlyArray<readonly number[]>,
): Promise<SearchablePage> {
  return {
    jpeg: await encodeJpeg(image, DOCUMENT_JPEG_QUALITY),
    width: image.width,
    height: image.height,
    lines: texts.map((text, i) => ({ text, box: boxes[i]! })),
  };
}
