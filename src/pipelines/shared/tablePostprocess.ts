/**
 * PaddleX's table recognition post-processing, as pure functions on boxes and tokens
 * (paddlex/inference/pipelines/table_recognition/: table_recognition_post_processing.py for
 * table_recognition and the end-to-end mode of v2, table_recognition_post_processing_v2.py and the
 * cell helpers of pipeline_v2.py for table_recognition_v2, layout_parsing/utils.py's
 * get_sub_regions_ocr_res, utils.py's get_neighbor_boxes_idx). Boxes are [x1, y1, x2, y2].
 */
import { MersenneTwister19937 } from 'random-js';

export type Box4 = [number, number, number, number];

/** The OCR fields table recognition reads (PaddleX's OCRResult keys). */
export interface OcrLines {
  rec_polys: Array<Array<[number, number]>>;
  rec_texts: string[];
  rec_scores: number[];
  rec_boxes: number[][];
}

/** One table's JSON result, PaddleX's SingleTableRecognitionResult as it serialises it. */
export interface TableResJson {
  cell_box_list: number[][];
  pred_html: string;
  table_ocr_pred: OcrLines;
}

/** get_sub_regions_ocr_res: the OCR lines overlapping `box` by more than 3 px each way, in page order. */
export function subRegionOcr(ocr: OcrLines, box: readonly number[]): OcrLines {
  const out: OcrLines = { rec_polys: [], rec_texts: [], rec_scores: [], rec_boxes: [] };
  ocr.rec_boxes.forEach((b, i) => {
    const w = Math.min(box[2]!, b[2]!) - Math.max(box[0]!, b[0]!);
    const h = Math.min(box[3]!, b[3]!) - Math.max(box[1]!, b[1]!);
    if (w > 3 && h > 3) {
      out.rec_polys.push(ocr.rec_polys[i]!);
      out.rec_texts.push(ocr.rec_texts[i]!);
      out.rec_scores.push(ocr.rec_scores[i]!);
      out.rec_boxes.push(b);
    }
  });
  return out;
}

/** get_neighbor_boxes_idx: lines overlapping the table horizontally and touching its top or bottom edge band. */
export function neighborLineIndices(recBoxes: readonly number[][], table: readonly number[]): number[] {
  return recBoxes.flatMap((b, i) => {
    const w = Math.min(table[2]!, b[2]!) - Math.max(table[0]!, b[0]!);
    const h = Math.min(table[3]!, b[3]!) - Math.max(table[1]!, b[1]!);
    return w > 0 && h < 3 && h > -15 ? [i] : [];
  });
}

/** Python's html.escape(s, quote=True). */
function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#x27;' })[ch]!);
}

/** convert_table_structure_pred_bbox: 4-corner cells shifted by the crop's corner, to [x1, y1, x2, y2] clipped to the page. */
export function cellsToPage(
  corners: readonly number[][],
  cropStart: readonly [number, number],
  [width, height]: readonly [number, number],
) {
  return corners.map((c): Box4 => {
    if (c.length !== 8) throw new Error(`table cells must have 4 corners (8 values), got ${c.length} values`);
    const xs = [0, 2, 4, 6].map((k) => c[k]! + cropStart[0]);
    const ys = [1, 3, 5, 7].map((k) => c[k]! + cropStart[1]);
    const clip = (v: number, max: number) => Math.min(Math.max(v, 0), max);
    return [clip(Math.min(...xs), width), clip(Math.min(...ys), height), clip(Math.max(...xs), width), clip(Math.max(...ys), height)];
  });
}

function area(b: readonly number[]): number {
  return (b[2]! - b[0]!) * (b[3]! - b[1]!);
}

function intersection(a: readonly number[], b: readonly number[]): [number, number] {
  return [Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!), Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!)];
}

// ---------------------------------------------------------------------------------------------
// table_recognition (and v2's end-to-end mode): table_recognition_post_processing.py

