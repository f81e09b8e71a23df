import type { RgbImage } from '../../io/image.js';
import {
  canvasToJpeg,
  categoryColour,
  contrastingTextColour,
  cssColour,
  imageToCanvas,
  LINE_SPACING,
  MIN_LABEL_FONT_PX,
  PIL_JPEG_QUALITY,
  scoreLabel,
  setFontCentredOn,
  strokeWidthFor,
  textWidthAt,
} from '../../vis/draw.js';

/** The corners of [x1, y1, x2, y2] or of a rotated [x1, y1, ..., x4, y4] box, in drawing order. */
function corners(bbox: readonly number[]): Array<[number, number]> {
  if (bbox.length === 4) {
    const [x1, y1, x2, y2] = bbox as [number, number, number, number];
    return [
      [x1, y1],
      [x1, y2],
      [x2, y2],
      [x2, y1],
    ];
  }
  return [0, 2, 4, 6].map((i) => [bbox[i]!, bbox[i + 1]!]);
}

/**
 * Boxes (axis-aligned or rotated) coloured by category with a "name score" tag above each, at the
 * top-left of the box's extent as PaddleX places it (inside when the box touches the top).
 */
export async function drawDetections(
  img: RgbImage,
  objects: Array<{ bbox: readonly number[]; categoryId: number; categoryName: string; score: number }>,
): Promise<Uint8Array> {
  const canvas = imageToCanvas(img);
  const ctx = canvas.getContext('2d');
  const lineWidth = strokeWidthFor(img.width, img.height);
  // PaddleX's detection label size: 1.8 % of the width + 2 px.
  const fontPx = Math.max(MIN_LABEL_FONT_PX, Math.round(0.018 * img.width) + 2);
  const tagHeight = Math.ceil(fontPx * LINE_SPACING);
  const tagPad = Math.ceil(fontPx * 0.2);

  ctx.lineWidth = lineWidth;
  ctx.lineJoin = 'miter';
  for (const { bbox, categoryId } of objects) {
    ctx.strokeStyle = cssColour(categoryColour(categoryId));
    ctx.beginPath();
    for (const [x, y] of corners(bbox)) ctx.lineTo(x, y);
    ctx.closePath();
    ctx.stroke();
  }
  // Tags after all boxes, so no box line crosses a tag.
  for (const { bbox, categoryId, categoryName, score } of objects) {
    const points = corners(bbox);
    const x1 = Math.min(...points.map(([x]) => x));
    const y1 = Math.min(...points.map(([, y]) => y));
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
