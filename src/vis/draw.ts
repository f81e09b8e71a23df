import { createCanvas, ImageData, type Canvas, type SKRSContext2D } from '@napi-rs/canvas';
import type { RgbImage } from '../io/image.js';
import { visFont } from './fonts.js';

export type Rgb = readonly [number, number, number];

/** JPEG quality of PaddleX's simple CV visualizations (PIL's default). */
const PIL_JPEG_QUALITY = 75;

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
const MIN_LABEL_FONT_PX = 10;
/** Classification label size relative to the shorter image side (PaddleX tries 2–5 % of the width). */
const CLASSIFICATION_FONT_RATIO = 0.05;
const LINE_SPACING = 1.25;

export function cssColour([r, g, b]: Rgb): string {
  return `rgb(${r}, ${g}, ${b})`;
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

export function canvasToJpeg(canvas: Canvas, quality: number): Promise<Uint8Array> {
  return canvas.encode('jpeg', quality);
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

function scoreLabel(name: string, score: number): string {
  return `${name} ${score.toFixed(2)}`;
}

/** Top-k "name score" lines on a filled box at the top-left, sized to the image. */
export async function drawClassification(
  img: RgbImage,
  categories: Array<{ id: number; name: string; score: number }>,
): Promise<Uint8Array> {
  const canvas = imageToCanvas(img);
  if (categories.length > 0) {
    const ctx = canvas.getContext('2d');
    const labels = categories.map((c) => scoreLabel(c.name, c.score));
    const probePx = 100;
    const widestAtProbe = Math.max(...labels.map((label) => textWidthAt(ctx, label, probePx)));
    // Largest size that keeps every line (plus padding) inside the image, capped by the preferred size.
    const preferredPx = Math.max(MIN_LABEL_FONT_PX, Math.round(CLASSIFICATION_FONT_RATIO * Math.min(img.width, img.height)));
    const fitsWidthPx = (img.width * probePx) / (widestAtProbe + 0.5 * probePx);
    const fitsHeightPx = img.height / (labels.length * LINE_SPACING + 0.5);
    const fontPx = Math.max(MIN_LABEL_FONT_PX, Math.floor(Math.min(preferredPx, fitsWidthPx, fitsHeightPx)));

    const pad = Math.ceil(fontPx * 0.25);
    const lineHeight = fontPx * LINE_SPACING;
    const background = categoryColour(0);
    ctx.fillStyle = cssColour(background);
    ctx.fillRect(0, 0, Math.ceil((widestAtProbe * fontPx) / probePx) + 2 * pad, Math.ceil(labels.length * lineHeight) + 2 * pad);
    ctx.fillStyle = cssColour(contrastingTextColour(background));
    labels.forEach((label, i) => {
      const baseline = setFontCentredOn(ctx, fontPx, pad + (i + 0.5) * lineHeight);
      ctx.fillText(label, pad, baseline);
    });
  }
  return canvasToJpeg(canvas, PIL_JPEG_QUALITY);
}

/** Boxes coloured by category with a "name score" tag above each (inside when the box touches the top). */
export async function drawDetections(
  img: RgbImage,
  objects: Array<{ bbox: [number, number, number, number]; categoryId: number; categoryName: string; score: number }>,
): Promise<Uint8Array> {
  const canvas = imageToCanvas(img);
  const ctx = canvas.getContext('2d');
  const lineWidth = strokeWidthFor(img.width, img.height);
  // PaddleX's detection label size: 1.8 % of the width + 2 px.
  const fontPx = Math.max(MIN_LABEL_FONT_PX, Math.round(0.018 * img.width) + 2);
  const tagHeight = Math.ceil(fontPx * LINE_SPACING);
  const tagPad = Math.ceil(fontPx * 0.2);

  ctx.lineWidth = lineWidth;
  for (const { bbox, categoryId } of objects) {
    const [x1, y1, x2, y2] = bbox;
    ctx.strokeStyle = cssColour(categoryColour(categoryId));
    ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
  }
  // Tags after all boxes, so no box line crosses a tag.
  for (const { bbox, categoryId, categoryName, score } of objects) {
    const [x1, y1] = bbox;
    const colour = categoryColour(categoryId);
    const label = scoreLabel(categoryName, score);
    const tagWidth = Math.ceil(textWidthAt(ctx, label, fontPx)) + 2 * tagPad;
    const boxLeft = x1 - lineWidth / 2;
    const tagX = Math.max(0, Math.min(boxLeft, img.width - tagWidth));
    const tagY = y1 - lineWidth / 2 >= tagHeight ? y1 - lineWidth / 2 - tagHeight : Math.max(0, y1);
    ctx.fillStyle = cssColour(colour);
    ctx.fillRect(tagX, tagY, tagWidth, tagHeight);
    ctx.fillStyle = cssColour(contrastingTextColour(colour));
    ctx.fillText(label, tagX + tagPad, setFontCentredOn(ctx, fontPx, tagY + tagHeight / 2));
  }
  return canvasToJpeg(canvas, PIL_JPEG_QUALITY);
}
