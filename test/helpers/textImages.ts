import sharp from 'sharp';
import type { RgbImage } from '../../src/io/image.js';

export interface TextImageOptions {
  /**
   * a fontconfig family name (default DejaVu Sans); .ci/run installs DejaVu Sans, DejaVu Serif,
   * Liberation Sans, Liberation Serif and Liberation Mono
   */
  fontFamily?: string;
  /** pixels (default 32) */
  fontSize?: number;
  /** canvas width in pixels; by default wide enough for the longest line */
  width?: number;
  /** rotation in degrees, clockwise; the canvas grows to hold the rotated page */
  rotateDeg?: number;
  /** CSS colour (default white) */
  background?: string;
  /** blank space around the text, pixels (default fontSize) */
  margin?: number;
  /** line pitch as a multiple of fontSize (default 1.6) */
  lineSpacing?: number;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

/** Black text lines, left-aligned, top to bottom, rendered from SVG by sharp (librsvg + fontconfig). */
export async function renderTextImage(lines: string[], opts: TextImageOptions = {}): Promise<{ png: Uint8Array; lines: string[] }> {
  const fontFamily = opts.fontFamily ?? 'DejaVu Sans';
  const fontSize = opts.fontSize ?? 32;
  const margin = opts.margin ?? fontSize;
  const pitch = Math.round(fontSize * (opts.lineSpacing ?? 1.6));
  const background = opts.background ?? 'white';
  const longest = Math.max(1, ...lines.map((l) => [...l].length));
  // 0.75 em per character is wider than any of the test fonts' average advance.
  const width = opts.width ?? Math.ceil(2 * margin + longest * fontSize * 0.75);
  const height = 2 * margin + pitch * lines.length;
  const texts = lines.map((line, i) => {
    const baseline = Math.round(margin + i * pitch + fontSize);
    return `<text x="${margin}" y="${baseline}" xml:space="preserve">${escapeXml(line)}</text>`;
  });
  const svg = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">`,
    `<rect width="100%" height="100%" fill="${escapeXml(background)}"/>`,
    `<g font-family="${escapeXml(fontFamily)}" font-size="${fontSize}" fill="black">`,
    ...texts,
    '</g></svg>',
  ].join('\n');
  let image = sharp(Buffer.from(svg));
  if (opts.rotateDeg) image = image.rotate(opts.rotateDeg, { background });
  const png = await image.flatten({ background }).png().toBuffer();
  return { png: new Uint8Array(png.buffer, png.byteOffset, png.length), lines: [...lines] };
}

/** Decodes an encoded image (PNG, JPEG, ...) to 8-bit RGB. */
export async function decodeToRgb(encoded: Uint8Array | string): Promise<RgbImage> {
  const { data, info } = await sharp(encoded).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

export interface InkBox {
  x0: number;
  y0: number;
  /** exclusive */
  x1: number;
  /** exclusive */
  y1: number;
}

/**
 * Where the text actually is on an unrotated, light-background image: bands of rows holding dark
 * pixels (one per text line when lines are separated by blank rows), each with its ink extent.
 */
export function findInkLines(img: RgbImage, darkBelow = 128): InkBox[] {
  const isDark = (x: number, y: number) => {
    const i = (y * img.width + x) * 3;
    return (img.data[i]! + img.data[i + 1]! + img.data[i + 2]!) / 3 < darkBelow;
  };
  const boxes: InkBox[] = [];
  let current: InkBox | undefined;
  for (let y = 0; y < img.height; y++) {
    let first = -1;
    let last = -1;
    for (let x = 0; x < img.width; x++) {
      if (!isDark(x, y)) continue;
      if (first < 0) first = x;
      last = x;
    }
    if (first < 0) {
      if (current) boxes.push(current);
      current = undefined;
    } else if (current) {
      current.x0 = Math.min(current.x0, first);
      current.x1 = Math.max(current.x1, last + 1);
      current.y1 = y + 1;
    } else {
      current = { x0: first, y0: y, x1: last + 1, y1: y + 1 };
    }
  }
  if (current) boxes.push(current);
  return boxes;
}
