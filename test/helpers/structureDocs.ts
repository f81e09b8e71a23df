/**
 * A rendered page for layout parsing with tables and formulas: a title, paragraphs, the ruled table
 * of tableFixtures, a paragraph with an inline formula, a display formula (formulaFixtures), and the
 * layout, table and formula fixtures whose outputs encode it.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { createCanvas, loadImage } from '@napi-rs/canvas';
import YAML from 'yaml';
import { DOC_ORI_INT8_DIR } from './docPreprocessingFixtures.js';
import { formulaFixtureDir, renderTallFormula, renderWideFormula, tokenIds } from './formulaFixtures.js';
import {
  type DrawnBlock,
  FONT_PX,
  layoutFixtureDir,
  layoutPipelineYaml,
  PAGE_HEIGHT,
  PAGE_WIDTH,
  renderPage,
  textBlock,
} from './layoutDocs.js';
import {
  cellDetFixtureDir,
  renderTablePage,
  structureDir,
  TABLE_CELLS,
  TABLE_HEIGHT,
  TABLE_WIDTH,
  tableClsFixtureDir,
  tableSteps,
} from './tableFixtures.js';

/** What the formula fixture answers for the wide formula (E = mc²) and the tall one ((a + b) / 2), once decoded. */
export const INLINE_LATEX = 'E=m c^{2}';
export const DISPLAY_LATEX = '\\frac{a+b}{2}';
const EMC2 = tokenIds(['<s>', 'E', 'Ġ=', 'Ġm', 'Ġc', 'Ġ^', 'Ġ{', 'Ġ2', 'Ġ}', '</s>']);
const FRACTION = tokenIds(['<s>', '\\frac', 'Ġ{', 'Ġa', 'Ġ+', 'Ġb', 'Ġ}', 'Ġ{', 'Ġ2', 'Ġ}', '</s>']);

const TABLE_LEFT = 96;
const TABLE_TOP = 300;
/** The inline formula: the wide formula drawn at half size between two words of one line. */
const INLINE = { words: ['Energy is', 'at rest.'], top: 720, scale: 0.5 };
/** The inline paragraph's two words, either side of its formula. */
export const INLINE_WORDS = INLINE.words;
const WIDE = { width: 420, height: 110 };
const TALL = { left: 300, top: 820, width: 220, height: 190 };

function measure(text: string): number {
  const ctx = createCanvas(1, 1).getContext('2d');
  ctx.font = `${FONT_PX}px DejaVu Sans`;
  return Math.ceil(ctx.measureText(text).width);
}

const inlineFormulaLeft = TABLE_LEFT + measure(INLINE.words[0]!) + 16;
const inlineFormulaBox: [number, number, number, number] = [
  inlineFormulaLeft,
  INLINE.top,
  inlineFormulaLeft + WIDE.width * INLINE.scale,
  INLINE.top + WIDE.height * INLINE.scale,
];
const secondWordLeft = inlineFormulaBox[2] + 16;
const wordTop = INLINE.top + 14;

/** The page's blocks in detection order; `lines` for the text blocks (the inline paragraph's are its two words). */
export const STRUCTURE_BLOCKS: DrawnBlock[] = [
  textBlock('doc_title', 120, 60, ['Fruit Prices and Energy']),
  textBlock('text', 96, 170, ['The table lists the fruit we', 'sold, with prices.'], 40),
  { label: 'table', box: [TABLE_LEFT, TABLE_TOP, TABLE_LEFT + TABLE_WIDTH, TABLE_TOP + TABLE_HEIGHT] },
  {
    label: 'text',
    box: [96, INLINE.top - 4, secondWordLeft + measure(INLINE.words[1]!) + 4, inlineFormulaBox[3] + 4],
    lines: INLINE.words,
  },
  { label: 'formula', box: inlineFormulaBox },
  { label: 'formula', box: [TALL.left, TALL.top, TALL.left + TALL.width, TALL.top + TALL.height] },
  textBlock('text', 96, 1060, ['A last paragraph ends', 'the page.'], 40),
];

