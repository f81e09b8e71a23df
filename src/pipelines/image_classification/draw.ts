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
  textWidthAt,
} from '../../vis/draw.js';

/** Classification label size relative to the shorter image side (PaddleX tries 2–5 % of the width). */
const CLASSIFICATION_FONT_RATIO = 0.05;

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
