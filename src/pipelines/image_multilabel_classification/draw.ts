import { createCanvas } from '@napi-rs/canvas';
import type { RgbImage } from '../../io/image.js';
import {
  canvasToJpeg,
  categoryColour,
  contrastingTextColour,
  cssColour,
  imageToCanvas,
  MIN_LABEL_FONT_PX,
  PIL_JPEG_QUALITY,
  setFontCentredOn,
  textWidthAt,
} from '../../vis/draw.js';

/** PaddleX's multi-label label size: 6 % of the image width. */
const FONT_RATIO = 0.06;
/** PaddleX's row pitch: 1.2 × the text height. */
const ROW_PITCH = 1.2;

/**
 * As PaddleX's MLClassResult draws: the image unchanged, with a band added below it holding
 * "name(score)" entries, wrapped into rows of the image's width.
 */
export async function drawMultiLabel(img: RgbImage, categories: Array<{ name: string; score: number }>): Promise<Uint8Array> {
  const fontPx = Math.max(MIN_LABEL_FONT_PX, Math.floor(img.width * FONT_RATIO));
  const probe = createCanvas(1, 1).getContext('2d');
  const gap = textWidthAt(probe, ' ', fontPx);
  const rows: string[][] = [[]];
  let rowWidth = gap;
  for (const { name, score } of categories) {
    const text = `${name}(${score})`;
    const width = textWidthAt(probe, text, fontPx) + gap;
    if (rowWidth + width > img.width && rows.at(-1)!.length > 0) {
      rows.push([]);
      rowWidth = gap;
    }
    rows.at(-1)!.push(text);
    rowWidth += width;
  }
  const rowHeight = Math.floor(fontPx * ROW_PITCH);
  const canvas = createCanvas(img.width, img.height + rows.length * rowHeight);
  const ctx = canvas.getContext('2d');
  const background = categoryColour(0);
  ctx.fillStyle = cssColour(background);
  ctx.fillRect(0, img.height, img.width, rows.length * rowHeight);
  ctx.drawImage(imageToCanvas(img), 0, 0);
  ctx.fillStyle = cssColour(contrastingTextColour(background));
  rows.forEach((row, i) => {
    const baseline = setFontCentredOn(ctx, fontPx, img.height + (i + 0.5) * rowHeight);
    ctx.fillText(row.join(' '), gap, baseline);
  });
  return canvasToJpeg(canvas, PIL_JPEG_QUALITY);
}
