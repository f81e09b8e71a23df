import type { RgbImage } from '../../io/image.js';
import type { SamMask, SamPrompt } from '../../models/openVocabularySegmentation.js';
import { canvasToJpeg, categoryColour, cssColour, imageToCanvas, PIL_JPEG_QUALITY, strokeWidthFor, tintMask } from '../../vis/draw.js';

/** As PaddleX's SAMSegResult draws: each mask tinted in a colour of its own, then its box prompt outlined or its point marked in white. */
export function drawMasks(img: RgbImage, masks: SamMask[], prompt: SamPrompt): Promise<Uint8Array> {
  const data = new Uint8Array(img.data);
  masks.forEach((mask, i) => tintMask(data, img.width, img.height, { ...mask, left: 0, top: 0 }, categoryColour(i)));
  const canvas = imageToCanvas({ ...img, data });
  const ctx = canvas.getContext('2d');
  ctx.lineWidth = strokeWidthFor(img.width, img.height);
  if (prompt.kind === 'box') {
    prompt.boxes.forEach(([x1, y1, x2, y2], i) => {
      ctx.strokeStyle = cssColour(categoryColour(i));
      ctx.strokeRect(x1!, y1!, x2! - x1!, y2! - y1!);
    });
  } else {
    ctx.fillStyle = 'rgb(255, 255, 255)';
    ctx.beginPath();
    ctx.arc(prompt.point[0], prompt.point[1], 2 * ctx.lineWidth, 0, 2 * Math.PI);
    ctx.fill();
  }
  return canvasToJpeg(canvas, PIL_JPEG_QUALITY);
}
