import type { RgbImage } from '../../io/image.js';
import { canvasToJpeg, categoryColour, cssColour, imageToCanvas, MIN_LABEL_FONT_PX, PIL_JPEG_QUALITY } from '../../vis/draw.js';
import { visFont } from '../../vis/fonts.js';

/**
 * PaddleX's attribute drawing: each object's box in its own colour (by position in the list), and its
 * attribute labels as lines of that colour with a black shadow, from the box's top-left corner down.
 */
export async function drawAttributes(
  img: RgbImage,
  objects: Array<{ bbox: readonly [number, number, number, number]; attributes: Array<{ label: string }> }>,
): Promise<Uint8Array> {
  const canvas = imageToCanvas(img);
  const ctx = canvas.getContext('2d');
  // PaddleX: font int((0.024 w + 2) * 0.7) px, box lines int(0.5 % of the long side) px wide
  const fontPx = Math.max(MIN_LABEL_FONT_PX, Math.trunc((0.024 * img.width + 2) * 0.7));
  const lineWidth = Math.max(2, Math.trunc(Math.max(img.width, img.height) * 0.005));
  ctx.font = visFont(fontPx);
  ctx.textBaseline = 'top';
  ctx.lineWidth = lineWidth;
  objects.forEach(({ bbox: [x1, y1, x2, y2], attributes }, i) => {
    const colour = cssColour(categoryColour(i));
    ctx.strokeStyle = colour;
    ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
    let y = y1;
    for (const { label } of attributes) {
      ctx.fillStyle = 'rgb(0, 0, 0)';
      ctx.fillText(label, x1 + 6, y + 1);
      ctx.fillStyle = colour;
      ctx.fillText(label, x1 + 5, y);
      const metrics = ctx.measureText(label);
      y += metrics.actualBoundingBoxAscent + metrics.actualBoundingBoxDescent + 4;
    }
  });
  return canvasToJpeg(canvas, PIL_JPEG_QUALITY);
}
