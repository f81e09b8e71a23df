/**
 * Rendered test documents for the layout parsing pipelines, and a layout fixture that "detects"
 * exactly the blocks a document was drawn with (the fixture imitates PP-DocLayout_plus-L's export:
 * RT-DETR I/O, its 20 labels).
 */
import { writeFileSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createCanvas } from '@napi-rs/canvas';
import YAML from 'yaml';
import { type FixedBox, fixedBoxDetectorDir, realInferenceYml } from './docFixtures.js';
import { fixtureTempRoot } from './fixtures.js';
import { DOC_LAYOUT_PLUS_LABELS } from './formulaFixtures.js';
import { REPO_ROOT } from './paths.js';

/** A block drawn on a page: its label, its box in pixels, and its text lines (none for a figure). */
export interface DrawnBlock {
  label: string;
  box: [number, number, number, number];
  lines?: string[];
  /** first-line indent in pixels */
  indent?: number;
}

export const FONT_PX = 26;
export const LINE_PITCH = 40;

/** A white page with each block's lines drawn from its top-left (a figure: coloured shapes), as PNG. */
export function renderPage(width: number, height: number, blocks: readonly DrawnBlock[]): Buffer {
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = 'white';
  ctx.fillRect(0, 0, width, height);
  for (const block of blocks) {
    const [x1, y1, x2, y2] = block.box;
    if (!block.lines) {
      ctx.fillStyle = '#3a6ea5';
      ctx.fillRect(x1 + 10, y1 + 10, (x2 - x1) / 2 - 20, y2 - y1 - 20);
      ctx.fillStyle = '#e0a030';
      ctx.beginPath();
      ctx.arc(x1 + ((x2 - x1) * 3) / 4, (y1 + y2) / 2, Math.min(x2 - x1, y2 - y1) / 3, 0, 2 * Math.PI);
      ctx.fill();
      continue;
    }
    ctx.fillStyle = 'black';
    ctx.font = `${FONT_PX}px DejaVu Sans`;
    ctx.textBaseline = 'top';
    block.lines.forEach((line, i) => {
      ctx.fillText(line, x1 + (i === 0 ? (block.indent ?? 0) : 0), y1 + 6 + i * LINE_PITCH);
    });
  }
  return canvas.toBuffer('image/png');
}

/**
 * A text block drawn from (x, y): its box fits the lines tightly (4 px beyond the widest), as a
 * layout model boxes a paragraph. `indent` moves the first line right.
 */
export function textBlock(label: string, x: number, y: number, lines: string[], indent = 0): DrawnBlock {
  const ctx = createCanvas(1, 1).getContext('2d');
  ctx.font = `${FONT_PX}px DejaVu Sans`;
  const width = Math.max(...lines.map((line, i) => ctx.measureText(line).width + (i === 0 ? indent : 0)));
  const height = 6 + (lines.length - 1) * LINE_PITCH + FONT_PX + 8;
  return { label, box: [x, y, Math.ceil(x + width + 4), y + height], lines, indent };
}

/** The layout fixture: the blocks' boxes as fractions of the page, score 0.9, class by PP-DocLayout_plus-L label. */
export function layoutFixtureDir(width: number, height: number, blocks: readonly DrawnBlock[]): Promise<string> {
  const boxes: FixedBox[] = blocks.map((b) => ({
    classId: DOC_LAYOUT_PLUS_LABELS.indexOf(b.label),
    score: 0.9,
    box: [b.box[0] / width, b.box[1] / height, b.box[2] / width, b.box[3] / height],
  }));
  for (const [i, b] of boxes.entries()) if (b.classId < 0) throw new Error(`not a PP-DocLayout_plus-L label: ${blocks[i]!.label}`);
  const yml = realInferenceYml('RT-DETR-H_layout_3cls');
  return fixedBoxDetectorDir('PP-DocLayout_plus-L', boxes, {
    ...yml,
    Global: { model_name: 'PP-DocLayout_plus-L' },
    label_list: DOC_LAYOUT_PLUS_LABELS,
  });
}

/**
 * configs/<name>.yaml with the layout model at `layoutDir` and doc preprocessing, table, formula, seal
 * and region detection off (their models are not available here), plus `overrides`. Returns the file path.
 */
export async function layoutPipelineYaml(
  name: 'PP-StructureV3' | 'layout_parsing',
  layoutDir: string,
  overrides: Record<string, unknown> = {},
): Promise<string> {
  const config = YAML.parse(await readFile(path.join(REPO_ROOT, 'configs', `${name}.yaml`), 'utf8'));
  config.SubModules.LayoutDetection.model_dir = layoutDir;
  // the doc preprocessor's models are not here either: its steps off (PP-StructureV3 still runs the stage, as PaddleX would)
  Object.assign(config.SubPipelines.DocPreprocessor, { use_doc_orientation_classify: false, use_doc_unwarping: false });
  Object.assign(
    config,
    { use_doc_preprocessor: false, use_table_recognition: false, use_formula_recognition: false, use_seal_recognition: false },
    overrides,
  );
  if (name === 'PP-StructureV3') config.use_region_detection = overrides.use_region_detection ?? false;
  const file = path.join(await mkdtemp(path.join(fixtureTempRoot(), `${name}-`)), `${name}.yaml`);
  await writeFile(file, YAML.stringify(config));
  return file;
}

export const PAGE_WIDTH = 1200;
export const PAGE_HEIGHT = 1600;

/** A page with a title, two columns, a figure with its caption across them, and a second section. */
export const RICH: DrawnBlock[] = [
  textBlock('doc_title', 120, 60, ['A Study of Layout Parsing']),
  textBlock('paragraph_title', 96, 170, ['1 Introduction']),
  textBlock(
    'text',
    96,
    225,
    ['Documents mix titles and', 'columns of text with figures', 'and captions that a reader', 'visits in order.'],
    40,
  ),
  textBlock(
    'text',
    624,
    170,
    [
      'The right column starts at',
      'the same height as the title',
      'on the left and it goes on',
      'with a few more plain words',
      'about the order of blocks',
      'on the page.',
    ],
    40,
  ),
  { label: 'image', box: [240, 520, 960, 900] },
  textBlock('figure_title', 420, 915, ['Figure 1 Blocks on a page']),
  textBlock('paragraph_title', 96, 1000, ['2 Method']),
  textBlock(
    'text',
    96,
    1055,
    ['We cut the page into parts', 'by the gaps between blocks', 'and sort the parts from', 'top to bottom.'],
    40,
  ),
  textBlock('text', 624, 1000, ['Titles and captions join', 'the blocks next to them so', 'that a figure keeps its', 'caption.'], 40),
];

let richFile: string | undefined;
/** The rich page as a PNG file, written once per process, for `--input`. */
export function richPageFile(): string {
  richFile ??= (() => {
    const file = path.join(fixtureTempRoot(), 'rich-page.png');
    writeFileSync(file, renderPage(PAGE_WIDTH, PAGE_HEIGHT, RICH));
    return file;
  })();
  return richFile;
}
