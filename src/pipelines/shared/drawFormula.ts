/**
 * PaddleX's `formula_res_img` (pipelines/formula_recognition/result.py), and the formula model's own
 * result image (models/formula_recognition/result.py: layout parsing v1's `formula_res_region{N}`,
 * drawn like the no-layout case from the formula's crop), with MathJax typesetting the
 * formulas where PaddleX runs xelatex (src/vis/latex.ts). With layout boxes: the page with each formula
 * box filled in a colour at half opacity on the left; on the right, on white, each formula typeset at its
 * box's height from the box's top-left corner, the box outlined in its colour, layers combined by
 * bitwise AND. Colours are PaddleX's: Python's `random.seed(0)` then three `randint(0, 255)` per box.
 * Without layout: the page cropped to its ink, scaled to the typeset formula's height, then the formula
 * 10 px to its right.
 */
import { createCanvas } from '@napi-rs/canvas';
import { MersenneTwister19937 } from 'random-js';
import type { RgbImage } from '../../io/image.js';
import type { Box } from '../../models/objectDetection.js';
import { cropImage, resizeImage } from '../../ops/resize.js';
import { canvasToRgb, cssColour, imageToCanvas, type Rgb, textWidthAt } from '../../vis/draw.js';
import { visFont } from '../../vis/fonts.js';
import { nonWhiteArea, renderLatex } from '../../vis/latex.js';

/** Python's random.seed(0) followed by randint(0, 255) calls (getrandbits(9) with rejection). */
function pythonColours(): () => Rgb {
  // Python seeds an int through init_by_array([n]), not init_genrand(n)
  const mt = MersenneTwister19937.seedWithArray([0]);
  const randint = () => {
    for (;;) {
      const r = mt.next() >>> 23;
      if (r < 256) return r;
    }
  };
  return () => [randint(), randint(), randint()];
}

/** PaddleX's draw_box_txt_fine with "Rendering Failed": black text at the top-left of a white box, font 0.8 × its height (shrunk to fit). */
function renderingFailed(width: number, height: number): RgbImage {
  const canvas = createCanvas(Math.max(1, width), Math.max(1, height));
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = 'white';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  const text = 'Rendering Failed';
  let fontPx = Math.max(1, Math.trunc(height * 0.8));
  const length = textWidthAt(ctx, text, fontPx);
  if (length > width) fontPx = Math.max(1, Math.trunc((fontPx * width) / length));
  ctx.font = visFont(fontPx);
  ctx.fillStyle = 'black';
  ctx.textBaseline = 'top';
  ctx.fillText(text, 0, 0);
  return canvasToRgb(canvas);
}

/** The formula typeset and scaled to `height` (cv2.resize, keeping its aspect), or "Rendering Failed" in a `width` × `height` box. */
async function formulaAtHeight(latex: string, width: number, height: number): Promise<RgbImage> {
  const rendered = await renderLatex(latex);
  if (!rendered) return renderingFailed(width, height);
  return resizeImage(rendered, Math.max(1, Math.trunc((rendered.width * height) / rendered.height)), Math.max(1, height), 1);
}

/** The formulas of a page with layout boxes, side by side with the page. */
async function drawWithBoxes(page: RgbImage, formulas: Array<{ latex: string; box: Box }>): Promise<RgbImage> {
  const { width: w, height: h } = page;
  const colourOf = pythonColours();
  const filled = imageToCanvas(page);
  const fctx = filled.getContext('2d');
  const right = new Uint8Array(w * h * 3).fill(255);
  for (const { latex, box } of formulas) {
    const colour = colourOf();
    const [x1, y1, x2, y2] = box;
    fctx.fillStyle = cssColour(colour);
    // PIL's polygon fill covers its corner pixels
    fctx.fillRect(Math.trunc(x1), Math.trunc(y1), Math.trunc(x2) - Math.trunc(x1) + 1, Math.trunc(y2) - Math.trunc(y1) + 1);
    const layer = new Uint8Array(w * h * 3).fill(255);
    const formula = await formulaAtHeight(latex, Math.trunc(x2 - x1), Math.trunc(y2 - y1));
    const [left, top] = [Math.round(x1), Math.round(y1)];
    for (let y = 0; y < formula.height && top + y < h; y++) {
      if (top + y < 0) continue;
      const columns = Math.min(formula.width, w - left);
      if (columns > 0)
        layer.set(formula.data.subarray(y * formula.width * 3, (y * formula.width + columns) * 3), ((top + y) * w + left) * 3);
    }
    // cv2.polylines of the box's integer corners, 1 px, in the box colour
    const [bx1, by1, bx2, by2] = box.map(Math.trunc) as Box;
    const dot = (x: number, y: number) => {
      if (x >= 0 && y >= 0 && x < w && y < h) layer.set(colour, (y * w + x) * 3);
    };
    for (let x = bx1; x <= bx2; x++) [by1, by2].forEach((y) => dot(x, y));
    for (let y = by1; y <= by2; y++) [bx1, bx2].forEach((x) => dot(x, y));
    for (let i = 0; i < right.length; i++) right[i]! &= layer[i]!;
  }
  const canvas = createCanvas(2 * w, h);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(imageToCanvas(page), 0, 0);
  // Image.blend(page, filled, 0.5)
  ctx.globalAlpha = 0.5;
  ctx.drawImage(filled, 0, 0);
  ctx.globalAlpha = 1;
  ctx.drawImage(imageToCanvas({ width: w, height: h, data: right }), w, 0);
  return canvasToRgb(canvas);
}

/** The one formula of a page read without layout, next to the page's ink; the ink alone when the formula cannot be typeset (xelatex failing). */
async function drawWhole(page: RgbImage, latex: string): Promise<RgbImage> {
  const ink = nonWhiteArea(page);
  const crop = ink ? cropImage(page, ...ink) : page;
  const formula = await renderLatex(latex);
  if (!formula) return crop;
  // the crop to the formula's height (PIL LANCZOS)
  const scaled = await resizeImage(crop, Math.max(1, Math.trunc((formula.height * crop.width) / crop.height)), formula.height, 4);
  const canvas = createCanvas(scaled.width + formula.width + 10, formula.height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = 'white';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(imageToCanvas(scaled), 0, 0);
  ctx.drawImage(imageToCanvas(formula), scaled.width + 10, 0);
  return canvasToRgb(canvas);
}

/**
 * PaddleX's formula_res_img of one page: with layout, `formulas` in their boxes (an empty list still
 * gives the page beside a white half); without, the page's single formula.
 */
export function drawFormulaResult(
  page: RgbImage,
  layout: { formulas: Array<{ latex: string; box: Box }> } | { formula: string },
): Promise<RgbImage> {
  return 'formulas' in layout ? drawWithBoxes(page, layout.formulas) : drawWhole(page, layout.formula);
}
