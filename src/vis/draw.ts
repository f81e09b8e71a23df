import { createCanvas, ImageData, type Canvas, type SKRSContext2D } from '@napi-rs/canvas';
import type { RgbImage } from '../io/image.js';
import { visFont } from './fonts.js';

export type Rgb = readonly [number, number, number];

/** JPEG quality of PaddleX's simple CV visualizations (PIL's default). */
export const PIL_JPEG_QUALITY = 75;

/**
 * Box colours by category id: saturated entries of Sasha Trubetskoy's "20 distinct colours",
 * chosen to stay apart from each other and visible on photos.
 */
const CATEGORY_PALETTE: readonly Rgb[] = [
  [230, 25, 75],
  [60, 180, 75],
  [255, 225, 25],
  [67, 99, 216],
  [245, 130, 49],
  [145, 30, 180],
  [66, 212, 244],
  [240, 50, 230],
  [191, 239, 69],
  [70, 153, 144],
  [154, 99, 36],
  [128, 0, 0],
  [128, 128, 0],
  [0, 0, 117],
  [250, 190, 212],
  [170, 255, 195],
];

const DARK_TEXT: Rgb = [20, 14, 53];
const LIGHT_TEXT: Rgb = [255, 255, 255];

/** Smallest label font, so labels on tiny images stay legible. */
export const MIN_LABEL_FONT_PX = 10;
export const LINE_SPACING = 1.25;

export function cssColour([r, g, b]: Rgb): string {
  return `rgb(${r}, ${g}, ${b})`;
}

/** PaddleX's mask tint: the colour moved 40 % towards white, laid over the pixel at 70 %. */
const MASK_WHITEN = 0.4;
const MASK_ALPHA = 0.7;

/**
 * Tints the pixels of interleaved RGB `data` (an image `imageWidth` wide) where `mask` (row-major,
 * `mask.width` × `mask.height`, placed at `left`, `top`) is nonzero, as PaddleX draws instance masks.
 */
export function tintMask(
  data: Uint8Array,
  imageWidth: number,
  imageHeight: number,
  mask: { left: number; top: number; width: number; height: number; data: ArrayLike<number> },
  colour: Rgb,
): void {
  const tint = colour.map((c) => c * (1 - MASK_WHITEN) + MASK_WHITEN * 255);
  const { left, top } = mask;
  for (let y = 0; y < mask.height; y++) {
    for (let x = 0; x < mask.width; x++) {
      if (!mask.data[y * mask.width + x] || top + y >= imageHeight || left + x >= imageWidth) continue;
      const p = ((top + y) * imageWidth + left + x) * 3;
      for (let c = 0; c < 3; c++) data[p + c] = Math.trunc(data[p + c]! * (1 - MASK_ALPHA) + MASK_ALPHA * tint[c]!);
    }
  }
}

export function categoryColour(categoryId: number): Rgb {
  const n = CATEGORY_PALETTE.length;
  return CATEGORY_PALETTE[((Math.trunc(categoryId) % n) + n) % n]!;
}

/** Dark or white text, whichever reads better on `background` (perceived luma threshold). */
export function contrastingTextColour([r, g, b]: Rgb): Rgb {
  return 0.299 * r + 0.587 * g + 0.114 * b > 150 ? DARK_TEXT : LIGHT_TEXT;
}

/** Outline width for boxes on a width × height picture: 0.2 % of the long side, as PaddleX, but at least 2 px. */
export function strokeWidthFor(width: number, height: number): number {
  return Math.max(2, Math.round(Math.max(width, height) * 0.002));
}

export function imageToCanvas(img: RgbImage): Canvas {
  // Canvas only takes RGBA pixels; this single pass is the only per-pixel loop in vis.
  const rgba = new Uint8ClampedArray(img.width * img.height * 4);
  const src = img.data;
  for (let s = 0, d = 0; s < src.length; s += 3, d += 4) {
    rgba[d] = src[s]!;
    rgba[d + 1] = src[s + 1]!;
    rgba[d + 2] = src[s + 2]!;
    rgba[d + 3] = 255;
  }
  const canvas = createCanvas(img.width, img.height);
  canvas.getContext('2d').putImageData(new ImageData(rgba, img.width, img.height), 0, 0);
  return canvas;
}

/** A canvas's pixels as an RgbImage (alpha dropped). */
export function canvasToRgb(canvas: Canvas): RgbImage {
  const rgba = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  const data = new Uint8Array(canvas.width * canvas.height * 3);
  for (let s = 0, d = 0; d < data.length; s += 4, d += 3) {
    data[d] = rgba[s]!;
    data[d + 1] = rgba[s + 1]!;
    data[d + 2] = rgba[s + 2]!;
  }
  return { width: canvas.width, height: canvas.height, data };
}

/**
 * Synchronous on purpose: @napi-rs/canvas's async `encode` reads the canvas on a libuv thread while
 * nothing holds the JS object, and a GC meanwhile frees it under the encoder (a SIGSEGV of the
 * instance, seen now and then under load; napi-rs/canvas issue 862, bun issue 8400). Instances run
 * one task at a time off the HTTP thread, so encoding inline costs no concurrency there.
 */
export async function canvasToJpeg(canvas: Canvas, quality: number): Promise<Uint8Array> {
  return canvas.encodeSync('jpeg', quality);
}

/** Sets the font and returns the baseline y that centres the font's ascent–descent box on `centreY`. */
export function setFontCentredOn(ctx: SKRSContext2D, fontPx: number, centreY: number): number {
  ctx.font = visFont(fontPx);
  ctx.textBaseline = 'alphabetic';
  const metrics = ctx.measureText('');
  return centreY + (metrics.fontBoundingBoxAscent - metrics.fontBoundingBoxDescent) / 2;
}

/** Width of `text` in the vis font at `fontPx` (text width scales linearly with font size). */
export function textWidthAt(ctx: SKRSContext2D, text: string, fontPx: number): number {
  ctx.font = visFont(fontPx);
  return ctx.measureText(text).width;
}

/** "name 0.97": the tag PaddleX writes next to a category. */
export function scoreLabel(name: string, score: number): string {
  return `${name} ${score.toFixed(2)}`;
}