/** Index of the paragraph holding the inline formula, and of that formula, in STRUCTURE_BLOCKS. */
export const INLINE_PARAGRAPH = 3;
export const INLINE_FORMULA = 4;

/** The page of `blocks` (STRUCTURE_BLOCKS, or some of them) as PNG. */
export async function renderStructurePage(blocks: readonly DrawnBlock[]): Promise<Buffer> {
  const plain = blocks.filter((b) => b.lines && b !== STRUCTURE_BLOCKS[INLINE_PARAGRAPH]);
  const canvas = createCanvas(PAGE_WIDTH, PAGE_HEIGHT);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(await loadImage(renderPage(PAGE_WIDTH, PAGE_HEIGHT, plain)), 0, 0);
  ctx.drawImage(await loadImage(renderTablePage()), TABLE_LEFT, TABLE_TOP);
  ctx.drawImage(await loadImage(renderTallFormula()), TALL.left, TALL.top);
  if (blocks.includes(STRUCTURE_BLOCKS[INLINE_PARAGRAPH]!)) {
    const [x1, y1, x2, y2] = inlineFormulaBox;
    ctx.drawImage(await loadImage(renderWideFormula()), x1, y1, x2 - x1, y2 - y1);
    ctx.fillStyle = 'black';
    ctx.font = `${FONT_PX}px DejaVu Sans`;
    ctx.textBaseline = 'top';
    ctx.fillText(INLINE.words[0]!, 96, wordTop);
    ctx.fillText(INLINE.words[1]!, secondWordLeft, wordTop);
  }
  return canvas.toBuffer('image/png');
}

/**
 * configs/<name>.yaml over the layout fixture of `blocks`, with table and formula recognition on:
 * the formula fixture (wide → E = mc², tall → the fraction), and for PP-StructureV3 the table
 * classifier answering wireless, SLANet_plus fixtures giving the table's structure, cell detectors
 * finding its cells and the real PP-LCNet_x1_0_doc_ori for table orientation; for v1, SLANet_plus.
 */
export async function structurePipelineYaml(name: 'PP-StructureV3' | 'layout_parsing', blocks: readonly DrawnBlock[]): Promise<string> {
  const structure = await structureDir(tableSteps(), TABLE_WIDTH, TABLE_HEIGHT);
  const formulaModel = name === 'PP-StructureV3' ? 'PP-FormulaNet_plus-L' : 'PP-FormulaNet-L';
  const formulaDir = await formulaFixtureDir(formulaModel, { wide: EMC2, tall: FRACTION, rowsThreshold: 400 });
  const yaml = await layoutPipelineYaml(name, await layoutFixtureDir(PAGE_WIDTH, PAGE_HEIGHT, blocks), {
    use_table_recognition: true,
    use_formula_recognition: true,
  });
  const config = YAML.parse(await readFile(yaml, 'utf8'));
  const table = config.SubPipelines.TableRecognition;
  if (name === 'PP-StructureV3') {
    const cells = await cellDetFixtureDir(TABLE_CELLS, [0.95, 0.9, 0.85, 0.8, 0.75, 0.7], TABLE_WIDTH, TABLE_HEIGHT);
    const dirs: Record<string, string> = {
      TableClassification: await tableClsFixtureDir([0.2, 0.8]),
      TableOrientationClassify: DOC_ORI_INT8_DIR,
      WiredTableStructureRecognition: structure,
      WirelessTableStructureRecognition: structure,
      WiredTableCellsDetection: cells,
      WirelessTableCellsDetection: cells,
    };
    for (const [role, dir] of Object.entries(dirs)) table.SubModules[role].model_dir = dir;
  } else {
    table.SubModules.TableStructureRecognition.model_dir = structure;
  }
  config.SubPipelines.FormulaRecognition.SubModules.FormulaRecognition.model_dir = formulaDir;
  await writeFile(yaml, YAML.stringify(config));
  return yaml;
}
