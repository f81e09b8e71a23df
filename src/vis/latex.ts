/**
 * LaTeX rendered to pixels for the formula visualisations. PaddleX compiles each formula with xelatex
 * (`\documentclass[varwidth]{standalone}`, amsmath/amssymb/upgreek, `\begin{large}`, in an `equation`
 * environment) and rasterises the PDF at zoom 2; no TeX toolchain exists here, so MathJax (its TeX input
 * with all packages, SVG output with glyph paths, no fonts needed) typesets the formula and the canvas
 * rasterises the SVG at the same size: `\large` is 14.4 pt, 28.8 px per em at zoom 2.
 */
import { createCanvas, loadImage } from '@napi-rs/canvas';
import { liteAdaptor } from 'mathjax-full/js/adaptors/liteAdaptor.js';
import { RegisterHTMLHandler } from 'mathjax-full/js/handlers/html.js';
import { TeX } from 'mathjax-full/js/input/tex.js';
import { AllPackages } from 'mathjax-full/js/input/tex/AllPackages.js';
import { mathjax } from 'mathjax-full/js/mathjax.js';
import { SVG } from 'mathjax-full/js/output/svg.js';
import type { RgbImage } from '../io/image.js';
import { cropImage } from '../ops/resize.js';
import { canvasToRgb } from './draw.js';

/** px per em: \large (14.4 pt) at PaddleX's pdf2img zoom 2 (144 dpi). */
const EM_PX = 28.8;

let converter: ((latex: string) => string) | undefined;

function texToSvg(latex: string): string {
  if (!converter) {
    const adaptor = liteAdaptor();
    RegisterHTMLHandler(adaptor);
    const tex = new TeX({
      packages: AllPackages,
      // a formula xelatex would reject fails here too, instead of being drawn as an error box
      formatError: (_jax: unknown, error: Error) => {
        throw error;
      },
    });
    const doc = mathjax.document('', { InputJax: tex, OutputJax: new SVG({ fontCache: 'none' }) });
    converter = (source) => adaptor.innerHTML(doc.convert(source, { display: true }) as never);
  }
  return converter(latex);
}

/** The formula typeset black on white and cropped to its ink; undefined when MathJax cannot typeset it (PaddleX: "Rendering Failed"). */
export async function renderLatex(latex: string): Promise<RgbImage | undefined> {
  let svg: string;
  try {
    svg = texToSvg(latex);
  } catch {
    return undefined;
  }
  const viewBox = /viewBox="([-\d.]+) ([-\d.]+) ([\d.]+) ([\d.]+)"/.exec(svg);
  if (!viewBox) return undefined;
  // MathJax's SVG units are thousandths of an em
  const width = Math.max(1, Math.ceil((Number(viewBox[3]) / 1000) * EM_PX));
  const height = Math.max(1, Math.ceil((Number(viewBox[4]) / 1000) * EM_PX));
  const sized = svg.replace(/ width="[^"]*" height="[^"]*"/, ` width="${width}" height="${height}"`).replaceAll('currentColor', 'black');
  const image = await loadImage(Buffer.from(sized));
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = 'white';
  ctx.fillRect(0, 0, width, height);
  ctx.drawImage(image, 0, 0, width, height);
  // pdf2img: the rendered page cropped to its ink
  const rendered = canvasToRgb(canvas);
  const ink = nonWhiteArea(rendered);
  return ink ? cropImage(rendered, ...ink) : rendered;
}

/**
 * PaddleX's crop_white_area: the bounding box of the pixels darker than 240 (gray), as
 * [x, y, width, height]; undefined when there are none.
 */
export function nonWhiteArea(img: RgbImage): [number, number, number, number] | undefined {
  let [x0, y0, x1, y1] = [img.width, img.height, -1, -1];
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const p = (y * img.width + x) * 3;
      // cv2 BGR2GRAY on PaddleX's RGB array (channels read as B, G, R), fixed point
      const gray = (img.data[p]! * 1868 + img.data[p + 1]! * 9617 + img.data[p + 2]! * 4899 + 8192) >> 14;
      if (gray > 240) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  return x1 < 0 ? undefined : [x0, y0, x1 - x0 + 1, y1 - y0 + 1];
}