function iou(a: readonly number[], b: readonly number[]): number {
  const [w, h] = intersection(a, b);
  if (w <= 0 || h <= 0) return 0;
  return (w * h) / (area(a) + area(b) - w * h);
}

function cornerDistance(cell: readonly number[], line: readonly number[]): number {
  const starts = Math.abs(line[0]! - cell[0]!) + Math.abs(line[1]! - cell[1]!);
  const ends = Math.abs(line[2]! - cell[2]!) + Math.abs(line[3]! - cell[3]!);
  return starts + ends + Math.min(starts, ends);
}

/**
 * _sort_box_by_y_projection: the boxes' indices in reading order. By top edge, a box joins the
 * current line when their vertical overlap exceeds `threshold` × the lower of the two heights (the
 * line's span, grown by each box it takes); each line then goes left to right.
 */
export function sortByYProjection(boxes: readonly (readonly number[])[], threshold: number): number[] {
  const byTop = boxes.map((box, index) => ({ box, index })).sort((a, b) => a.box[1]! - b.box[1]!);
  const lines: Array<typeof byTop> = [];
  let span: [number, number] = [0, 0];
  for (const item of byTop) {
    const [, y0, , y1] = item.box as [number, number, number, number];
    const current = lines.at(-1);
    const overlap = current ? Math.max(0, Math.min(span[1], y1) - Math.max(span[0], y0)) : 0;
    // a zero height gives 0 / 0: NaN, no join, as numpy's division
    if (current && overlap / Math.min(span[1] - span[0], y1 - y0) > threshold) {
      current.push(item);
      span = [Math.min(span[0], y0), Math.max(span[1], y1)];
    } else {
      lines.push([item]);
      span = [y0, y1];
    }
  }
  return lines.flatMap((line) => line.sort((a, b) => a.box[0]! - b.box[0]!).map((item) => item.index));
}

/**
 * match_table_and_ocr: each OCR box goes to the cell of highest IoU, then smallest corner distance
 * (first such cell). With `sortByY` (PaddleX's cell_sort_by_y_projection) each cell's boxes are then
 * put in reading order (sortByYProjection at 0.7) instead of the OCR's order.
 */
export function matchLinesToCells(cells: readonly number[][], lines: readonly number[][], sortByY = false): Map<number, number[]> {
  const matched = new Map<number, number[]>();
  lines.forEach((rawLine, i) => {
    // PaddleX casts each OCR box to float32
    const line = rawLine.map((v) => Math.fround(v));
    let best = -1;
    let bestKey: [number, number] = [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY];
    cells.forEach((cell, j) => {
      const key: [number, number] = [1 - iou(cell, line), cornerDistance(cell, line)];
      if (key[0] < bestKey[0] || (key[0] === bestKey[0] && key[1] < bestKey[1])) [best, bestKey] = [j, key];
    });
    matched.set(best, [...(matched.get(best) ?? []), i]);
  });
  if (sortByY) {
    for (const [cell, indices] of matched) {
      matched.set(
        cell,
        sortByYProjection(
          indices.map((i) => lines[i]!),
          0.7,
        ).map((k) => indices[k]!),
      );
    }
  }
  return matched;
}

/** get_html_result: the structure tokens with each cell's matched texts (escaped, one outer <b> kept). */
export function cellsHtml(matched: Map<number, number[]>, texts: readonly string[], structure: readonly string[]): string {
  const html: string[] = [...structure.slice(0, 3)];
  let td = 0;
  for (const tag of structure.slice(3, -3)) {
    if (!tag.includes('</td>')) {
      html.push(tag);
      continue;
    }
    if (tag === '<td></td>') html.push('<td>');
    const lineIds = matched.get(td);
    if (lineIds) {
      const bold = lineIds.length > 1 && texts[lineIds[0]!]!.startsWith('<b>');
      if (bold) html.push('<b>');
      lineIds.forEach((id, i) => {
        let content = texts[id]!;
        if (lineIds.length === 1) {
          const wrapped = content.startsWith('<b>') && content.endsWith('</b>');
          html.push(wrapped ? `<b>${escapeHtml(content.slice(3, -4))}</b>` : escapeHtml(content));
          return;
        }
        if (!content) return;
        if (content[0] === ' ') content = content.slice(1);
        if (content.startsWith('<b>')) content = content.slice(3);
        if (content.endsWith('</b>')) content = content.slice(0, -4);
        if (!content) return;
        if (i !== lineIds.length - 1 && !content.endsWith(' ')) content += ' ';
        html.push(escapeHtml(content));
      });
      if (bold) html.push('</b>');
    }
    html.push(tag === '<td></td>' ? '</td>' : tag);
    td++;
  }
  return html.join('') + structure.slice(-3).join('');
}

