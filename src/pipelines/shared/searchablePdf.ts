/**
 * Searchable PDF (pipeserve's, not PaddleX's): each page image with an invisible text layer (PDF
 * text rendering mode 3, as OCR tools write it) at the recognised lines, so PDF viewers can search
 * and copy the text. Built with pdf-lib from what the workers return, by an instance (the document
 * operation `buildSearchablePdf`), never on the HTTP thread.
 */
import { Readable } from 'node:stream';
import * as fontkit from 'fontkit';
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

/** The PDF, and the characters no font of it could encode (left out of the text layer). */
export interface BuiltSearchablePdf {
  pdf: Uint8Array;
  unencodable: string[];
}

/**
 * pdf-lib's font engine hook backed by fontkit 2. pdf-lib (1.17) reads a subset through
 * `encodeStream()`, which fontkit 2 replaced by `encode()`; @pdf-lib/fontkit's (fontkit 1) CFF subsets of the CJK font
 * are malformed (poppler: "Embedded font file may be invalid"), fontkit 2's are sound, hence this bridge.
 */
const fontkitForPdfLib = {
  create(bytes: Uint8Array) {
    const font = fontkit.create(Buffer.from(bytes)) as fontkit.Font;
    const createSubset = font.createSubset.bind(font);
    return Object.assign(font, {
      createSubset: () => {
        const subset = createSubset();
        return Object.assign(subset, { encodeStream: () => Readable.from([Buffer.from(subset.encode())]) });
      },
    });
  },
} as unknown as Parameters<PDFDocument['registerFontkit']>[0];

/** A font of the document and the code points it can encode. */
interface TextFont {
  font: PDFFont;
  codePoints: ReadonlySet<number>;
}

const encodes = (f: TextFont, c: string) => f.codePoints.has(c.codePointAt(0)!);

/**
 * The page images with their lines as invisible text. A line the standard Helvetica can encode
 * (WinAnsi: Latin-1 and a few more) is written in it; any other line in a subset of
 * `loadUnicodeFont()` (embedded only when some line needs it), minus the characters that font lacks.
 */
export async function buildSearchablePdf(
  pages: readonly SearchablePage[],
  loadUnicodeFont?: () => Uint8Array,
): Promise<BuiltSearchablePdf> {
  const pdf = await PDFDocument.create();
  const helveticaFont = await pdf.embedFont(StandardFonts.Helvetica);
  const helvetica: TextFont = { font: helveticaFont, codePoints: new Set(helveticaFont.getCharacterSet()) };
  const latinOnly = (text: string) => [...text].every((c) => encodes(helvetica, c));
  let unicode: TextFont | undefined;
  if (loadUnicodeFont && pages.some((p) => p.lines.some((l) => !latinOnly(l.text)))) {
    pdf.registerFontkit(fontkitForPdfLib);
    const font = await pdf.embedFont(loadUnicodeFont(), { subset: true });
    unicode = { font, codePoints: new Set(font.getCharacterSet()) };
  }
  const unencodable = new Set<string>();
  for (const p of pages) {
    const width = p.width * POINTS_PER_PIXEL;
    const height = p.height * POINTS_PER_PIXEL;
    const page = pdf.addPage([width, height]);
    // a copy: pdf-lib reads the JPEG through `.buffer`, ignoring the offset of a view (as IPC delivers it)
    page.drawImage(await pdf.embedJpg(new Uint8Array(p.jpeg)), { x: 0, y: 0, width, height });
    const fontKeys = new Map<TextFont, ReturnType<typeof page.node.newFontDictionary>>();
    for (const line of p.lines) {
      const textFont = latinOnly(line.text) ? helvetica : (unicode ?? helvetica);
      const chars = [...line.text];
      for (const c of chars) if (!encodes(textFont, c)) unencodable.add(c);
      const text = chars.filter((c) => encodes(textFont, c)).join('');
      if (!text) continue;
      const { font } = textFont;
      if (!fontKeys.has(textFont)) fontKeys.set(textFont, page.node.newFontDictionary(font.name, font.ref));
      const [x1, y1, x2, y2] = line.box.map((v) => v * POINTS_PER_PIXEL) as [number, number, number, number];
      const size = Math.max(1, (y2 - y1) * 0.8);
      const natural = font.widthOfTextAtSize(text, size);
      // squeeze or stretch the line to its box, so selecting it highlights the recognised line
      const squeeze = natural > 0 ? (100 * (x2 - x1)) / natural : 100;
      page.pushOperators(
        pushGraphicsState(),
        beginText(),
        setTextRenderingMode(TextRenderingMode.Invisible),
        setFontAndSize(fontKeys.get(textFont)!, size),
        setCharacterSqueeze(squeeze),
        setTextMatrix(1, 0, 0, 1, x1, height - y2 + (y2 - y1) * 0.2),
        showText(font.encodeText(text)),
        endText(),
        popGraphicsState(),
      );
    }
  }
  return { pdf: await pdf.save(), unencodable: [...unencodable] };
}

/**
 * Wraps a document endpoint's page-to-result function so that, when asked, the pages' searchable
 * parts are kept aside (out of the result and of job progress) and `pdf` builds the document from
 * them in page order, as Base64, with `build` (an instance's `buildSearchablePdf` operation).
 */
export function searchablePdfCollector<Page extends { searchable?: SearchablePage }, Result extends object>(
  wanted: boolean | null | undefined,
  toResult: (page: Page) => Result,
): {
  toResult: (page: Page) => Result;
  pdf: (results: readonly Result[], build: (pages: SearchablePage[]) => Promise<BuiltSearchablePdf>) => Promise<{ searchablePdf?: string }>;
} {
  const parts = new WeakMap<Result, SearchablePage>();
  return {
    toResult(page) {
      const result = toResult(page);
      if (wanted && page.searchable) parts.set(result, page.searchable);
      return result;
    },
    async pdf(results, build) {
      if (!wanted) return {};
      const { pdf, unencodable } = await build(results.map((r) => parts.get(r)!));
      if (unencodable.length) {
        process.stderr.write(
          `WARNING:  searchable PDF: no glyph for ${unencodable.map((c) => JSON.stringify(c)).join(' ')} in the text layer's fonts; left out\n`,
        );
      }
      return { searchablePdf: Buffer.from(pdf).toString('base64') };
    },
  };
}
