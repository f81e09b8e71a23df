/**
 * PP-StructureV3's `layout_order_res` image (PaddleX LayoutParsingResultV2._to_img): every block of
 * `parsing_res_list` filled with its label's translucent colour (utils.get_show_color), and the
 * blocks that have a reading-order number get it in red beside their top-right corner.
 */
import type { RgbImage } from '../../io/image.js';
import { canvasToRgb, cssColour, imageToCanvas, type Rgb } from '../../vis/draw.js';
import { visFont } from '../../vis/fonts.js';
import { encodeOutputImage } from '../shared/documentWorker.js';

/** PaddleX's get_show_color (order_label=False): RGB, drawn at alpha 100 of 255. */
const LABEL_COLOURS: Record<string, Rgb> = {
  paragraph_title: [102, 102, 255],
  doc_title: [255, 248, 220],
  table_title: [255, 255, 102],
  figure_title: [102, 178, 255],
  chart_title: [221, 160, 221],
  vision_footnote: [144, 238, 144],
  text: [153, 0, 76],
  formula: [0, 255, 0],
  abstract: [255, 239, 213],
  content: [40, 169, 92],
  seal: [158, 158, 158],
  table: [204, 204, 0],
  image: [153, 255, 51],
  figure: [153, 255, 51],
  chart: [216, 191, 216],
  reference: [229, 255, 204],
  algorithm: [255, 250, 240],
};
const DEFAULT_COLOUR: Rgb = [158, 158, 158];
const FILL_ALPHA = 100 / 255;
const NUMBER_COLOUR: Rgb = [255, 0, 0];

function layoutOrderColour(label: string): Rgb {
  return LABEL_COLOURS[label] ?? DEFAULT_COLOUR;
}

/** PaddleX's number font size for a page `width` pixels wide: 1.8 % of the width + 2. */
function orderNumberFontPx(width: number): number {
  return Math.trunc(0.018 * width) + 2;
}

/**
 * Where PaddleX puts a block's number (the text's top-left): 2 px right of the box, half a font
 * above its top; moved inside the box's right edge when the page has less than a font size left.
 */
function orderNumberPosition(bbox: readonly number[], pageWidth: number, fontPx: number): [number, number] {
  const [, y1, x2] = bbox as [number, number, number, number];
  const top = y1 - Math.floor(fontPx / 2);
  return pageWidth - x2 < fontPx ? [Math.trunc(x2 - fontPx * 1.1), top] : [x2 + 2, top];
}

export interface OrderedBlock {
  label: string;
  /** integer [x1, y1, x2, y2], both corners inside the block (PIL's rectangle) */
  bbox: readonly number[];
  orderIndex: number | null;
}

/** The `layout_order_res` image of a page (the page after doc preprocessing), as an output JPEG. */
export async function drawLayoutOrder(
  page: RgbImage,
  blocks: readonly OrderedBlock[],
  maxOutputImgSize: readonly [number, number],
): Promise<Uint8Array> {
  const canvas = imageToCanvas(page);
  const ctx = canvas.getContext('2d');
  const fontPx = orderNumberFontPx(page.width);
  ctx.font = visFont(fontPx);
  ctx.textBaseline = 'alphabetic';
  const ascent = ctx.measureText('0').fontBoundingBoxAscent;
  // block by block, as PaddleX draws: a later fill may cover an earlier number
  for (const { label, bbox, orderIndex } of blocks) {
    const [x1, y1, x2, y2] = bbox as [number, number, number, number];
    const [r, g, b] = layoutOrderColour(label);
    ctx.fillStyle = `rgba(${r}, ${g}, ${b}, ${FILL_ALPHA})`;
    ctx.fillRect(x1, y1, x2 - x1 + 1, y2 - y1 + 1);
    if (orderIndex === null) continue;
    const [x, top] = orderNumberPosition(bbox, page.width, fontPx);
    ctx.fillStyle = cssColour(NUMBER_COLOUR);
    // PIL anchors text at its ascender line; the canvas at its baseline
    ctx.fillText(String(orderIndex), x, top + ascent);
  }
  return encodeOutputImage(canvasToRgb(canvas), maxOutputImgSize);
}