/** What both versions' get_table_recognition_res take: the table's box on the page, its structure tokens, the page OCR and size. */
interface TableInput {
  tableBox: readonly number[];
  structure: readonly string[];
  ocr: OcrLines;
  pageSize: readonly [number, number];
}

/**
 * The part both versions share: cells (4 corners, crop pixels) onto the page, then `match` makes the
 * cell list and the HTML; with no cell or no OCR line in the table, the tokens joined by spaces.
 */
function tableRes(
  { tableBox, structure, pageSize }: TableInput,
  corners: readonly number[][],
  tableOcr: OcrLines,
  match: (cells: Box4[]) => { cells: number[][]; html: string },
): TableResJson {
  const cropStart: [number, number] = [tableBox[0]!, tableBox[1]!];
  if (!corners.length || !tableOcr.rec_boxes.length) {
    return {
      cell_box_list: corners.length ? cellsToPage(corners, cropStart, pageSize) : [],
      pred_html: structure.join(' '),
      table_ocr_pred: tableOcr,
    };
  }
  const { cells, html } = match(cellsToPage(corners, cropStart, pageSize));
  return { cell_box_list: cells, pred_html: html, table_ocr_pred: tableOcr };
}

/**
 * get_table_recognition_res of table_recognition: the table's OCR lines, its cells on the page and
 * the HTML. `corners`: the structure model's cells (4 corners, crop pixels); `cellTexts`: with
 * use_ocr_results_with_table_cells, the text OCR read inside each cell (then cells match themselves);
 * `sortByY`: cell_sort_by_y_projection (see matchLinesToCells).
 */
export function tableResFromStructure(
  args: TableInput & { corners: readonly number[][]; cellTexts?: readonly string[]; sortByY?: boolean },
): TableResJson {
  const tableOcr = subRegionOcr(args.ocr, args.tableBox);
  return tableRes(args, args.corners, tableOcr, (cells) => {
    const [lines, texts] = args.cellTexts ? [cells, args.cellTexts] : [tableOcr.rec_boxes, tableOcr.rec_texts];
    return { cells, html: cellsHtml(matchLinesToCells(cells, lines, args.sortByY), texts, args.structure) };
  });
}

// ---------------------------------------------------------------------------------------------
// table_recognition_v2: table_recognition_post_processing_v2.py

/** Intersection over the area of `b` (compute_inter; 0 for an empty `b`). */
function coverOf(a: readonly number[], b: readonly number[]): number {
  const [w, h] = intersection(a, b);
  const bArea = area(b);
  return bArea === 0 ? 0 : (Math.max(0, w) * Math.max(0, h)) / bArea;
}

/** sort_table_cells_boxes: rows by top edge (within 10 px of the row's first box), each row left to right; and the row starts. */
export function sortCellsIntoRows(cells: readonly Box4[]): { sorted: Box4[]; rowStarts: number[] } {
  const rows: Box4[][] = [];
  let rowTop: number | undefined;
  for (const cell of [...cells].sort((a, b) => a[1] - b[1])) {
    if (rowTop !== undefined && Math.abs(cell[1] - rowTop) <= 10) rows.at(-1)!.push(cell);
    else {
      rows.push([cell]);
      rowTop = cell[1];
    }
  }
  const sorted: Box4[] = [];
  const rowStarts = [0];
  for (const row of rows) {
    sorted.push(...row.sort((a, b) => a[0] - b[0]));
    rowStarts.push(sorted.length);
  }
  return { sorted, rowStarts };
}

