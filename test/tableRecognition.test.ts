import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createCanvas, loadImage } from '@napi-rs/canvas';
import { moduleOfModelName } from '../src/models/registry.js';
import {
  alignRowStarts,
  cellsHtml,
  cellsNms,
  cellsToHtmlTokens,
  combineRectangles,
  kmeansLabels,
  linesInsideTable,
  matchLinesToCells,
  sortByYProjection,
  neighborLineIndices,
  reconcileCells,
  sortCellsIntoRows,
  splitHtmlTokens,
  splitLinesByCells,
  structureRowStarts,
  subRegionOcr,
  tableResFromCells,
  tableResFromStructure,
} from '../src/pipelines/shared/tablePostprocess.js';
import { fixedBoxDetectorDir } from './helpers/docFixtures.js';
import { DOC_ORI_INT8_DIR } from './helpers/docPreprocessingFixtures.js';
import { assertErrorEnvelope, postJson, type RunningServer, startServer } from './helpers/server.js';
import {
  decodedCell,
  detectedCell,
  renderTablePage,
  structureDir,
  TABLE_CELLS,
  TABLE_HEIGHT,
  TABLE_WIDTH,
  tablePipelineYaml,
  tableSteps,
  tableV1Yaml,
  tableV2Yaml,
} from './helpers/tableFixtures.js';

const lines = (boxes: number[][], texts: string[]) => ({
  rec_polys: boxes.map(
    ([x1, y1, x2, y2]): Array<[number, number]> => [
      [x1!, y1!],
      [x2!, y1!],
      [x2!, y2!],
      [x1!, y2!],
    ],
  ),
  rec_texts: texts,
  rec_scores: texts.map(() => 0.9),
  rec_boxes: boxes,
});

