/**
 * Fixtures of the table recognition pipelines: a rendered table page, and self-made model dirs with
 * the I/O of the real exports (named at each builder) whose outputs encode that table.
 */
import { writeFileSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createCanvas } from '@napi-rs/canvas';
import YAML from 'yaml';
import { fixedBoxDetectorDir, realInferenceYml, type TableStep, tableStructureFixtureDir, writeFixtureDir } from './docFixtures.js';
import { fixtureTempRoot } from './fixtures.js';
import { buildModel, floatTensor, int64Tensor, node, valueInfo } from './onnxBuilder.js';
import { REPO_ROOT } from './paths.js';

export type Cell = [number, number, number, number];

/** A 3-row × 2-column ruled table: its words, row by row, and its cells in table pixels. */
export const TABLE_WORDS = [
  ['Fruit', 'Price'],
  ['Apple', '12'],
  ['Pear', '7'],
];
export const TABLE_WIDTH = 640;
export const TABLE_HEIGHT = 240;
const COLUMNS = [10, 320, 630];
const ROWS = [10, 83, 156, 229];
export const TABLE_CELLS: Cell[] = TABLE_WORDS.flatMap((row, r) =>
  row.map((_, c): Cell => [COLUMNS[c]!, ROWS[r]!, COLUMNS[c + 1]!, ROWS[r + 1]!]),
);

/**
 * A white page of `width` × `height` with the table at (`left`, `top`) and, when given, a `title`
 * line 40 px above it and `lines` of text (each centred on page row `y`, 10 px right of `left`). PNG bytes.
 */
export function renderTablePage(
  opts: { width?: number; height?: number; left?: number; top?: number; title?: string; lines?: Array<{ text: string; y: number }> } = {},
): Buffer {
  const { width = TABLE_WIDTH, height = TABLE_HEIGHT, left = 0, top = 0, title, lines = [] } = opts;
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = 'white';
  ctx.fillRect(0, 0, width, height);
  ctx.strokeStyle = 'black';
  ctx.lineWidth = 2;
  for (const [x1, y1, x2, y2] of TABLE_CELLS) ctx.strokeRect(left + x1, top + y1, x2 - x1, y2 - y1);
  ctx.fillStyle = 'black';
  ctx.font = '36px sans-serif';
  ctx.textBaseline = 'middle';
  TABLE_WORDS.flat().forEach((word, i) => {
    const [x1, y1, , y2] = TABLE_CELLS[i]!;
    ctx.fillText(word, left + x1 + 40, top + (y1 + y2) / 2);
  });
  if (title) ctx.fillText(title, left + 10, top - 40);
  for (const { text, y } of lines) ctx.fillText(text, left + 10, y);
  return canvas.toBuffer('image/png');
}

/** The structure-model steps of the table: a tbody of 3 rows of 2 `<td></td>` cells, each with its box (in `cropWidth` × `cropHeight` pixels, offset by `offset`). */
export function tableSteps(offset: [number, number] = [0, 0]): TableStep[] {
  const cell = (i: number): Cell => {
    const [x1, y1, x2, y2] = TABLE_CELLS[i]!;
    return [x1 + offset[0], y1 + offset[1], x2 + offset[0], y2 + offset[1]];
  };
  return [
    { token: '<tbody>' },
    ...TABLE_WORDS.flatMap((row, r) => [
      { token: '<tr>' },
      ...row.map((_, c) => ({ token: '<td></td>', cell: cell(2 * r + c) })),
      { token: '</tr>' },
    ]),
    { token: '</tbody>' },
    { token: 'eos' },
  ];
}

/** SLANet_plus fixture for a table image of `width` × `height` (tableStructureFixtureDir). */
export function structureDir(steps: TableStep[], width: number, height: number): Promise<string> {
  return tableStructureFixtureDir(steps, width, height);
}

/**
 * Imitates PP-LCNet_x1_0_table_cls, a PaddleClas export (input `x` f32 [-1, 3, 224, 224], output
 * `fetch_name_0` f32 [-1, 2] softmax scores), with an inference.yml as PaddleX ships it for the
 * PP-LCNet classifiers (the doc orientation model's, with the table labels). Whatever the image,
 * the scores are `scores` ([wired_table, wireless_table]).
 */
export function tableClsFixtureDir(scores: [number, number]): Promise<string> {
  const yml = realInferenceYml('PP-LCNet_x1_0_doc_ori');
  yml.Global.model_name = 'PP-LCNet_x1_0_table_cls';
  yml.PostProcess = { Topk: { topk: 1, label_list: ['wired_table', 'wireless_table'] } };
  const model = buildModel({
    inputs: [valueInfo('x', ['N', 3, 224, 224])],
    outputs: [valueInfo('fetch_name_0', ['N', 2])],
    initializers: [floatTensor('scores', [1, 2], scores), int64Tensor('batch_axis', [1], [0]), int64Tensor('classes', [1], [2])],
    nodes: [
      node('Shape', ['x'], ['x_shape']),
      node('Gather', ['x_shape', 'batch_axis'], ['batch'], { axis: { i: 0 } }),
      node('Concat', ['batch', 'classes'], ['out_shape'], { axis: { i: 0 } }),
      node('Expand', ['scores', 'out_shape'], ['fetch_name_0']),
    ],
  });
  return writeFixtureDir('PP-LCNet_x1_0_table_cls', model, yml);
}

