import { createCanvas, type SKRSContext2D } from '@napi-rs/canvas';
import type { RgbImage } from '../../io/image.js';
import { canvasToJpeg, imageToCanvas, setFontCentredOn, strokeWidthFor, textWidthAt } from '../../vis/draw.js';
import { DOCUMENT_JPEG_QUALITY } from './documentWorker.js';

/** PaddleX's `max_output_img_size` default, [maxHeight, maxWidth]. */
const DEFAULT_MAX_SIZE: [number, number] = [2000, 2000];
/** Share of a text box's height (or a vertical box's width) that the glyphs may fill. */
const TEXT_FILL = 0.95;

type Point = { x: number; y: number };

/**
 * Where a polygon's text goes: a (possibly rotated) rectangle `width` × `height` whose top-left
 * corner is `origin`, with unit vectors `along` (reading direction) and `down`.
 */
interface TextFrame {
  origin: Point;
  along: Point;
  down: Point;
  width: number;
  height: number;
}

/**
 * Deterministic per-index colour: hues stepped by the golden ratio stay apart for neighbouring
 * indices (PaddleX draws from a seeded Python RNG, which we cannot reproduce without reimplementing it).
 */
function polygonColour(index: number): string {
  const hue = ((index * 0.618033988749895) % 1) * 360;
  return `hsl(${hue.toFixed(1)}, 85%, 45%)`;
}

function toPoints(poly: number[][]): Point[] {
  return poly.map(([x, y]) => ({ x: x ?? 0, y: y ?? 0 }));
}

function distance(a: Point, b: Point): number {
  return Math.hypot(b.x - a.x, b.y - a.y);
}

/**
 * Quadrilaterals (PaddleOCR orders them top-left, top-right, bottom-right, bottom-left) keep
 * their orientation; other polygons use their axis-aligned bounding box.
 */
function textFrame(points: Point[]): TextFrame | null {
  let origin: Point;
  let right: Point;
  let bottom: Point;
  if (points.length === 4) {
    [origin, right, , bottom] = points as [Point, Point, Point, Point];
  } else {
    const xs = points.map((p) => p.x);
    const ys = points.map((p) => p.y);
    origin = { x: Math.min(...xs), y: Math.min(...ys) };
    right = { x: Math.max(...xs), y: origin.y };
    bottom = { x: origin.x, y: Math.max(...ys) };
  }
  const width = distance(origin, right);
  const height = distance(origin, bottom);
  if (width < 1 || height < 1) return null;
  return {
    origin,
    along: { x: (right.x - origin.x) / width, y: (right.y - origin.y) / width },
    down: { x: (bottom.x - origin.x) / height, y: (bottom.y - origin.y) / height },
    width,
    height,
  };
}

function tracePolygon(ctx: SKRSContext2D, points: Point[]): void {
  ctx.beginPath();
  points.forEach((p, i) => (i === 0 ? ctx.moveTo(p.x, p.y) : ctx.lineTo(p.x, p.y)));
  ctx.closePath();
}

/** Draws `text` filling `frame`; the context's transform is in frame coordinates while drawing. */
function drawTextInFrame(ctx: SKRSContext2D, text: string, frame: TextFrame): void {
  ctx.save();
  ctx.transform(frame.along.x, frame.along.y, frame.down.x, frame.down.y, frame.origin.x, frame.origin.y);
  const chars = Array.from(text);
  if (frame.height > 2 * frame.width) {
    // Tall narrow box: one character per line, each an em high, centred across the box.
    const fontPx = Math.min(frame.width * TEXT_FILL, frame.height / chars.length);
    if (fontPx >= 1) {
      ctx.textAlign = 'center';
      chars.forEach((ch, i) => ctx.fillText(ch, frame.width / 2, setFontCentredOn(ctx, fontPx, (i + 0.5) * fontPx)));
    }
  } else {
    const heightPx = frame.height * TEXT_FILL;
    const widthAtHeight = textWidthAt(ctx, text, heightPx);
    const fontPx = widthAtHeight > frame.width ? (heightPx * frame.width) / widthAtHeight : heightPx;
    if (fontPx >= 1) {
      ctx.textAlign = 'left';
      ctx.fillText(text, 0, setFontCentredOn(ctx, fontPx, frame.height / 2));
    }
  }
  ctx.restore();
}

/**
 * PaddleX's OCR visualization: the input with the detected polygons (left) beside a white page
 * with each recognized text drawn inside its polygon (right), downscaled to fit
 * `maxSize` = [maxHeight, maxWidth], as JPEG.
 */
export async function drawOcrResult(
  img: RgbImage,
  polys: number[][][],
  texts: string[],
  maxSize: [number, number] = DEFAULT_MAX_SIZE,
): Promise<Uint8Array> {
  if (polys.length !== texts.length) {
    throw new Error(`drawOcrResult: ${polys.length} polygons but ${texts.length} texts`);
  }
  const [maxHeight, maxWidth] = maxSize;
  if (!(maxHeight >= 1 && maxWidth >= 2)) {
    throw new Error(`drawOcrResult: maxSize must be [height >= 1, width >= 2], got [${maxSize.join(', ')}]`);
  }
  // Draw straight at the output size instead of drawing full size and resizing afterwards.
  const scale = Math.min(1, maxHeight / img.height, maxWidth / (2 * img.width));
  const halfWidth = Math.max(1, Math.round(img.width * scale));
  const height = Math.max(1, Math.round(img.height * scale));
  const canvas = createCanvas(2 * halfWidth, height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = 'white';
  ctx.fillRect(0, 0, 2 * halfWidth, height);
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(imageToCanvas(img), 0, 0, halfWidth, height);

  const shapes = polys.map((poly) => toPoints(poly)).map((points) => ({ points, frame: textFrame(points) }));
  const onePixel = 1 / scale;

  // Left half: translucent fill and solid outline per polygon.
  ctx.save();
  ctx.beginPath();
  ctx.rect(0, 0, halfWidth, height);
  ctx.clip();
  ctx.setTransform(scale, 0, 0, scale, 0, 0);
  ctx.lineWidth = strokeWidthFor(halfWidth, height) * onePixel;
  shapes.forEach(({ points }, i) => {
    if (points.length < 3) return;
    tracePolygon(ctx, points);
    ctx.fillStyle = ctx.strokeStyle = polygonColour(i);
    ctx.globalAlpha = 0.5;
    ctx.fill();
    ctx.globalAlpha = 1;
    ctx.stroke();
  });
  ctx.restore();

  // Right half: thin outline and the text itself, in the same coordinates shifted by one half.
  ctx.save();
  ctx.beginPath();
  ctx.rect(halfWidth, 0, halfWidth, height);
  ctx.clip();
  ctx.setTransform(scale, 0, 0, scale, halfWidth, 0);
  ctx.lineWidth = onePixel;
  shapes.forEach(({ points, frame }, i) => {
    if (points.length < 3) return;
    tracePolygon(ctx, points);
    ctx.strokeStyle = polygonColour(i);
    ctx.stroke();
    if (frame) {
      ctx.fillStyle = 'black';
      drawTextInFrame(ctx, texts[i]!, frame);
    }
  });
  ctx.restore();

  return canvasToJpeg(canvas, DOCUMENT_JPEG_QUALITY);
}