// Worked examples, each derived by hand from PaddleX's source (table_recognition_post_processing*.py, pipeline_v2.py).
describe('table post-processing (PaddleX worked examples)', () => {
  test('get_sub_regions_ocr_res keeps lines overlapping the table by more than 3 px each way; neighbours touch its top/bottom band', () => {
    const ocr = lines(
      [
        [0, 0, 50, 20],
        [10, 30, 60, 50],
        [96, 30, 140, 50],
        [10, 95, 60, 110],
      ],
      ['title', 'in', 'edge', 'below'],
    );
    assert.deepEqual(subRegionOcr(ocr, [0, 25, 100, 100]).rec_texts, ['in', 'edge', 'below']);
    // overlap heights: -5 (title, above), 20, 20, 5 → only |h| < 3 and > -15 with a horizontal overlap: title
    assert.deepEqual(neighborLineIndices(ocr.rec_boxes, [0, 25, 100, 100]), [0]);
  });

  test('split_string_by_keywords: "<table" and the spaces before attributes are parts of their own', () => {
    assert.deepEqual(splitHtmlTokens('<table><tbody><tr><td rowspan="2" colspan="3"></td><td></td></tr></tbody></table>'), [
      '<table',
      '>',
      '<tbody>',
      '<tr>',
      '<td',
      ' ',
      'rowspan="2"',
      ' ',
      'colspan="3"',
      '>',
      '</td>',
      '<td>',
      '</td>',
      '</tr>',
      '</tbody>',
      '</table',
      '>',
    ]);
  });

  test('trans_cells_det_results_to_html: edges within 5 px cluster; a cell reaching two columns spans them; holes become empty cells', () => {
    // a header across both columns (right edge 201 clusters with 199/200), then two cells; the bottom-right one is missing in row 3
    const cells = [
      [0, 0, 201, 50],
      [2, 50, 100, 100],
      [100, 52, 200, 100],
      [0, 100, 99, 150],
    ];
    assert.equal(
      cellsToHtmlTokens(cells).join(''),
      '<table><tbody><tr><td colspan="2"></td></tr><tr><td></td><td></td></tr><tr><td></td><td></td></tr></tbody></table>',
    );
  });

  test('match_table_and_ocr (v1): highest IoU wins, then the corner distance; several lines in a cell are joined with spaces and escaped', () => {
    const cells = [
      [0, 0, 100, 40],
      [100, 0, 200, 40],
    ];
    const ocrBoxes = [
      [5, 5, 60, 20],
      [5, 22, 60, 38],
      [110, 5, 190, 35],
      [300, 300, 310, 310],
    ];
    const matched = matchLinesToCells(cells, ocrBoxes);
    // the last box overlaps nothing: IoU 0 everywhere, nearest corners → cell 1
    assert.deepEqual(
      [...matched.entries()],
      [
        [0, [0, 1]],
        [1, [2, 3]],
      ],
    );
    const structure = ['<html>', '<body>', '<table>', '<tr>', '<td></td>', '<td></td>', '</tr>', '</table>', '</body>', '</html>'];
    assert.equal(
      cellsHtml(matched, ['<b>A&B', 'x</b>', 'y<z', ''], structure),
      // 'y<z' is not the cell's last line, so it gets its trailing space even though the last line is empty and skipped
      '<html><body><table><tr><td><b>A&amp;B x</b></td><td>y&lt;z </td></tr></table></body></html>',
    );
    assert.equal(
      cellsHtml(new Map([[0, [0]]]), ['<b>bold</b>'], structure),
      '<html><body><table><tr><td><b>bold</b></td><td></td></tr></table></body></html>',
    );
  });

  test('get_table_recognition_res (v1): cells shifted by the table corner and clipped; no OCR inside → the tokens joined by spaces', () => {
    const ocr = lines([[25, 15, 60, 30]], ['hi']);
    const structure = ['<html>', '<body>', '<table>', '<tr>', '<td></td>', '</tr>', '</table>', '</body>', '</html>'];
    const res = tableResFromStructure({
      tableBox: [20, 10, 90, 50],
      structure,
      corners: [[0, 0, 80, 0, 80, 30, 0, 30]],
      ocr,
      pageSize: [95, 60],
    });
    assert.deepEqual(res.cell_box_list, [[20, 10, 95, 40]]);
    assert.equal(res.pred_html, '<html><body><table><tr><td>hi</td></tr></table></body></html>');
    const empty = tableResFromStructure({ tableBox: [20, 10, 90, 50], structure, corners: [], ocr, pageSize: [95, 60] });
    assert.equal(empty.pred_html, structure.join(' '));
  });

  test('_sort_box_by_y_projection: lines by top edge while the overlap exceeds the threshold × the lower height, each line left to right', () => {
    // by top: A(10) B(12) D(33) C(40). B joins A's line: overlap 28-12 = 16 of min height 16 → 1 > 0.7;
    // D starts a line (no overlap with 10..30); C joins D's: overlap 58-40 = 18 of min height 20 → 0.9.
    // Lines left to right: [B, A], [C, D]
    const A = [50, 10, 90, 30];
    const B = [10, 12, 45, 28];
    const C = [10, 40, 60, 60];
    const D = [70, 33, 100, 58];
    assert.deepEqual(sortByYProjection([A, B, C, D], 0.7), [1, 0, 2, 3]);
    assert.deepEqual(sortByYProjection([], 0.7), []);
    // strictly more than the threshold: an overlap of 7 of height 10 (0.7) is a new line, 8 (0.8) joins
    const right = [20, 0, 30, 10];
    assert.deepEqual(sortByYProjection([right, [0, 3, 10, 13]], 0.7), [0, 1]);
    assert.deepEqual(sortByYProjection([right, [0, 2, 10, 12]], 0.7), [1, 0]);
    // the line's span grows with each box: E (0..10) and F (5..30) make a line spanning 0..30, which G (20..30) joins
    // (overlap 10 of its height 10), though G does not overlap E at all
    assert.deepEqual(
      sortByYProjection(
        [
          [30, 0, 40, 10],
          [20, 5, 28, 30],
          [0, 20, 10, 30],
        ],
        0.2,
      ),
      [2, 1, 0],
    );
  });

  test("cell_sort_by_y_projection (table_recognition v1): a cell's lines in reading order instead of the OCR order", () => {
    // one cell holding the four lines above, in OCR order A, B, C, D
    const ocr = lines(
      [
        [50, 10, 90, 30],
        [10, 12, 45, 28],
        [10, 40, 60, 60],
        [70, 33, 100, 58],
      ],
      ['a', 'b', 'c', 'd'],
    );
    const structure = ['<html>', '<body>', '<table>', '<tr>', '<td></td>', '</tr>', '</table>', '</body>', '</html>'];
    const args = { tableBox: [0, 0, 120, 70], structure, corners: [[0, 0, 110, 0, 110, 65, 0, 65]], ocr, pageSize: [200, 100] as const };
    assert.equal(tableResFromStructure(args).pred_html, '<html><body><table><tr><td>a b c d</td></tr></table></body></html>');
    assert.equal(
      tableResFromStructure({ ...args, sortByY: true }).pred_html,
      '<html><body><table><tr><td>b a c d</td></tr></table></body></html>',
    );
    assert.deepEqual([...matchLinesToCells([[0, 0, 110, 65]], ocr.rec_boxes, true)], [[0, [1, 0, 2, 3]]]);
  });

  test('sort_table_cells_boxes / find_row_start_index / map_and_get_max', () => {
    const { sorted, rowStarts } = sortCellsIntoRows([
      [100, 52, 200, 100],
      [0, 0, 200, 50],
      [0, 48, 100, 100],
    ]);
    assert.deepEqual(sorted, [
      [0, 0, 200, 50],
      [0, 48, 100, 100],
      [100, 52, 200, 100],
    ]);
    assert.deepEqual(rowStarts, [0, 1, 3]);
    assert.deepEqual(structureRowStarts(['<tr>', '<td', '>', '</td>', '</tr>', '<tr>', '<td></td>', '<td></td>', '</tr>']), [0, 1]);
    assert.deepEqual(alignRowStarts([0, 1, 3], [0, 2]), [0, 1]);
  });

  test('get_table_recognition_res (v2): per row, a cell takes the OCR boxes it covers by more than 70%', () => {
    const ocr = lines(
      [
        [12, 12, 60, 30],
        [112, 60, 160, 80],
        [80, 60, 120, 80],
      ],
      ['head', 'b', 'straddles'],
    );
    const structure = [
      '<html>',
      '<body>',
      '<table>',
      '<tr>',
      '<td',
      ' colspan="2"',
      '>',
      '</td>',
      '</tr>',
      '<tr>',
      '<td></td>',
      '<td></td>',
      '</tr>',
      '</table>',
      '</body>',
      '</html>',
    ];
    const res = tableResFromCells({
      tableBox: [10, 10, 210, 110],
      structure,
      cells: [
        [90, 40, 190, 90],
        [0, 0, 190, 40],
        [0, 40, 90, 90],
      ],
      ocr,
      pageSize: [300, 300],
    });
    assert.deepEqual(res.cell_box_list, [
      [10, 10, 200, 50],
      [10, 50, 100, 100],
      [100, 50, 200, 100],
    ]);
    // 'straddles' lies half in each bottom cell: no cell covers 70% of it
    assert.equal(res.pred_html, '<html><body><table><tr><td colspan="2">head</td></tr><tr><td></td><td>b</td></tr></table></body></html>');
  });

  test('cells_det_results_nms: by score, IoU above 0.3 dropped', () => {
    const out = cellsNms(
      [
        [0, 0, 10, 10],
        [1, 1, 10, 10],
        [20, 0, 30, 10],
      ],
      [0.5, 0.9, 0.7],
    );
    assert.deepEqual(out, {
      boxes: [
        [1, 1, 10, 10],
        [20, 0, 30, 10],
      ],
      scores: [0.9, 0.7],
    });
  });

  test('get_region_ocr_det_boxes: only lines wholly inside, relative to the table corner', () => {
    assert.deepEqual(
      linesInsideTable(
        [
          [15, 15, 30, 30],
          [5, 15, 30, 30],
        ],
        [10, 10, 100, 100],
      ),
      [[5, 5, 20, 20]],
    );
  });

  test('k-means as sklearn seeds it: two far groups split; combine_rectangles encloses each group', () => {
    const centres = [
      [0, 0],
      [1, 0],
      [0, 1],
      [100, 100],
      [101, 100],
    ];
    const labels = kmeansLabels(centres, 2);
    assert.equal(new Set(labels.slice(0, 3)).size, 1);
    assert.equal(new Set(labels.slice(3)).size, 1);
    assert.notEqual(labels[0], labels[3]);
    const boxes = combineRectangles(
      [
        [0, 0, 10, 10],
        [12, 0, 20, 10],
        [200, 200, 210, 210],
      ],
      2,
    );
    assert.deepEqual(
      boxes.sort((a, b) => a[0]! - b[0]!),
      [
        [0, 0, 20, 10],
        [200, 200, 210, 210],
      ],
    );
    // asking for as many groups as rectangles returns them unchanged
    assert.deepEqual(combineRectangles([[1, 2, 3, 4]], 1), [[1, 2, 3, 4]]);
  });

  test('cells_det_results_reprocessing: too many cells → the best scores; an uncovered OCR box becomes a cell', () => {
    const cells = [
      [0, 0, 50, 20],
      [50, 0, 100, 20],
      [0, 0, 100, 20],
    ];
    assert.deepEqual(reconcileCells(cells, [0.9, 0.8, 0.3], [], 2), [
      [0, 0, 50, 20],
      [50, 0, 100, 20],
    ]);
    // one cell found, two wanted: the OCR box below it is not covered and becomes the second cell
    assert.deepEqual(reconcileCells([[0, 0, 100, 20]], [0.9], [[5, 30, 60, 45]], 2), [
      [0, 0, 100, 20],
      [5, 30, 60, 45],
    ]);
  });

  test('split_ocr_bboxes_by_table_cells: a line over most of two cells is cut at their borders and each piece read again', async () => {
    const cells = [
      [0, 0, 50, 20],
      [60, 0, 100, 20],
    ];
    const read: number[][] = [];
    const out = await splitLinesByCells(cells, lines([[0, 0, 100, 20]], ['ab']), async (box) => {
      read.push(box);
      return `t${read.length}`;
    });
    assert.deepEqual(out.rec_boxes, [
      [0, 0, 50, 20],
      [50, 0, 60, 20],
      [60, 0, 100, 20],
    ]);
    assert.deepEqual(out.rec_texts, ['t1', 't2', 't3']);
    assert.deepEqual(out.rec_scores, [0.9], 'PaddleX leaves the scores as they were');
  });

  test('model names pick the table families', () => {
    assert.equal(moduleOfModelName('PP-LCNet_x1_0_table_cls'), 'table_classification');
    assert.equal(moduleOfModelName('RT-DETR-L_wired_table_cell_det'), 'table_cells_detection');
    assert.equal(moduleOfModelName('RT-DETR-L_wireless_table_cell_det'), 'table_cells_detection');
  });
});

