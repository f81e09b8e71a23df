import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PDFDocument } from 'pdf-lib';
import { runCli } from './helpers/cli.js';
import { characterErrorRate, withoutSpaces } from './helpers/cer.js';
import {
  type DrawnBlock,
  layoutFixtureDir,
  layoutPipelineYaml,
  PAGE_HEIGHT,
  PAGE_WIDTH,
  RICH,
  renderPage,
  richPageFile,
  textBlock,
} from './helpers/layoutDocs.js';
import { assertErrorEnvelope, postJson, type RunningServer, startServer } from './helpers/server.js';
import {
  DISPLAY_LATEX,
  INLINE_FORMULA,
  INLINE_LATEX,
  INLINE_PARAGRAPH,
  INLINE_WORDS,
  renderStructurePage,
  STRUCTURE_BLOCKS,
  structurePipelineYaml,
} from './helpers/structureDocs.js';
import { decodeImage } from '../src/io/codec.js';
import { cropImage } from '../src/ops/resize.js';
import { nonWhiteArea, renderLatex } from '../src/vis/latex.js';
import { TABLE_WORDS } from './helpers/tableFixtures.js';

/**
 * The ruled table's HTML as PaddleX's table recognition writes it: the SLANet_plus fixture's
 * structure with, in each cell, the one OCR line read there, as read (PaddleX's get_html_result).
 */
function tableHtml(recTexts: string[]): string {
  const read = ocrLines(recTexts, [{ label: 'table', box: [0, 0, 0, 0], lines: TABLE_WORDS.flat() }]);
  const rows = TABLE_WORDS.map((row) => `<tr>${row.map((word) => `<td>${read.get(word)}</td>`).join('')}</tr>`);
  return `<html><body><table><tbody>${rows.join('')}</tbody></table></body></html>`;
}
import { decodeToRgb } from './helpers/textImages.js';
import type { RgbImage } from '../src/io/image.js';

const W = PAGE_WIDTH;
const H = PAGE_HEIGHT;

/**
 * Two columns whose paragraph runs over the page: page 1 starts a paragraph (indented) that fills
 * both columns to their last line; page 2 (the same blocks: the layout fixture gives the same boxes
 * on every page) ends it in the left column and starts a new one in the right.
 */
