/**
 * Searchable PDF (pipeserve's, not PaddleX's): each page image with an invisible text layer (PDF
 * text rendering mode 3, as OCR tools write it) at the recognised lines, so PDF viewers can search
 * and copy the text. Built with pdf-lib on the HTTP side from what the workers return.
 */
import {
  beginText,
  endText,
  PDFDocument,
  type PDFFont,
  popGraphicsState,
  pushGraphicsState,
  setCharacterSqueeze,
  setFontAndSize,
  setTextMatrix,
  setTextRenderingMode,
  showText,
  StandardFonts,
  TextRenderingMode,
} from 'pdf-lib';
import { z } from 'zod';
import { optional } from './request.js';

/** The opt-in request field. */
export const searchablePdfField = optional(z.boolean()).describe(
  'pipeserve: also return `searchablePdf`, the pages as a PDF with an invisible text layer at the recognised lines',
);

/** The result field: the PDF as Base64. */
export const searchablePdfResult = z
  .string()
  .optional()
  .meta({ description: 'pipeserve: Base64 PDF of the pages with an invisible text layer (when searchablePdf was true)' });

/** One page: its image (JPEG, as shown) and its lines in reading order, boxes in image pixels. */
export interface SearchablePage {
  jpeg: Uint8Array;
  width: number;
  height: number;
  lines: Array<{ text: string; box: readonly number[] }>;
}

/** PDF points per image pixel: PaddleX renders PDF pages at 2 px per point, so pages keep their size. */
const POINTS_PER_PIXEL = 0.5;

/** The characters the standard font can encode (WinAnsi); others are left out of the text layer. */
function encodable(font: PDFFont, text: string): string {
  const charset = new Set(font.getCharacterSet());
  return [...text].filter((c) => charset.has(c.codePointAt(0)!)).join('');
}

export async function buildSearchablePdf(pages: readonly SearchablePage[]): Promise<Uint8Array> {
  const pdf = await PDFDocument.create();
  const font = await pdf.embedFont(StandardFonts.Helvetica);
  for (const p of pages) {
    const width = p.width * POINTS_PER_PIXEL;
    const height = p.height * POINTS_PER_PIXEL;
    const page = pdf.addPage([width, height]);
    // a copy: pdf-lib reads the JPEG through `.buffer`, ignoring the offset of a view (as IPC delivers it)
    page.drawImage(await pdf.embedJpg(new Uint8Array(p.jpeg)), { x: 0, y: 0, width, height });
    const fontKey = page.node.newFontDictionary(font.name, font.ref);
    for (const line of p.lines) {
      const text = encodable(font, line.text);
      if (!text) continue;
      const [x1, y1, x2, y2] = line.box.map((v) => v * POINTS_PER_PIXEL) as [number, number, number, number];
      const size = Math.max(1, (y2 - y1) * 0.8);
      const natural = font.widthOfTextAtSize(text, size);
      // squeeze or stretch the line to its box, so selecting it highlights the recognised line
      const squeeze = natural > 0 ? (100 * (x2 - x1)) / natural : 100;
      page.pushOperators(
        pushGraphicsState(),
        beginText(),
        setTextRenderingMode(TextRenderingMode.Invisible),
        setFontAndSize(fontKey, size),
        setCharacterSqueeze(squeeze),
        setTextMatrix(1, 0, 0, 1, x1, height - y2 + (y2 - y1) * 0.2),
        showText(font.encodeText(text)),
        endText(),
        popGraphicsState(),
      );
    }
  }
  return pdf.save();
}

/**
 * Wraps a document endpoint's page-to-result function so that, when asked, the pages' searchable
 * parts are kept aside (out of the result and of job progress) and `pdf` builds the document from
 * them in page order, as Base64.
 */
export function searchablePdfCollector<Page extends { searchable?: SearchablePage }, Result extends object>(
  wanted: boolean | null | undefined,
  toResult: (page: Page) => Result,
): { toResult: (page: Page) => Result; pdf: (results: readonly Result[]) => Promise<{ searchablePdf?: string }> } {
  const parts = new WeakMap<Result, SearchablePage>();
  return {
    toResult(page) {
      const result = toResult(page);
      if (wanted && page.searchable) parts.set(result, page.searchable);
      return result;
    },
    async pdf(results) {
      if (!wanted) return {};
      const pdf = await buildSearchablePdf(results.map((r) => parts.get(r)!));
      return { searchablePdf: Buffer.from(pdf).toString('base64') };
    },
  };
}