const page = renderTablePage();
const EXPECTED_HTML_V1 =
  '<html><body><table><tbody><tr><td>Fruit</td><td>Price</td></tr><tr><td>Apple</td><td>12</td></tr><tr><td>Pear</td><td>7</td></tr></tbody></table></body></html>';

describe('table_recognition (v1) on a rendered table, SLANet_plus fixture and the shipped OCR', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ pipelines: [await tableV1Yaml()] });
  });
  after(async () => server?.close());

  test('the whole page as the table: exact HTML with the OCR text in each cell, cells in page pixels, PaddleX images', async () => {
    const res = await postJson(`${server.url}/table-recognition`, { file: page.toString('base64'), fileType: 1 });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [result] = (res.body as any).result.tableRecResults;
    const pruned = result.prunedResult;
    assert.deepEqual(Object.keys(pruned), ['model_settings', 'overall_ocr_res', 'table_res_list']);
    assert.deepEqual(pruned.model_settings, { use_doc_preprocessor: false, use_layout_detection: false, use_ocr_model: true });
    assert.deepEqual(pruned.overall_ocr_res.text_det_params, {
      limit_side_len: 960,
      limit_type: 'max',
      thresh: 0.3,
      max_side_limit: 4000,
      box_thresh: 0.6,
      unclip_ratio: 1.5,
    });
    assert.equal(pruned.table_res_list.length, 1);
    const table = pruned.table_res_list[0];
    assert.deepEqual(Object.keys(table), ['cell_box_list', 'pred_html', 'table_ocr_pred']);
    assert.equal(table.pred_html, EXPECTED_HTML_V1);
    assert.deepEqual(
      table.cell_box_list,
      TABLE_CELLS.map((c) => decodedCell(c, TABLE_WIDTH)),
    );
    assert.deepEqual(table.table_ocr_pred.rec_texts, pruned.overall_ocr_res.rec_texts);
    assert.deepEqual(Object.keys(result.outputImages), ['ocr_res_img', 'table_cell_img']);
    assert.equal(typeof result.inputImage, 'string');
  });

  test('useOcrResultsWithTableCells: each cell read by the OCR on its own crop gives the same HTML', async () => {
    const res = await postJson(`${server.url}/table-recognition`, {
      file: page.toString('base64'),
      fileType: 1,
      useOcrResultsWithTableCells: true,
      visualize: false,
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [result] = (res.body as any).result.tableRecResults;
    assert.equal(result.prunedResult.table_res_list[0].pred_html, EXPECTED_HTML_V1);
    assert.equal(result.outputImages, undefined);
  });

  test('errors: null for a non-Optional flag, useOcrModel false, layout not loaded → 422', async () => {
    const file = page.toString('base64');
    assertErrorEnvelope(await postJson(`${server.url}/table-recognition`, { file, fileType: 1, useOcrResultsWithTableCells: null }), 422);
    assert.match(
      assertErrorEnvelope(await postJson(`${server.url}/table-recognition`, { file, fileType: 1, useOcrModel: false }), 422),
      /the input params for model settings are invalid!.*useOcrModel/,
    );
    assert.match(
      assertErrorEnvelope(await postJson(`${server.url}/table-recognition`, { file, fileType: 1, useLayoutDetection: true }), 422),
      /LayoutDetection/,
    );
    assertErrorEnvelope(await postJson(`${server.url}/table-recognition`, { file, fileType: 1, textDetThresh: 3 }), 422);
  });
});