/** find_row_start_index: the index of each row's first cell among the structure's cells. */
export function structureRowStarts(structure: readonly string[]): number[] {
  const starts: number[] = [];
  let cell = 0;
  let inRow = false;
  for (const token of structure) {
    const isCell = token === '<td></td>' || token === '</td>';
    if (token === '<tr>') inRow = true;
    else if (token === '</tr>') inRow = false;
    else if (isCell && inRow) {
      starts.push(cell);
      inRow = false;
    }
    if (isCell) cell++;
  }
  return starts;
}

/** map_and_get_max: per structure row start, the largest detected row start not after it. */
export function alignRowStarts(detected: readonly number[], structure: readonly number[]): number[] {
  let i = 0;
  let max: number | undefined;
  return structure.map((start) => {
    while (i < detected.length && detected[i]! <= start) {
      if (max === undefined || detected[i]! > max) max = detected[i];
      i++;
    }
    return max ?? start;
  });
}

/**
 * match_table_and_ocr (v2), per row band `rowFlags[k]..rowFlags[k+1]` of the sorted cells: a cell
 * takes every OCR box it covers by more than 70% of the box's area. (PaddleX passes the same flags
 * twice, so its branches for differing row starts never run.)
 */
export function matchLinesPerRow(
  cells: readonly Box4[],
  lines: readonly number[][],
  rowFlags: readonly number[],
): Array<Map<number, number[]>> {
  return rowFlags.slice(0, -1).map((from, k) => {
    const matched = new Map<number, number[]>();
    cells.slice(from, rowFlags[k + 1]).forEach((cell, i) => {
      lines.forEach((line, j) => {
        if (coverOf(cell, line) > 0.7) matched.set(i, [...(matched.get(i) ?? []), j]);
      });
    });
    return matched;
  });
}

/**
 * get_html_result (v2). As PaddleX: no escaping; a cell whose match list is empty loses its closing
 * tag and does not advance the cell count; the row moves on once `rowStarts[row + 1]` cells are written.
 */
export function rowCellsHtml(
  all: Array<Map<number, number[]>>,
  texts: readonly string[],
  structure: readonly string[],
  rowStarts: readonly number[],
): string {
  if (!all.length && structure.length > 6) throw new Error('table structure without rows: nothing to match the table cells against');
  const html: string[] = [...structure.slice(0, 3)];
  let td = 0;
  let count = 0;
  let row = 0;
  for (const tag of structure.slice(3, -3)) {
    const matched = all[row]!;
    if (!tag.includes('</td>')) {
      html.push(tag);
      continue;
    }
    if (tag === '<td></td>') html.push('<td>');
    const lineIds = matched.get(td);
    if (lineIds) {
      if (!lineIds.length) continue;
      const bold = texts[lineIds[0]!]!.includes('<b>') && lineIds.length > 1;
      if (bold) html.push('<b>');
      lineIds.forEach((id, i) => {
        let content = texts[id]!;
        if (lineIds.length > 1) {
          if (!content) return;
          if (content[0] === ' ') content = content.slice(1);
          if (content.includes('<b>')) content = content.slice(3);
          if (content.includes('</b>')) content = content.slice(0, -4);
          if (!content) return;
          if (i !== lineIds.length - 1 && !content.endsWith(' ')) content += ' ';
        }
        html.push(content);
      });
      if (bold) html.push('</b>');
    }
    html.push(tag === '<td></td>' ? '</td>' : tag);
    td++;
    count++;
    if (count >= rowStarts[row + 1]! && row < all.length - 1) {
      row++;
      td = 0;
    }
  }
  return html.join('') + structure.slice(-3).join('');
}

/**
 * get_table_recognition_res of table_recognition_v2: `cells` are [x1, y1, x2, y2] in crop pixels
 * (detected, or from the structure model). With `splitOcr` (use_ocr_results_with_table_cells), the
 * caller's `tableOcr` (split at cell borders) is used; otherwise the page OCR inside the table.
 */