/**
 * Imitates RT-DETR-L_wired_table_cell_det (an RT-DETR export with post-process: the I/O of the real
 * RT-DETR-H_layout_3cls program, one class `cell`): whatever the image, it finds `cells` (pixels of
 * a `width` × `height` input) with the given scores.
 */
export function cellDetFixtureDir(
  cells: readonly Cell[],
  scores: readonly number[],
  width: number,
  height: number,
  modelName = 'RT-DETR-L_wired_table_cell_det',
): Promise<string> {
  const yml = realInferenceYml('RT-DETR-H_layout_3cls');
  yml.Global.model_name = modelName;
  yml.label_list = ['cell'];
  return fixedBoxDetectorDir(
    modelName,
    cells.map(([x1, y1, x2, y2], i) => ({ classId: 0, score: scores[i]!, box: [x1 / width, y1 / height, x2 / width, y2 / height] })),
    yml,
  );
}

/** A cell box as the fixed-box detector gives it: float32 fractions times the image size, in float32. */
export function detectedCell([x1, y1, x2, y2]: Cell, width: number, height: number): Cell {
  const px = (v: number, size: number) => Math.fround(Math.fround(v / size) * size);
  return [px(x1, width), px(y1, height), px(x2, width), px(y2, height)];
}

/** A cell box as the SLANet_plus fixture decodes it for an image whose long side is `longSide` (float32 fraction × 488 / scale, truncated). */
export function decodedCell(cell: Cell, longSide: number): Cell {
  return cell.map((v) => Math.trunc((Math.fround(v / longSide) * 488) / (488 / longSide))) as Cell;
}

/**
 * A copy of configs/<pipeline>.yaml with its model dirs set from `models` (role → dir; roles of
 * GeneralOCR keep the shipped models) and `top` merged into the top level. Returns the file path.
 */
export async function tablePipelineYaml(
  pipeline: 'table_recognition' | 'table_recognition_v2',
  models: Record<string, string>,
  top: Record<string, unknown> = {},
): Promise<string> {
  const config = YAML.parse(await readFile(path.join(REPO_ROOT, 'configs', `${pipeline}.yaml`), 'utf8'));
  for (const [role, dir] of Object.entries(models)) {
    if (!config.SubModules[role]) throw new Error(`configs/${pipeline}.yaml has no SubModules.${role}`);
    config.SubModules[role].model_dir = dir;
  }
  for (const role of Object.keys(config.SubModules)) if (!models[role]) delete config.SubModules[role];
  // no doc preprocessing unless a test asks for it (the built-in YAML turns it on, as PaddleX's)
  Object.assign(config, { use_doc_preprocessor: false }, top);
  const file = path.join(await mkdtemp(path.join(fixtureTempRoot(), `${pipeline}-`)), `${pipeline}.yaml`);
  await writeFile(file, YAML.stringify(config));
  return file;
}

let tablePage: string | undefined;
/** The rendered table (renderTablePage()) as a PNG file, written once per process, for `--input`. */
export function tablePageFile(): string {
  tablePage ??= (() => {
    const file = path.join(fixtureTempRoot(), 'table.png');
    writeFileSync(file, renderTablePage());
    return file;
  })();
  return tablePage;
}

/** table_recognition on the rendered table: its SLANet_plus fixture, the whole page as the table. */
export async function tableV1Yaml(): Promise<string> {
  const structure = await structureDir(tableSteps(), TABLE_WIDTH, TABLE_HEIGHT);
  return tablePipelineYaml('table_recognition', { TableStructureRecognition: structure }, { use_layout_detection: false });
}

/**
 * table_recognition_v2 on the rendered table, the whole page as the table: the classifier answers
 * `clsScores` ([wired, wireless]), the cell detectors find the table's cells with `cellScores`, both
 * structure models give its structure; with `orientationDir`, that table orientation model.
 */
export async function tableV2Yaml(opts: { clsScores: [number, number]; cellScores: number[]; orientationDir?: string }): Promise<string> {
  const structure = await structureDir(tableSteps(), TABLE_WIDTH, TABLE_HEIGHT);
  const cells = await cellDetFixtureDir(TABLE_CELLS, opts.cellScores, TABLE_WIDTH, TABLE_HEIGHT);
  return tablePipelineYaml(
    'table_recognition_v2',
    {
      TableClassification: await tableClsFixtureDir(opts.clsScores),
      WiredTableStructureRecognition: structure,
      WirelessTableStructureRecognition: structure,
      WiredTableCellsDetection: cells,
      WirelessTableCellsDetection: cells,
      ...(opts.orientationDir ? { TableOrientationClassify: opts.orientationDir } : {}),
    },
    { use_layout_detection: false },
  );
}