describe('table_recognition (v1) with layout detection on a page', () => {
  // the table at (192, 128) on a 1024 × 512 page: the layout box [192, 128, 832, 368] in fractions that are exact in float32
  const LEFT = 192;
  const TOP = 128;
  const pageWithTitle = renderTablePage({ width: 1024, height: 512, left: LEFT, top: TOP, title: 'Market prices' });
  let server: RunningServer;
  before(async () => {
    const layout = await fixedBoxDetectorDir('RT-DETR-H_layout_3cls', [{ classId: 1, score: 0.9, box: [0.1875, 0.25, 0.8125, 0.71875] }]);
    const structure = await structureDir(tableSteps(), TABLE_WIDTH, TABLE_HEIGHT);
    server = await startServer({
      pipelines: [await tablePipelineYaml('table_recognition', { LayoutDetection: layout, TableStructureRecognition: structure })],
    });
  });
  after(async () => server?.close());

  test('the table box is cropped; cells land on the page; the title stays out of the table', async () => {
    const res = await postJson(`${server.url}/table-recognition`, { file: pageWithTitle.toString('base64'), fileType: 1 });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [result] = (res.body as any).result.tableRecResults;
    const pruned = result.prunedResult;
    assert.deepEqual(Object.keys(pruned), ['model_settings', 'layout_det_res', 'overall_ocr_res', 'table_res_list']);
    assert.deepEqual(
      pruned.layout_det_res.boxes.map((b: any) => [b.label, b.coordinate]),
      [['table', [192, 128, 832, 368]]],
    );
    assert.ok(pruned.overall_ocr_res.rec_texts.includes('Market prices'), JSON.stringify(pruned.overall_ocr_res.rec_texts));
    const [table] = pruned.table_res_list;
    assert.equal(table.pred_html, EXPECTED_HTML_V1);
    assert.ok(!table.table_ocr_pred.rec_texts.includes('Market prices'));
    assert.deepEqual(
      table.cell_box_list,
      TABLE_CELLS.map((c) => decodedCell(c, TABLE_WIDTH)).map(([x1, y1, x2, y2]) => [x1 + LEFT, y1 + TOP, x2 + LEFT, y2 + TOP]),
    );
    assert.deepEqual(Object.keys(result.outputImages), ['layout_det_res', 'ocr_res_img', 'table_cell_img']);
  });
});