export function tableResFromCells(args: TableInput & { cells: readonly number[][]; splitOcr?: OcrLines }): TableResJson {
  const corners = args.cells.map(([x1, y1, x2, y2]) => [x1!, y1!, x2!, y1!, x2!, y2!, x1!, y2!]);
  const tableOcr = args.splitOcr ?? subRegionOcr(args.ocr, args.tableBox);
  return tableRes(args, corners, tableOcr, (pageCells) => {
    const { sorted, rowStarts } = sortCellsIntoRows(pageCells);
    const structureStarts = structureRowStarts(args.structure);
    const flags = [...alignRowStarts(rowStarts, structureStarts), sorted.length];
    const matched = matchLinesPerRow(sorted, tableOcr.rec_boxes, flags);
    return { cells: sorted, html: rowCellsHtml(matched, tableOcr.rec_texts, args.structure, [...structureStarts, sorted.length]) };
  });
}

// ---------------------------------------------------------------------------------------------
// table_recognition_v2's cell helpers (pipeline_v2.py)

/** cells_det_results_nms: by descending score (ties: later box first, as numpy's reversed argsort), drop IoU > `threshold`. */
export function cellsNms(boxes: readonly number[][], scores: readonly number[], threshold = 0.3): { boxes: number[][]; scores: number[] } {
  let order = scores
    .map((_, i) => i)
    .sort((a, b) => scores[a]! - scores[b]!)
    .reverse();
  const kept: number[] = [];
  while (order.length) {
    const current = order[0]!;
    kept.push(current);
    order = order.slice(1).filter((other) => {
      const [w, h] = intersection(boxes[current]!, boxes[other]!);
      const inter = Math.max(0, w) * Math.max(0, h);
      return inter / (area(boxes[current]!) + area(boxes[other]!) - inter) <= threshold;
    });
  }
  return { boxes: kept.map((i) => boxes[i]!), scores: kept.map((i) => scores[i]!) };
}

/** get_region_ocr_det_boxes: OCR boxes wholly inside the table, relative to its corner. */
export function linesInsideTable(recBoxes: readonly number[][], table: readonly number[]): number[][] {
  return recBoxes
    .filter((b) => b[0]! >= table[0]! && b[1]! >= table[1]! && b[2]! <= table[2]! && b[3]! <= table[3]!)
    .map((b) => [b[0]! - table[0]!, b[1]! - table[1]!, b[2]! - table[0]!, b[3]! - table[1]!]);
}

/** numpy.random.RandomState(0).random_sample / uniform: 53-bit doubles from MT19937. */
function numpyRandom(seed: number): () => number {
  const engine = MersenneTwister19937.seed(seed);
  return () => {
    const a = (engine.next() >>> 0) >>> 5;
    const b = (engine.next() >>> 0) >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  };
}

function squaredDistance(a: readonly number[], b: readonly number[]): number {
  return (a[0]! - b[0]!) ** 2 + (a[1]! - b[1]!) ** 2;
}