function continuationPage(page: 1 | 2): DrawnBlock[] {
  const left = textBlock(
    'text',
    96,
    100,
    ['The first page opens a long', 'paragraph that fills the left', 'column and then goes on', 'into the right column of the page'],
    40,
  );
  const right = textBlock('text', 624, 100, [
    'where it keeps running down',
    'the column to the very last',
    'line at the bottom so that it',
    'continues on the page after it',
  ]);
  if (page === 1) return [left, right];
  return [
    {
      ...left,
      indent: 0,
      lines: ['and it goes on at the top of the', 'next page in the left column of', 'that page until it ends with a', 'full stop here.'],
    },
    { ...right, indent: 40, lines: ['A new paragraph starts in', 'the right column and it ends', 'on this page.'] },
  ];
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

/** A PDF whose pages are the PNGs, at PaddleX's render scale (2 px per point). */
async function pdfOf(pngs: Buffer[]): Promise<Uint8Array> {
  const pdf = await PDFDocument.create();
  for (const png of pngs) {
    const image = await pdf.embedPng(png);
    const page = pdf.addPage([W / 2, H / 2]);
    page.drawImage(image, { x: 0, y: 0, width: W / 2, height: H / 2 });
  }
  return pdf.save();
}

/**
 * The OCR line the page's OCR read for each drawn line (same characters but spaces, which the
 * PP-OCRv4 mobile recogniser may drop), so expectations are written on what OCR returned.
 */
function ocrLines(recTexts: string[], blocks: readonly DrawnBlock[]): Map<string, string> {
  const byInk = new Map(recTexts.map((t) => [withoutSpaces(t), t]));
  const out = new Map<string, string>();
  for (const line of blocks.flatMap((b) => b.lines ?? [])) {
    const read = byInk.get(withoutSpaces(line));
    assert.ok(read !== undefined, `OCR read "${line}" (read: ${JSON.stringify(recTexts)})`);
    out.set(line, read);
  }
  return out;
}

/**
 * PaddleX's block text (LayoutBlock.update_text_content / TextLine.format_line) for these blocks:
 * a line ending in a letter gets a space; a last line ending in "." well short of the box gets a
 * newline; single-line titles fill their box, so they only get the space.
 */
function blockText(block: DrawnBlock, read: Map<string, string>): string {
  const lines = block.lines!.map((l) => read.get(l)!);
  if (block.label === 'doc_title') return lines.map((l) => `${l} `).join(' ');
  return lines.map((l) => (l.endsWith('.') ? `${l}\n` : `${l} `)).join('');
}

const near = (actual: number[], expected: number[]) =>
  actual.length === expected.length && actual.every((v, i) => Math.abs(v - expected[i]!) <= 1);

/** PaddleX's get_show_color (order_label=False) for the labels of RICH, drawn at alpha 100/255 over the page. */
const ORDER_FILL: Record<string, [number, number, number]> = {
  doc_title: [255, 248, 220],
  paragraph_title: [102, 102, 255],
  text: [153, 0, 76],
  image: [153, 255, 51],
  figure_title: [102, 178, 255],
};

const pixel = (img: RgbImage, x: number, y: number) => [0, 1, 2].map((c) => img.data[(y * img.width + x) * 3 + c]!);
const isRed = ([r, g, b]: number[]) => r! > 170 && g! < 100 && b! < 100;

/** Red pixels in the rectangle (clipped to the image). */
function redPixels(img: RgbImage, x1: number, y1: number, x2: number, y2: number): number {
  let n = 0;
  for (let y = Math.max(0, y1); y < Math.min(img.height, y2); y++)
    for (let x = Math.max(0, x1); x < Math.min(img.width, x2); x++) if (isRed(pixel(img, x, y))) n++;
  return n;
}

/**
 * `layout_order_res` as PaddleX's LayoutParsingResultV2 draws it: each block filled with its label's
 * colour at alpha 100 (white paper becomes 255·(1 − a) + colour·a), and the blocks with an order
 * number get it in red, its top-left half a font above the box's top, 2 px right of it (font
 * int(0.018 · width) + 2 px); the others get none.
 */
async function assertLayoutOrderImage(img: RgbImage, blocks: any[]) {
  assert.deepEqual([img.width, img.height], [W, H]);
  assert.deepEqual(
    pixel(img, 4, 4).map((v) => v > 245),
    [true, true, true],
    'the page outside the blocks stays white',
  );
  const alpha = 100 / 255;
  const fontPx = Math.trunc(0.018 * W) + 2;
  for (const b of blocks) {
    const [x1, y1, x2] = b.block_bbox;
    // paper inside the box, above the text's first line (and left of the figure's shapes)
    const tint = ORDER_FILL[b.block_label]!.map((c) => 255 * (1 - alpha) + c * alpha);
    for (const [x, y] of [
      [x1 + 2, y1 + 2],
      [x1 + 5, y1 + 3],
    ]) {
      pixel(img, x!, y!).forEach((v, c) => {
        assert.ok(Math.abs(v - tint[c]!) <= 10, `${b.block_label} at ${x},${y}: ${pixel(img, x!, y!)} vs ${tint.map(Math.round)}`);
      });
    }
    const digits = b.block_order === null ? 1 : String(b.block_order).length;
    const left = W - x2 < fontPx ? Math.trunc(x2 - fontPx * 1.1) : x2 + 2;
    const top = y1 - Math.floor(fontPx / 2);
    const red = redPixels(img, left, top, left + Math.ceil(digits * fontPx * 0.7), top + Math.ceil(fontPx * 1.3));
    if (b.block_order === null) assert.equal(red, 0, `no number beside the ${b.block_label}`);
    else assert.ok(red >= 15, `number ${b.block_order} beside the ${b.block_label}: ${red} red pixels`);
  }
}

describe('PP-StructureV3 on rendered pages (layout fixture, real OCR)', () => {
  let rich: RunningServer;
  let continuation: RunningServer;
  let richPng: Buffer;
  before(async () => {
    richPng = renderPage(W, H, RICH);
    rich = await startServer({ pipelines: [await layoutPipelineYaml('PP-StructureV3', await layoutFixtureDir(W, H, RICH))] });
    continuation = await startServer({
      pipelines: [await layoutPipelineYaml('PP-StructureV3', await layoutFixtureDir(W, H, continuationPage(1)))],
    });
  });
  after(async () => {
    await rich?.close();
    await continuation?.close();
  });

  test('blocks, their order and the Markdown of a title, two columns, a figure with caption and a second section', async () => {
    const res = await postJson(`${rich.url}/layout-parsing`, { file: b64(richPng), fileType: 1, visualize: false });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [page] = res.body.result.layoutParsingResults;
    const pruned = page.prunedResult;
    const read = ocrLines(pruned.overall_ocr_res.rec_texts, RICH);
    // reading order: title, section 1 (left column, then right), the figure and its caption, section 2
    const expectedOrder = [0, 1, 2, 3, 4, 5, 6, 7, 8];
    const blocks = pruned.parsing_res_list;
    assert.deepEqual(
      blocks.map((b: any) => b.block_label),
      expectedOrder.map((i) => RICH[i]!.label),
    );
    blocks.forEach((b: any, i: number) => {
      const drawn = RICH[expectedOrder[i]!]!;
      assert.ok(near(b.block_bbox, drawn.box), `${b.block_label} ${b.block_bbox} vs ${drawn.box}`);
      assert.equal(b.block_content, drawn.lines ? blockText(drawn, read) : '', `content of block ${i}`);
      assert.equal(b.block_id, i);
    });
    // PaddleX numbers text, titles and formulas; figures and captions get no order number
    assert.deepEqual(
      blocks.map((b: any) => b.block_order),
      [1, 2, 3, 4, null, null, 5, 6, 7],
    );
    const image = blocks[4];
    const imagePath = `imgs/img_in_image_box_${image.block_bbox.join('_')}.jpg`;
    const t = (i: number) => blockText(RICH[i]!, read);
    const paragraphs = (i: number) => t(i).replaceAll('\n', '\n\n');
    const expectedMarkdown = [
      `# ${t(0)}`,
      `## ${t(1)}`,
      paragraphs(2),
      paragraphs(3),
      `<div style="text-align: center;"><img src="${imagePath}" alt="Image" width="60%" /></div>\n`,
      `<div style="text-align: center;">${t(5)}</div>\n`,
      `## ${t(6)}`,
      paragraphs(7),
      paragraphs(8),
    ].join('\n\n');
    assert.equal(page.markdown.text, expectedMarkdown);
    // the title's first line starts at its box's left edge (PaddleX: a continuation); the last paragraph ends
    assert.equal(page.markdown.isStart, false);
    assert.equal(page.markdown.isEnd, true);
    assert.deepEqual(Object.keys(page.markdown.images), [imagePath]);
    const jpeg = Buffer.from(page.markdown.images[imagePath], 'base64');
    assert.deepEqual([...jpeg.subarray(0, 2)], [0xff, 0xd8]);
    assert.deepEqual(pruned.model_settings, {
      use_doc_preprocessor: true,
      use_seal_recognition: false,
      use_table_recognition: false,
      use_formula_recognition: false,
      use_chart_recognition: false,
      use_region_detection: false,
      format_block_content: false,
      markdown_ignore_labels: ['number', 'footnote', 'header', 'header_image', 'footer', 'footer_image', 'aside_text'],
    });
    assert.deepEqual(pruned.doc_preprocessor_res, {
      model_settings: { use_doc_orientation_classify: false, use_doc_unwarping: false },
      angle: -1,
    });
    assert.equal(page.outputImages, undefined);
  });

  test('returnMarkdownImages: false leaves the images out; formatBlockContent gives blocks as Markdown; visualize draws', async () => {
    const res = await postJson(`${rich.url}/layout-parsing`, {
      file: b64(richPng),
      fileType: 1,
      returnMarkdownImages: false,
      formatBlockContent: true,
      visualize: true,
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [page] = res.body.result.layoutParsingResults;
    assert.deepEqual(page.markdown.images, {});
    assert.match(page.markdown.text, /<img src="imgs\/img_in_image_box_/);
    const blocks = page.prunedResult.parsing_res_list;
    assert.match(blocks[0].block_content, /^# /);
    assert.match(blocks[1].block_content, /^## 1 Introduction/);
    assert.match(blocks[4].block_content, /^<div style="text-align: center;"><img /);
    // PaddleX's order (result_v2.py _to_img): preprocessing, layout, OCR, then the reading order
    assert.deepEqual(Object.keys(page.outputImages), ['preprocessed_img', 'layout_det_res', 'overall_ocr_res', 'layout_order_res']);
    assert.equal(typeof page.inputImage, 'string');
    await assertLayoutOrderImage(await decodeToRgb(Buffer.from(page.outputImages.layout_order_res, 'base64')), blocks);
  });

  test('a paragraph over two PDF pages: isStart / isEnd, and /concatenate-pages joins it with a space', async () => {
    const pdf = await pdfOf([renderPage(W, H, continuationPage(1)), renderPage(W, H, continuationPage(2))]);
    const res = await postJson(`${continuation.url}/layout-parsing`, { file: b64(pdf), fileType: 0, visualize: false });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const pages = res.body.result.layoutParsingResults;
    assert.equal(pages.length, 2);
    assert.deepEqual(
      pages.map((p: any) => [p.markdown.isStart, p.markdown.isEnd]),
      [
        [true, false],
        [false, true],
      ],
    );
    const texts = pages.map((p: any, i: number) => {
      const drawn = continuationPage((i + 1) as 1 | 2);
      const read = ocrLines(p.prunedResult.overall_ocr_res.rec_texts, drawn);
      return drawn.map((b) => blockText(b, read));
    });
    // page 1: the right column continues the left one's paragraph, so the two are joined with nothing between
    assert.equal(pages[0].markdown.text, texts[0].join(''));
    // page 2: the left column ends its paragraph (its last line is short), the right one starts a new one
    assert.equal(pages[1].markdown.text, texts[1].map((t: string) => t.replaceAll('\n', '\n\n')).join('\n\n'));
    const joined = await postJson(`${continuation.url}/concatenate-pages`, {
      pages: pages.map((p: any) => ({ text: p.markdown.text, isStart: p.markdown.isStart, isEnd: p.markdown.isEnd })),
    });
    assert.equal(joined.status, 200, JSON.stringify(joined.body));
    assert.equal(joined.body.result.text, `\n\n${pages[0].markdown.text} ${pages[1].markdown.text}`);
  });

  test("recognisers the YAML switches off, and chart recognition, get PaddleX's invalid-settings error", async () => {
    const file = b64(richPng);
    assert.match(
      assertErrorEnvelope(await postJson(`${rich.url}/layout-parsing`, { file, fileType: 1, useTableRecognition: true }), 422),
      /the input params for model settings are invalid!.*Table recognition.*use_table_recognition: True/,
    );
    assert.match(
      assertErrorEnvelope(await postJson(`${rich.url}/layout-parsing`, { file, fileType: 1, useFormulaRecognition: true }), 422),
      /the input params for model settings are invalid!.*Formula recognition.*use_formula_recognition: True/,
    );
    assert.match(
      assertErrorEnvelope(await postJson(`${rich.url}/layout-parsing`, { file, fileType: 1, useChartRecognition: true }), 422),
      /the input params for model settings are invalid!.*PP-Chart2Table/,
    );
    assert.match(
      assertErrorEnvelope(await postJson(`${rich.url}/layout-parsing`, { file, fileType: 1, useRegionDetection: true }), 422),
      /RegionDetection/,
    );
    assert.match(
      assertErrorEnvelope(await postJson(`${rich.url}/layout-parsing`, { file, fileType: 1, useTableOrientationClassify: null }), 422),
      /useTableOrientationClassify/,
    );
    assert.match(assertErrorEnvelope(await postJson(`${continuation.url}/concatenate-pages`, { pages: [] }), 422), /pages/);
  });
});

describe('PP-StructureV3 with table and formula recognition (fixtures of the real exports, real OCR)', () => {
  let server: RunningServer;
  let png: Buffer;
  before(async () => {
    png = await renderStructurePage(STRUCTURE_BLOCKS);
    server = await startServer({ pipelines: [await structurePipelineYaml('PP-StructureV3', STRUCTURE_BLOCKS)] });
  });
  after(() => server?.close());

  test('a default request: the table as HTML, formulas as $$…$$ and inline $…$, blocks in order, the exact Markdown', async () => {
    const res = await postJson(`${server.url}/layout-parsing`, { file: b64(png), fileType: 1, visualize: false });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [page] = res.body.result.layoutParsingResults;
    const pruned = page.prunedResult;
    const ocr = pruned.overall_ocr_res;
    // the page OCR ran with the formulas painted white: only the formulas' own spans, appended at the end, hold their LaTeX
    // formulas in layout detection order, each read from its box
    const formulaBoxes = pruned.layout_det_res.boxes.filter((b: any) => b.label === 'formula').map((b: any) => b.coordinate);
    const latexOf = (box: number[]) => (near(box, STRUCTURE_BLOCKS[INLINE_FORMULA]!.box) ? INLINE_LATEX : DISPLAY_LATEX);
    assert.deepEqual(
      pruned.formula_res_list,
      formulaBoxes.map((box: number[], i: number) => ({ rec_formula: latexOf(box), formula_region_id: i + 1, dt_polys: [box] })),
    );
    assert.deepEqual(new Set(formulaBoxes.map(latexOf)), new Set([INLINE_LATEX, DISPLAY_LATEX]));
    // the page OCR ran with the formulas painted white: only the formulas' own spans, appended at the end, hold their LaTeX
    const pageTexts = ocr.rec_texts.slice(0, -2);
    assert.deepEqual(ocr.rec_texts.slice(-2), formulaBoxes.map(latexOf));
    assert.ok(!pageTexts.some((t: string) => /mc|a\+b/.test(t)), JSON.stringify(ocr.rec_texts));
    const read = ocrLines(pageTexts, STRUCTURE_BLOCKS);
    const TABLE_HTML = tableHtml(pageTexts);
    assert.equal(pruned.table_res_list.length, 1);
    assert.equal(pruned.table_res_list[0].pred_html, TABLE_HTML);

    // one column, top to bottom; the inline formula's box lies inside its paragraph's and goes (PaddleX's remove_overlap_blocks)
    const expected = [0, 1, 2, INLINE_PARAGRAPH, 5, 6];
    const blocks = pruned.parsing_res_list;
    assert.deepEqual(
      blocks.map((b: any) => b.block_label),
      expected.map((i) => STRUCTURE_BLOCKS[i]!.label),
    );
    blocks.forEach((b: any, i: number) => assert.ok(near(b.block_bbox, STRUCTURE_BLOCKS[expected[i]!]!.box), `${b.block_bbox}`));
    assert.deepEqual(
      blocks.map((b: any) => b.block_order),
      [1, 2, null, 3, 4, 5],
    );
    const t = (i: number) => blockText(STRUCTURE_BLOCKS[i]!, read);
    // the paragraph's two words and the formula between them: `$LaTeX$` and a space after it (format_line)
    const [before, after] = INLINE_WORDS.map((w) => read.get(w)!);
    const inline = `${before} $${INLINE_LATEX}$ ${after}`;
    assert.deepEqual(
      blocks.map((b: any) => b.block_content),
      [t(0), t(1), TABLE_HTML, inline, DISPLAY_LATEX, t(6)],
    );
    const paragraphs = (text: string) => text.replaceAll('\n', '\n\n');
    const expectedMarkdown = [
      `# ${t(0)}`,
      paragraphs(t(1)),
      `\n<div style="text-align: center;">${TABLE_HTML.replace('<table>', '<table border="1">')}</div>\n`,
      paragraphs(inline),
      `$$${DISPLAY_LATEX}$$`,
      paragraphs(t(6)),
    ].join('\n\n');
    assert.equal(page.markdown.text, expectedMarkdown);
    assert.deepEqual([page.markdown.isStart, page.markdown.isEnd], [false, true]);
    // the table and formula blocks' crops; PaddleX crops them from the page it parses, where the formula is white
    const imagePath = (b: any) => `imgs/img_in_${b.block_label}_box_${b.block_bbox.join('_')}.jpg`;
    assert.deepEqual(Object.keys(page.markdown.images), [imagePath(blocks[2]), imagePath(blocks[4])]);
    const formulaCrop = await decodeImage(Buffer.from(page.markdown.images[imagePath(blocks[4])], 'base64'), 'f.jpg');
    assert.ok(
      formulaCrop.data.every((v) => v > 240),
      'the formula block image is white',
    );
    const tableCrop = await decodeImage(Buffer.from(page.markdown.images[imagePath(blocks[2])], 'base64'), 't.jpg');
    assert.ok(
      tableCrop.data.some((v) => v < 50),
      'the table block image shows the table',
    );
    assert.deepEqual(pruned.model_settings, {
      use_doc_preprocessor: true,
      use_seal_recognition: false,
      use_table_recognition: true,
      use_formula_recognition: true,
      use_chart_recognition: false,
      use_region_detection: false,
      format_block_content: false,
      markdown_ignore_labels: ['number', 'footnote', 'header', 'header_image', 'footer', 'footer_image', 'aside_text'],
    });
  });

  test('turning them off: the table and the formula are images again, nothing is whitened; visualize draws the table cells', async () => {
    const off = await postJson(`${server.url}/layout-parsing`, {
      file: b64(png),
      fileType: 1,
      useTableRecognition: false,
      useFormulaRecognition: false,
      visualize: false,
    });
    assert.equal(off.status, 200, JSON.stringify(off.body));
    const [page] = off.body.result.layoutParsingResults;
    assert.equal(page.prunedResult.table_res_list, undefined);
    assert.equal(page.prunedResult.formula_res_list, undefined);
    const md = page.markdown.text;
    assert.match(md, /<img src="imgs\/img_in_table_box_[\d_]+\.jpg" alt="Image" width="53%" \/>/);
    assert.match(md, /<img src="imgs\/img_in_formula_box_[\d_]+\.jpg" alt="Image" width="18%" \/>/);
    assert.ok(!md.includes('$'), md);
    const drawn = await postJson(`${server.url}/layout-parsing`, { file: b64(png), fileType: 1, visualize: true });
    assert.equal(drawn.status, 200, JSON.stringify(drawn.body));
    assert.ok(Object.keys(drawn.body.result.layoutParsingResults[0].outputImages).includes('table_cell_img'));
  });
});

describe('layout_parsing v1 on the rendered page', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ pipelines: [await layoutPipelineYaml('layout_parsing', await layoutFixtureDir(W, H, RICH))] });
  });
  after(() => server?.close());

  test('blocks with their OCR lines joined by newlines, ordered by columns; no Markdown', async () => {
    const res = await postJson(`${server.url}/layout-parsing`, { file: b64(renderPage(W, H, RICH)), fileType: 1, visualize: false });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [page] = res.body.result.layoutParsingResults;
    assert.equal(page.markdown, undefined);
    const pruned = page.prunedResult;
    const read = ocrLines(pruned.overall_ocr_res.rec_texts, RICH);
    // sorted_layout_boxes on a 1200 px page: the title (neither column), then the left column's
    // title and text, the right column's text, flushed by the full-width figure, its caption, then section 2
    const order = [0, 1, 2, 3, 4, 5, 6, 7, 8];
    assert.deepEqual(
      pruned.parsing_res_list.map((b: any) => [b.block_label, b.block_content]),
      order.map((i) => [RICH[i]!.label, (RICH[i]!.lines ?? []).map((l) => read.get(l)).join('\n')]),
    );
    pruned.parsing_res_list.forEach((b: any, i: number) => assert.ok(near(b.block_bbox, RICH[order[i]!]!.box), `${b.block_bbox}`));
    assert.deepEqual(pruned.model_settings, {
      use_doc_preprocessor: false,
      use_seal_recognition: false,
      use_table_recognition: false,
      use_formula_recognition: false,
    });
  });

  test("visualize: layout and OCR images in PaddleX's order (result.py), no reading-order image", async () => {
    const res = await postJson(`${server.url}/layout-parsing`, { file: b64(renderPage(W, H, RICH)), fileType: 1, visualize: true });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(Object.keys(res.body.result.layoutParsingResults[0].outputImages), ['layout_det_res', 'overall_ocr_res']);
  });
});

describe('layout_parsing v1 with table and formula recognition', () => {
  // v1 reads formulas without hiding them from the page OCR: the page has no inline formula
  const blocks = STRUCTURE_BLOCKS.filter((_, i) => i !== INLINE_PARAGRAPH && i !== INLINE_FORMULA);
  let server: RunningServer;
  before(async () => {
    server = await startServer({ pipelines: [await structurePipelineYaml('layout_parsing', blocks)] });
  });
  after(() => server?.close());

  test('table blocks hold the HTML, formula blocks the LaTeX; table_res_list and formula_res_list', async () => {
    const res = await postJson(`${server.url}/layout-parsing`, {
      file: b64(await renderStructurePage(blocks)),
      fileType: 1,
      visualize: false,
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const pruned = res.body.result.layoutParsingResults[0].prunedResult;
    const read = ocrLines(pruned.overall_ocr_res.rec_texts, blocks);
    const TABLE_HTML = tableHtml(pruned.overall_ocr_res.rec_texts);
    assert.deepEqual(
      pruned.parsing_res_list.map((b: any) => [b.block_label, b.block_content]),
      blocks.map((b) => [
        b.label,
        b.label === 'table' ? TABLE_HTML : b.label === 'formula' ? DISPLAY_LATEX : b.lines!.map((l) => read.get(l)).join('\n'),
      ]),
    );
    pruned.parsing_res_list.forEach((b: any, i: number) => assert.ok(near(b.block_bbox, blocks[i]!.box), `${b.block_bbox}`));
    assert.deepEqual(
      pruned.table_res_list.map((t: any) => t.pred_html),
      [TABLE_HTML],
    );
    assert.deepEqual(
      pruned.formula_res_list.map((f: any) => [f.rec_formula, f.formula_region_id]),
      [[DISPLAY_LATEX, 1]],
    );
    assert.deepEqual(pruned.model_settings, {
      use_doc_preprocessor: false,
      use_seal_recognition: false,
      use_table_recognition: true,
      use_formula_recognition: true,
    });
  });

  test("visualize: each formula's own image (formula_res_region1) after the table cells, in result.py's order", async () => {
    const png = await renderStructurePage(blocks);
    const res = await postJson(`${server.url}/layout-parsing`, { file: b64(png), fileType: 1, visualize: true });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [page] = res.body.result.layoutParsingResults;
    assert.deepEqual(Object.keys(page.outputImages), ['layout_det_res', 'overall_ocr_res', 'table_cell_img', 'formula_res_region1']);
    // the formula model's result image: the box's crop cut to its ink (crop_white_area), scaled to the
    // typeset formula's height, 10 px of white, then the typeset formula
    const [x1, y1, x2, y2] = page.prunedResult.formula_res_list[0].dt_polys[0].map(Math.trunc);
    const crop = cropImage(await decodeImage(png, 'p.png'), x1, y1, x2 - x1, y2 - y1);
    const [, , inkWidth, inkHeight] = nonWhiteArea(crop)!;
    const typeset = (await renderLatex(DISPLAY_LATEX))!;
    const drawn = await decodeImage(Buffer.from(page.outputImages.formula_res_region1, 'base64'), 'f.jpg');
    assert.deepEqual(
      [drawn.width, drawn.height],
      [Math.trunc((typeset.height * inkWidth) / inkHeight) + typeset.width + 10, typeset.height],
    );
  });
});

describe('layout parsing with --input', () => {
  test('PP-StructureV3 on an image prints the result', async () => {
    const dir = await layoutFixtureDir(W, H, RICH);
    const yaml = await layoutPipelineYaml('PP-StructureV3', dir);
    const run = await runCli(['--pipeline', yaml, '--input', richPageFile(), '--workers', '1']);
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout);
    const [page] = result.layoutParsingResults;
    assert.equal(page.prunedResult.parsing_res_list.length, RICH.length);
    const expected = RICH.flatMap((b) => b.lines ?? []).join('');
    assert.ok(characterErrorRate(withoutSpaces(page.markdown.text.replace(/<[^>]+>|#/g, '')), withoutSpaces(expected)) < 0.02);
  });
});