describe('table_recognition_v2 on the rendered table', () => {
  const SCORES = [0.95, 0.9, 0.85, 0.8, 0.75, 0.7];
  let server: RunningServer;
  let wireless: RunningServer;
  before(async () => {
    server = await startServer({ pipelines: [await tableV2Yaml({ clsScores: [0.8, 0.2], cellScores: SCORES })] });
    wireless = await startServer({ pipelines: [await tableV2Yaml({ clsScores: [0.1, 0.9], cellScores: SCORES })] });
  });
  after(async () => {
    await server?.close();
    await wireless?.close();
  });

  const post = (srv: RunningServer, fields: Record<string, unknown>) =>
    postJson(`${srv.url}/table-recognition`, {
      file: page.toString('base64'),
      fileType: 1,
      useTableOrientationClassify: false,
      visualize: false,
      ...fields,
    });
  const tableOf = (res: any) => {
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.result.tableRecResults[0].prunedResult.table_res_list[0];
  };

  test('defaults: detected cells (as many as the structure has), row-sorted, with the OCR text matched per row', async () => {
    const res = await post(server, { visualize: true });
    const table = tableOf(res);
    assert.equal(table.pred_html, EXPECTED_HTML_V1);
    assert.deepEqual(
      table.cell_box_list,
      TABLE_CELLS.map((c) => detectedCell(c, TABLE_WIDTH, TABLE_HEIGHT)),
    );
    const pruned = (res.body as any).result.tableRecResults[0].prunedResult;
    assert.equal(pruned.overall_ocr_res.text_det_params.box_thresh, 0.4, "v2's GeneralOCR box_thresh");
    assert.deepEqual(Object.keys((res.body as any).result.tableRecResults[0].outputImages), ['ocr_res_img', 'table_cell_img']);
  });

  test('useWiredTableCellsTransToHtml: the HTML comes from the cell grid (no html/body wrapper, as PaddleX)', async () => {
    const table = tableOf(await post(server, { useWiredTableCellsTransToHtml: true }));
    assert.equal(
      table.pred_html,
      '<table><tbody><tr><td>Fruit</td><td>Price</td></tr><tr><td>Apple</td><td>12</td></tr><tr><td>Pear</td><td>7</td></tr></tbody></table>',
    );
  });

  test('useE2eWiredTableRecModel: the structure model alone, matched as table_recognition does', async () => {
    const table = tableOf(await post(server, { useE2eWiredTableRecModel: true }));
    assert.equal(table.pred_html, EXPECTED_HTML_V1);
    assert.deepEqual(
      table.cell_box_list,
      TABLE_CELLS.map((c) => decodedCell(c, TABLE_WIDTH)),
    );
  });

  test('a wireless table follows the wireless switches only', async () => {
    const wiredSwitch = tableOf(await post(wireless, { useWiredTableCellsTransToHtml: true }));
    assert.equal(wiredSwitch.pred_html, EXPECTED_HTML_V1);
    const wirelessSwitch = tableOf(await post(wireless, { useWirelessTableCellsTransToHtml: true }));
    assert.match(wirelessSwitch.pred_html, /^<table><tbody>/);
  });

  test('errors: table flags reject null; orientation classification asked without its model → 422', async () => {
    for (const flag of [
      'useE2eWiredTableRecModel',
      'useWirelessTableCellsTransToHtml',
      'useTableOrientationClassify',
      'useOcrResultsWithTableCells',
    ]) {
      assertErrorEnvelope(await post(server, { [flag]: null }), 422);
    }
    const res = await postJson(`${server.url}/table-recognition`, { file: page.toString('base64'), fileType: 1 });
    assert.match(assertErrorEnvelope(res, 422), /TableOrientationClassify/);
  });
});