/** numpy's searchsorted (side left) on an ascending array. */
function searchSorted(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function cumulative(values: readonly number[]): number[] {
  let sum = 0;
  return values.map((v) => (sum += v));
}

/**
 * scikit-learn's KMeans(n_clusters=k, random_state=0, n_init="auto") labels on 2-D points: greedy
 * k-means++ seeding from numpy's RandomState(0) (sklearn ≥ 1.3's draw order), then Lloyd iterations
 * (300 at most, tolerance 1e-4 × the mean per-axis variance). Hand-written: no npm k-means follows
 * sklearn's seeding, and the cluster each rectangle lands in is what PaddleX's output depends on.
 */
export function kmeansLabels(points: readonly number[][], k: number): number[] {
  const n = points.length;
  const random = numpyRandom(0);
  const mean = [0, 1].map((d) => points.reduce((s, p) => s + p[d]!, 0) / n);
  // sklearn centres the data first
  const xs = points.map((p) => [p[0]! - mean[0]!, p[1]! - mean[1]!]);
  const trials = 2 + Math.floor(Math.log(k));
  // first centre: random_state.choice(n, p=uniform) → searchsorted(cdf, u, side='right')
  const u = random();
  let first = 0;
  while (first < n - 1 && (first + 1) / n <= u) first++;
  const centers: number[][] = [xs[first]!];
  let closest = xs.map((x) => squaredDistance(x, xs[first]!));
  let potential = closest.reduce((s, v) => s + v, 0);
  for (let c = 1; c < k; c++) {
    const cdf = cumulative(closest);
    const candidates = Array.from({ length: trials }, () => Math.min(searchSorted(cdf, random() * potential), n - 1));
    let best: { id: number; dist: number[]; pot: number } | undefined;
    for (const id of candidates) {
      const dist = xs.map((x, i) => Math.min(closest[i]!, squaredDistance(x, xs[id]!)));
      const pot = dist.reduce((s, v) => s + v, 0);
      if (!best || pot < best.pot) best = { id, dist, pot };
    }
    centers.push(xs[best!.id]!);
    closest = best!.dist;
    potential = best!.pot;
  }
  const variance = [0, 1].map((d) => xs.reduce((s, x) => s + x[d]! ** 2, 0) / n);
  const tol = 1e-4 * ((variance[0]! + variance[1]!) / 2);
  const assign = (cs: number[][]) =>
    xs.map((x) => {
      let bestId = 0;
      for (let j = 1; j < cs.length; j++) if (squaredDistance(x, cs[j]!) < squaredDistance(x, cs[bestId]!)) bestId = j;
      return bestId;
    });
  // sklearn's _kmeans_single_lloyd: stop when the labels repeat, or when the centres barely moved
  let current = centers;
  let labels: number[] = [];
  let previous: number[] | undefined;
  for (let iter = 0; iter < 300; iter++) {
    labels = assign(current);
    const next = updateCenters(xs, labels, current);
    const shift = next.reduce((s, c, j) => s + squaredDistance(c, current[j]!), 0);
    current = next;
    if (previous?.every((l, i) => l === labels[i])) return labels;
    if (shift <= tol) break;
    previous = labels;
  }
  return assign(current);
}

/** Lloyd's M-step; an empty cluster takes the point farthest from its centre (sklearn's relocation). */
function updateCenters(xs: number[][], labels: number[], centers: number[][]): number[][] {
  const sums = centers.map(() => [0, 0]);
  const counts = centers.map(() => 0);
  const owner = [...labels];
  const empty = centers.map((_, j) => j).filter((j) => !labels.includes(j));
  if (empty.length) {
    const far = xs
      .map((_, i) => i)
      .sort((a, b) => squaredDistance(xs[b]!, centers[labels[b]!]!) - squaredDistance(xs[a]!, centers[labels[a]!]!));
    empty.forEach((j, e) => {
      owner[far[e]!] = j;
    });
  }
  xs.forEach((x, i) => {
    sums[owner[i]!]![0]! += x[0]!;
    sums[owner[i]!]![1]! += x[1]!;
    counts[owner[i]!]!++;
  });
  return sums.map((s, j) => (counts[j] ? [s[0]! / counts[j]!, s[1]! / counts[j]!] : centers[j]!));
}

/** combine_rectangles: k-means on the centres, then one enclosing box per non-empty cluster (cluster order). */
export function combineRectangles(rects: readonly number[][], k: number): number[][] {
  if (k >= rects.length) return rects.map((r) => [...r]);
  const labels = kmeansLabels(
    rects.map((r) => [(r[0]! + r[2]!) / 2, (r[1]! + r[3]!) / 2]),
    k,
  );
  return Array.from({ length: k }, (_, c) => rects.filter((_, i) => labels[i] === c)).flatMap((members) =>
    members.length
      ? [
          [
            Math.min(...members.map((r) => r[0]!)),
            Math.min(...members.map((r) => r[1]!)),
            Math.max(...members.map((r) => r[2]!)),
            Math.max(...members.map((r) => r[3]!)),
          ],
        ]
      : [],
  );
}

/**
 * cells_det_results_reprocessing: make the detected cells as many as the structure's cells
 * (`wanted`): keep the best-scoring ones, and cover OCR boxes no cell covers (by 60% of their area,
 * alone or summed) with k-means groups; too few in the end (≤ 60%) → group the OCR boxes instead.
 */
export function reconcileCells(
  cells: readonly number[][],
  scores: readonly number[],
  ocrBoxes: readonly number[][],
  wanted: number,
): number[][] {
  if (cells.length === wanted) return cells.map((c) => [...c]);
  let kept = cells.map((c) => [...c]);
  const more = cells.length > wanted;
  if (more) {
    // np.argsort(-scores)[:wanted]
    kept = scores
      .map((s, i) => [s, i] as const)
      .sort((a, b) => b[0] - a[0])
      .slice(0, wanted)
      .map(([, i]) => [...cells[i]!]);
  }
  const missed = ocrBoxes.filter((line) => {
    let sum = 0;
    for (const cell of kept) {
      const [w, h] = intersection(line, cell);
      const cover = w <= 0 || h <= 0 ? 0 : (w * h) / area(line);
      if (cover > 0) sum += cover;
      if (cover >= 0.6 || sum >= 0.6) return false;
    }
    return true;
  });
  let final = kept;
  if (missed.length) {
    final = more ? combineRectangles([...kept, ...missed], wanted) : [...kept, ...combineRectangles(missed, wanted - kept.length)];
  }
  if (final.length <= 0.6 * wanted) final = combineRectangles(ocrBoxes, wanted);
  return final;
}

/** cluster_positions: sorted distinct values, runs with gaps ≤ `tolerance` averaged. */
function clusterPositions(values: readonly number[], tolerance: number): number[] {
  const sorted = [...new Set(values)].sort((a, b) => a - b);
  if (!sorted.length) return [];
  const out: number[] = [];
  let run = [sorted[0]!];
  for (const v of sorted.slice(1)) {
    if (Math.abs(v - run.at(-1)!) <= tolerance) run.push(v);
    else {
      out.push(run.reduce((a, b) => a + b, 0) / run.length);
      run = [v];
    }
  }
  out.push(run.reduce((a, b) => a + b, 0) / run.length);
  return out;
}

const HTML_KEYWORDS = [
  '<thead>',
  '</thead>',
  '<tbody>',
  '</tbody>',
  '<tr>',
  '</tr>',
  '<td>',
  '<td',
  '>',
  '</td>',
  ...Array.from({ length: 19 }, (_, i) => `colspan="${i + 2}"`),
  ...Array.from({ length: 19 }, (_, i) => `rowspan="${i + 2}"`),
];
const KEYWORD_SPLIT = new RegExp(`(${HTML_KEYWORDS.map((k) => k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})`);

/** split_string_by_keywords: re.split on PaddleX's keyword list, keeping the keywords, dropping empty parts. */
export function splitHtmlTokens(html: string): string[] {
  return html.split(KEYWORD_SPLIT).filter(Boolean);
}

/** trans_cells_det_results_to_html: a grid from the clustered cell edges (5 px), spans from the edges each cell reaches. */
export function cellsToHtmlTokens(cells: readonly number[][]): string[] {
  const xs = clusterPositions(
    cells.flatMap((c) => [c[0]!, c[2]!]),
    5,
  );
  const ys = clusterPositions(
    cells.flatMap((c) => [c[1]!, c[3]!]),
    5,
  );
  const nearest = (positions: number[], v: number) =>
    positions.reduce((best, p, i) => (Math.abs(p - v) < Math.abs(positions[best]! - v) ? i : best), 0);
  const infos = cells.map(([x1, y1, x2, y2]) => {
    const [c1, c2] = [nearest(xs, x1!), nearest(xs, x2!)];
    const [r1, r2] = [nearest(ys, y1!), nearest(ys, y2!)];
    return { row: Math.min(r1, r2), col: Math.min(c1, c2), rowspan: Math.abs(r2 - r1) || 1, colspan: Math.abs(c2 - c1) || 1 };
  });
  const owner = new Map<string, number>();
  infos.forEach((info, index) => {
    for (let r = info.row; r < info.row + info.rowspan; r++) {
      for (let c = info.col; c < info.col + info.colspan; c++) if (!owner.has(`${r},${c}`)) owner.set(`${r},${c}`, index);
    }
  });
  let html = '<table><tbody>';
  for (let r = 0; r < ys.length - 1; r++) {
    html += '<tr>';
    let c = 0;
    while (c < xs.length - 1) {
      const index = owner.get(`${r},${c}`);
      if (index === undefined) {
        html += '<td></td>';
        c++;
        continue;
      }
      const info = infos[index]!;
      if (info.row === r && info.col === c) {
        const rowspan = info.rowspan > 1 ? ` rowspan="${info.rowspan}"` : '';
        const colspan = info.colspan > 1 ? ` colspan="${info.colspan}"` : '';
        html += `<td${rowspan}${colspan}></td>`;
      }
      c += info.colspan;
    }
    html += '</tr>';
  }
  return splitHtmlTokens(`${html}</tbody></table>`);
}

/** split_box_by_cells: an OCR box cut at the borders of the cells it spans (gaps kept as pieces), duplicates dropped. */
function splitBoxByCells(box: readonly number[], cells: readonly number[][]): number[][] {
  const pieces: number[][] = [];
  if (box[0]! < cells[0]![0]!) pieces.push([box[0]!, box[1]!, cells[0]![0]!, box[3]!]);
  cells.forEach((cell, i) => {
    pieces.push([Math.max(box[0]!, cell[0]!), box[1]!, Math.min(box[2]!, cell[2]!), box[3]!]);
    const next = cells[i + 1];
    if (next && cell[2]! < next[0]!) pieces.push([cell[2]!, box[1]!, next[0]!, box[3]!]);
  });
  const last = cells.at(-1)!;
  if (last[2]! < box[2]!) pieces.push([last[2]!, box[1]!, box[2]!, box[3]!]);
  const seen = new Set<string>();
  return pieces.filter((p) => {
    const key = p.join(',');
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * split_ocr_bboxes_by_table_cells: an OCR box more than half of each of ≥ 2 cells lies in is cut
 * at the cell borders, and each piece is read again (`read`, PaddleX's text recognition model on
 * `image[y1:y2, x1:x2]` with truncated coordinates; pieces ≤ 1 px read as ""). Only rec_boxes and
 * rec_texts change, as in PaddleX.
 */
export async function splitLinesByCells(
  cells: readonly number[][],
  tableOcr: OcrLines,
  read: (box: Box4) => Promise<string>,
): Promise<OcrLines> {
  const boxes: number[][] = [];
  const texts: string[] = [];
  for (const [i, line] of tableOcr.rec_boxes.entries()) {
    const spanned = cells
      .map((cell, j) => {
        const [w, h] = intersection(line, cell);
        return w < 0 || h < 0 ? [0, j] : [(w * h) / area(cell), j];
      })
      .filter(([share]) => share! > 0.5)
      .map(([, j]) => j!)
      .sort((a, b) => cells[a]![0]! - cells[b]![0]!);
    if (spanned.length < 2) {
      boxes.push(line);
      texts.push(tableOcr.rec_texts[i]!);
      continue;
    }
    for (const piece of splitBoxByCells(
      line,
      spanned.map((j) => cells[j]!),
    )) {
      const [x1, y1, x2, y2] = piece.map(Math.trunc) as Box4;
      boxes.push(piece);
      texts.push(y2 - y1 > 1 && x2 - x1 > 1 ? await read([x1, y1, x2, y2]) : '');
    }
  }
  return { ...tableOcr, rec_boxes: boxes, rec_texts: texts };
}