describe('table_recognition_v2: table orientation with the real PP-LCNet_x1_0_doc_ori (int8)', () => {
  let server: RunningServer;
  /** the table page turned 90° clockwise (240 × 640) */
  let turned: Buffer;
  before(async () => {
    server = await startServer({
      pipelines: [
        await tableV2Yaml({ clsScores: [0.8, 0.2], cellScores: [0.95, 0.9, 0.85, 0.8, 0.75, 0.7], orientationDir: DOC_ORI_INT8_DIR }),
      ],
    });
    const canvas = createCanvas(TABLE_HEIGHT, TABLE_WIDTH);
    const ctx = canvas.getContext('2d');
    ctx.translate(TABLE_HEIGHT, 0);
    ctx.rotate(Math.PI / 2);
    ctx.drawImage(await loadImage(page), 0, 0);
    turned = canvas.toBuffer('image/png');
  });
  after(async () => server?.close());

  test('an upright table: angle 0, the same result as without orientation classification', async () => {
    const res = await postJson(`${server.url}/table-recognition`, { file: page.toString('base64'), fileType: 1, visualize: false });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.result.tableRecResults[0].prunedResult.table_res_list[0].pred_html, EXPECTED_HTML_V1);
  });

  test('a table turned 90° clockwise is read upright (OCR redone on the turned page), its cells mapped back onto the input', async () => {
    const res = await postJson(`${server.url}/table-recognition`, { file: turned.toString('base64'), fileType: 1, visualize: false });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const pruned = (res.body as any).result.tableRecResults[0].prunedResult;
    const [table] = pruned.table_res_list;
    assert.equal(table.pred_html, EXPECTED_HTML_V1);
    // the OCR kept is the one of the page turned upright (as PaddleX keeps it)
    assert.deepEqual(pruned.overall_ocr_res.rec_texts, ['Fruit', 'Price', 'Apple', '12', 'Pear', '7']);
    // PaddleX turns the whole-page table box [0, 0, 239, 639] with the input's width 240: [0, 1, 639, 240], so the
    // cells sit 1 px lower on the upright page; then map_cells_to_original_image ("90": x = H − y2, y = x1, H = 240)
    assert.deepEqual(
      table.cell_box_list,
      TABLE_CELLS.map((c) => detectedCell(c, TABLE_WIDTH, TABLE_HEIGHT)).map(([x1, y1, x2, y2]) => [
        TABLE_HEIGHT - (y2 + 1),
        x1,
        TABLE_HEIGHT - (y1 + 1),
        x2,
      ]),
    );
  });
});
