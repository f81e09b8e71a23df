/**
 * From layout boxes and the page's OCR to ordered blocks, as PaddleX's layout parsing pipelines do
 * it (paddlex/inference/pipelines/layout_parsing/pipeline_v2.py: standardized_data,
 * get_layout_parsing_objects, get_layout_parsing_res; pipeline.py for v1). Model calls come in as
 * callbacks, so this file is plain computation.
 */
import {
  BLOCK_LABEL_MAP,
  bboxArea,
  type Box,
  type CropRecognizer,
  enclosingBox,
  growRegion,
  inLabels,
  LayoutBlock,
  LayoutRegion,
  overlapRatio,
  REGION_SETTINGS,
  TITLE_CONVERSION_AREA_RATIO_THRESHOLD,
  type TextSpan,
} from './blocks.js';
import { sortedLayoutBoxes, xycutEnhanced } from './readingOrder.js';

/** A layout (or region) detection box as PaddleX's DetResult holds it. */
export interface LayoutBox {
  cls_id: number;
  label: string;
  score: number;
  coordinate: [number, number, number, number];
}

type Poly = Array<[number, number]>;

/** The mutable part of the overall OCR result the parsing reads and amends, as PaddleX amends its OCRResult. */
export interface OverallOcr {
  dt_polys: Poly[];
  rec_texts: string[];
  rec_scores: number[];
  rec_polys: Poly[];
  rec_boxes: number[][];
  /** `text`, or `formula` for a recognised formula added as a span */
  rec_labels: string[];
}

/** A recognised formula of the page: its layout box and LaTeX (PaddleX's formula_res_list entry). */
export interface PageFormula {
  box: readonly number[];
  latex: string;
}

/** PaddleX's convert_formula_res_to_ocr_format: each formula joins the page's OCR as a `formula` span. */
export function addFormulaSpans(ocr: OverallOcr, formulas: readonly PageFormula[]): void {
  for (const { box, latex } of formulas) {
    const poly = boxPoly(box);
    ocr.dt_polys.push(poly);
    ocr.rec_texts.push(latex);
    ocr.rec_boxes.push([...box]);
    ocr.rec_labels.push('formula');
    ocr.rec_polys.push(poly.map((p) => [...p] as [number, number]));
    ocr.rec_scores.push(1);
  }
}

/** A block's specialised result (table HTML, seal texts, chart table), in layout-box order per label. */
export interface SpecialContents {
  table: string[];
  seal: string[][];
  chart: string[];
}

const SPECIAL_LABELS = ['formula', 'table', 'seal'];

/** PaddleX's get_overlap_boxes_idx + get_sub_regions_ocr_res: OCR boxes overlapping `box` by more than 3 px each way, ascending. */
export function ocrIndexesIn(ocr: { rec_boxes: number[][] }, boxes: ReadonlyArray<readonly number[]>): number[] {
  const matched = new Set<number>();
  for (const ref of boxes) {
    ocr.rec_boxes.forEach((b, i) => {
      const w = Math.min(ref[2]!, b[2]!) - Math.max(ref[0]!, b[0]!);
      const h = Math.min(ref[3]!, b[3]!) - Math.max(ref[1]!, b[1]!);
      if (w > 3 && h > 3) matched.add(i);
    });
  }
  return [...matched].sort((a, b) => a - b);
}

/** PaddleX's remove_overlap_blocks: of two boxes overlapping by more than `threshold` of the smaller, the smaller goes (an `image` box first). */
export function removeOverlapBlocks(boxes: LayoutBox[], threshold = 0.5): LayoutBox[] {
  const dropped = new Set<number>();
  boxes.forEach((a, i) => {
    for (let j = i + 1; j < boxes.length; j++) {
      if (dropped.has(i) || dropped.has(j)) continue;
      const b = boxes[j]!;
      if (overlapRatio(a.coordinate, b.coordinate, 'small') <= threshold) continue;
      const smallerFirst = bboxArea(a.coordinate) <= bboxArea(b.coordinate);
      const aImage = a.label === 'image';
      const bImage = b.label === 'image';
      dropped.add(aImage !== bImage ? (aImage ? i : j) : smallerFirst ? i : j);
    }
  });
  return boxes.filter((_, i) => !dropped.has(i)).map((b) => ({ ...b, coordinate: [...b.coordinate] }));
}

function intersection(a: readonly number[], b: readonly number[]): Box | null {
  const box: Box = [Math.max(a[0]!, b[0]!), Math.max(a[1]!, b[1]!), Math.min(a[2]!, b[2]!), Math.min(a[3]!, b[3]!)];
  return box[0] >= box[2] || box[1] >= box[3] ? null : box;
}

function polyBox(poly: Poly): Box {
  return enclosingBox(poly.map(([x, y]) => [x, y, x, y]));
}

/** A box's four corners in whole pixels (PaddleX's get_bbox_intersection(..., return_format="poly"), and its formula polys). */
function boxPoly(box: readonly number[]): Poly {
  const [x1, y1, x2, y2] = box.map((v) => Math.trunc(v)) as Box;
  return [
    [x1, y1],
    [x2, y1],
    [x2, y2],
    [x1, y2],
  ];
}

/** PaddleX's shrink_supplement_region_bbox. */
function shrinkSupplementRegion(
  supplement: Box,
  ref: readonly number[],
  width: number,
  height: number,
  candidates: number[],
  blockBoxes: ReadonlyArray<readonly number[]>,
): [Box, number[]] {
  const opposite = [2, 3, 0, 1];
  const distances = (r: readonly number[], b: readonly number[]) => [
    (b[0]! - r[0]!) / width,
    (b[1]! - r[1]!) / height,
    (r[2]! - b[2]!) / width,
    (r[3]! - b[3]!) / height,
  ];
  const edgeDistances = distances(supplement, ref);
  const remaining = [...edgeDistances];
  let minDistance = Math.min(...edgeDistances);
  let src = opposite[edgeDistances.indexOf(minDistance)]!;
  if (!candidates.length) return [supplement, []];
  let inner: number[] = [];
  let region = supplement;
  for (let attempt = 0; attempt < 3; attempt++) {
    // PaddleX edits a numpy view of the supplement box: each attempt keeps the previous one's edit
    const tmp = region;
    tmp[opposite[src]!] = ref[src]!;
    inner = [];
    const split: number[] = [];
    for (const idx of candidates) {
      const ratio = overlapRatio(tmp, blockBoxes[idx]!, 'small');
      if (ratio > REGION_SETTINGS.matchBlockOverlapRatioThreshold) inner.push(idx);
      else if (ratio > REGION_SETTINGS.splitBlockOverlapRatioThreshold) split.push(idx);
    }
    if (inner.length) {
      let shrunk = tmp;
      for (const idx of split) {
        const d = distances(shrunk, blockBoxes[idx]!);
        const from = d.indexOf(Math.max(...d));
        shrunk[opposite[from]!] = blockBoxes[idx]![from]!;
        [shrunk] = shrinkSupplementRegion(shrunk, ref, width, height, inner, blockBoxes);
      }
      region = enclosingBox(inner.map((i) => blockBoxes[i]!));
      break;
    }
    remaining.splice(remaining.indexOf(minDistance), 1);
    minDistance = Math.min(...remaining);
    src = opposite[edgeDistances.indexOf(minDistance)]!;
  }
  return [region, inner];
}

export interface StandardizedPage {
  layoutBoxes: LayoutBox[];
  regionBoxes: Array<{ coordinate: number[]; label: string; score: number }>;
  regionToBlocks: number[][];
  blockToOcr: Map<number, number[]>;
}

/**
 * PaddleX's standardized_data: OCR boxes matched to layout boxes (a line two blocks share is read
 * again in each; a text block without any line is read as one crop), label fixes (footnotes above
 * text become text; a lone large paragraph title becomes the document title), and blocks matched to
 * regions (one region holding everything when there is no region detection). The page's
 * recognised formulas join the OCR first, as `formula` spans.
 */
export async function standardize(
  page: { width: number; height: number },
  detected: LayoutBox[],
  regionDetected: Array<{ coordinate: number[]; label: string; score: number }>,
  ocr: OverallOcr,
  recognize: CropRecognizer,
  textRecScoreThresh: number,
  formulas: readonly PageFormula[] = [],
): Promise<StandardizedPage> {
  const boxes = removeOverlapBlocks(detected);
  addFormulaSpans(ocr, formulas);
  const matchedOcr = new Map<number, number[]>();
  const blockToOcr = new Map<number, number[]>();
  const footnotes: number[] = [];
  const paragraphTitles: number[] = [];
  let bottomTextY = 0;
  let maxBlockArea = 0;
  let docTitles = 0;
  let baseRegion: number[] = [65535, 65535, 0, 0];
  boxes.forEach((info, idx) => {
    const box = info.coordinate;
    const label = info.label.toLowerCase();
    baseRegion = growRegion(box, baseRegion);
    maxBlockArea = Math.max(maxBlockArea, bboxArea(box));
    if (label === 'footnote') footnotes.push(idx);
    else if (label === 'paragraph_title') paragraphTitles.push(idx);
    if (label === 'text') bottomTextY = Math.max(box[3], bottomTextY);
    if (label === 'doc_title') docTitles++;
    if (!SPECIAL_LABELS.includes(label)) {
      const matched = ocrIndexesIn(ocr, [box]);
      blockToOcr.set(idx, matched);
      for (const m of matched) matchedOcr.set(m, [...(matchedOcr.get(m) ?? []), idx]);
    }
  });
  for (const idx of footnotes) if (boxes[idx]!.coordinate[3] < bottomTextY) boxes[idx]!.label = 'text';
  if (paragraphTitles.length === 1 && docTitles === 0) {
    const title = boxes[paragraphTitles[0]!]!;
    if (bboxArea(title.coordinate) > maxBlockArea * TITLE_CONVERSION_AREA_RATIO_THRESHOLD) title.label = 'doc_title';
  }

  const append = (box: number[], poly: Poly, score: number, text: string) => {
    ocr.rec_boxes.push(box);
    ocr.rec_polys.push(poly);
    ocr.rec_scores.push(score);
    ocr.rec_texts.push(text);
    ocr.rec_labels.push('text');
    return ocr.rec_texts.length - 1;
  };
  // an OCR line inside two or more blocks is read again, cut to each block
  for (const [ocrIdx, blockIdxes] of matchedOcr) {
    if (blockIdxes.length <= 1) continue;
    let matchedNo = 0;
    const ocrBox = [...ocr.rec_boxes[ocrIdx]!];
    const dtPoly = ocr.dt_polys[ocrIdx]!.map((p) => [...p] as [number, number]);
    for (const blockIdx of blockIdxes) {
      const layoutBox = boxes[blockIdx]!.coordinate;
      const crop = intersection(ocrBox, layoutBox)!;
      for (const idx of blockToOcr.get(blockIdx)!) {
        if (overlapRatio(ocr.rec_boxes[idx]!, crop, 'small') > 0.8) ocr.rec_texts[idx] = '';
      }
      const { text, score } = await recognize(crop);
      const poly = boxPoly(intersection(polyBox(dtPoly), layoutBox)!);
      if (score < textRecScoreThresh) continue;
      matchedNo++;
      if (matchedNo === 1) {
        ocr.dt_polys[ocrIdx] = poly;
        ocr.rec_boxes[ocrIdx] = crop;
        ocr.rec_polys[ocrIdx] = poly;
        ocr.rec_scores[ocrIdx] = score;
        ocr.rec_texts[ocrIdx] = text;
      } else {
        ocr.dt_polys.push(poly);
        const added = append(crop, poly, score, text);
        const list = blockToOcr.get(blockIdx)!;
        list.splice(list.indexOf(ocrIdx), 1);
        list.push(added);
      }
    }
  }
  // a text block without any recognised line is read as one crop
  for (const [blockIdx, ocrIdxes] of blockToOcr) {
    if (ocrIdxes.some((i) => ocr.rec_texts[i] !== '')) continue;
    if (inLabels(boxes[blockIdx]!.label, 'vision_labels')) continue;
    const crop = boxes[blockIdx]!.coordinate;
    const { text, score } = await recognize(crop);
    if (score >= textRecScoreThresh) ocrIdxes.push(append([...crop], boxPoly(crop), score, text));
  }
  // no layout boxes: every OCR line becomes a text block
  if (!boxes.length && ocr.rec_boxes.length) {
    ocr.rec_boxes.forEach((box, idx) => {
      baseRegion = growRegion(box, baseRegion);
      boxes.push({ cls_id: -1, label: 'text', coordinate: [...box] as Box, score: ocr.rec_scores[idx]! });
      blockToOcr.set(idx, [idx]);
    });
  }

  const maskLabels = [...BLOCK_LABEL_MAP.unordered_labels, ...BLOCK_LABEL_MAP.header_labels, ...BLOCK_LABEL_MAP.footer_labels] as string[];
  const masked = (idx: number) => maskLabels.includes(boxes[idx]!.label);
  const blockBoxes = boxes.map((b) => b.coordinate);
  const regions = regionDetected
    .map((r) => ({ ...r, coordinate: [...r.coordinate] }))
    .sort((a, b) => bboxArea(a.coordinate) - bboxArea(b.coordinate));
  const regionToBlocks: number[][] = [];
  if (!regions.length) {
    regions.push({ coordinate: baseRegion, label: 'SupplementaryRegion', score: 1 });
    regionToBlocks.push(blockBoxes.map((_, i) => i));
  } else {
    // PaddleX iterates a Python set of small ints: ascending
    let unmatched = blockBoxes.map((_, i) => i);
    const inside = (region: readonly number[]) =>
      unmatched.filter(
        (i) => !masked(i) && overlapRatio(region, blockBoxes[i]!, 'small') > REGION_SETTINGS.matchBlockOverlapRatioThreshold,
      );
    regions.forEach((region, regionIdx) => {
      regionToBlocks[regionIdx] = [];
      let matched = inside(region.coordinate);
      if (!matched.length) return;
      let previous: number[] = [];
      let enclosing: number[] = region.coordinate;
      while (previous.length !== matched.length) {
        previous = matched;
        enclosing = enclosingBox(previous.map((i) => blockBoxes[i]!));
        matched = inside(enclosing);
      }
      unmatched = unmatched.filter((i) => !matched.includes(i));
      regionToBlocks[regionIdx] = matched;
      region.coordinate = enclosing;
    });
    while (unmatched.length) {
      let supplement = enclosingBox(unmatched.map((i) => blockBoxes[i]!));
      let matched: number[] = [];
      regions.forEach((region, regionIdx) => {
        if (!regionToBlocks[regionIdx]!.length) return;
        if (overlapRatio(supplement, region.coordinate) > 0) {
          [supplement, matched] = shrinkSupplementRegion(supplement, region.coordinate, page.width, page.height, unmatched, blockBoxes);
        }
      });
      matched = matched.filter((i) => !masked(i));
      if (!matched.length) {
        matched = unmatched.filter((i) => !masked(i));
        if (!matched.length) break;
      }
      supplement = enclosingBox(matched.map((i) => blockBoxes[i]!));
      regionToBlocks.push([...matched]);
      unmatched = unmatched.filter((i) => !matched.includes(i));
      regions.push({ coordinate: supplement, label: 'SupplementaryRegion', score: 1 });
    }
    boxes.forEach((box, idx) => {
      if (!masked(idx)) return;
      regionToBlocks.push([idx]);
      regions.push({ coordinate: [...box.coordinate], label: 'SupplementaryRegion', score: 1 });
    });
  }
  return { layoutBoxes: boxes, regionBoxes: regions, regionToBlocks, blockToOcr };
}

const IMAGE_BLOCK_LABELS = ['seal', 'table', 'formula', 'chart', ...BLOCK_LABEL_MAP.image_labels] as string[];

/** PaddleX's image path of a block crop. */
export function blockImagePath(label: string, box: readonly number[]): string {
  const [x1, y1, x2, y2] = box.map((v) => Math.trunc(v));
  return `imgs/img_in_${label}_box_${x1}_${y1}_${x2}_${y2}.jpg`;
}

/**
 * PaddleX's get_layout_parsing_objects + sort_layout_parsing_blocks: blocks with their content
 * (specialised results by label, text from their OCR lines), grouped by region, then each level in
 * xycut-enhanced order; `index` and `orderIndex` as PaddleX numbers them. `reread` reads again the
 * text spans of a line a formula splits (PaddleX: the GeneralOCR recogniser and its YAML score threshold).
 */
export async function parseBlocks(
  std: StandardizedPage,
  ocr: OverallOcr,
  special: SpecialContents,
  markdownIgnoreLabels: readonly string[],
  reread: { recognize: CropRecognizer; scoreThresh: number },
): Promise<LayoutBlock[]> {
  const counters = { table: 0, seal: 0, chart: 0 };
  const blocks: LayoutBlock[] = [];
  for (const [boxIdx, info] of std.layoutBoxes.entries()) {
    const { label } = info;
    const block = new LayoutBlock(label, info.coordinate);
    if (label === 'table' && special.table.length) block.content = special.table[counters.table++]!;
    else if (label === 'seal' && special.seal.length) block.content = special.seal[counters.seal++]!.join('\n');
    else if (label === 'chart' && special.chart.length) block.content = special.chart[counters.chart++]!;
    else {
      const idxes = label === 'formula' ? ocrIndexesIn(ocr, [info.coordinate]) : (std.blockToOcr.get(boxIdx) ?? []);
      if (label === 'formula') std.blockToOcr.set(boxIdx, idxes);
      // the OCR result's own boxes, as PaddleX's spans hold views of them (a formula's split edits one)
      const spans: TextSpan[] = idxes.map((i) => ({ box: ocr.rec_boxes[i]!, text: ocr.rec_texts[i]!, label: ocr.rec_labels[i]! }));
      await block.updateTextContent(spans, reread);
    }
    if (IMAGE_BLOCK_LABELS.includes(label)) {
      const box = info.coordinate.map((v) => Math.trunc(v)) as Box;
      block.image = { path: blockImagePath(block.label, box), box };
    }
    blocks.push(block);
  }
  let pageBox: number[] = [65535, 65535, 0, 0];
  const regions: LayoutRegion[] = [];
  std.regionBoxes.forEach((region, regionIdx) => {
    const regionBox = region.coordinate.map((v) => Math.trunc(v));
    const members = (std.regionToBlocks[regionIdx] ?? []).map((i) => blocks[i]!);
    if (!members.length) return;
    pageBox = growRegion(regionBox, pageBox);
    regions.push(new LayoutRegion(regionBox, members));
  });
  const pageRegion = new LayoutRegion(
    pageBox.map((v) => Math.trunc(v)),
    regions,
  );
  const ordered = xycutEnhanced(pageRegion).flatMap((region) => xycutEnhanced(region as LayoutRegion));
  const orderLabels = (BLOCK_LABEL_MAP.visualize_index_labels as readonly string[]).filter((l) => !markdownIgnoreLabels.includes(l));
  let orderIndex = 1;
  ordered.forEach((block, index) => {
    block.index = index;
    if (orderLabels.includes(block.label)) block.orderIndex = orderIndex++;
  });
  return ordered;
}

/** One entry of layout_parsing v1's `parsing_res_list`. */
export interface V1Block {
  block_bbox: number[];
  block_label: string;
  block_content: string;
}

/**
 * layout_parsing v1 (PaddleX pipeline.py get_layout_parsing_res): each layout box with its
 * specialised result or its OCR lines joined by newlines; a line inside several boxes is read again
 * by `ocrMasked` (OCR of the page whitened outside one box); OCR lines outside every box become
 * `other_text` blocks; then sorted_layout_boxes.
 */
export async function parseBlocksV1(
  page: { width: number },
  boxes: LayoutBox[],
  ocr: OverallOcr,
  special: { table: string[]; seal: string[][]; formula: string[] },
  ocrMasked: (box: readonly number[]) => Promise<string[]>,
): Promise<V1Block[]> {
  const counters = { formula: 0, table: 0, seal: 0 };
  const matchedOcr = new Map<number, number[]>();
  const out: V1Block[] = boxes.map((info, idx) => {
    const label = info.label.toLowerCase();
    const entry: V1Block = { block_bbox: [...info.coordinate], block_label: label, block_content: '' };
    if (label === 'formula') {
      if (special.formula.length) entry.block_content = special.formula[counters.formula++]!;
    } else if (label === 'table') {
      if (special.table.length) entry.block_content = special.table[counters.table++]!;
    } else if (label === 'seal') {
      if (special.seal.length) entry.block_content = special.seal[counters.seal++]!.join(', ');
    } else {
      const matched = ocrIndexesIn(ocr, [info.coordinate]);
      for (const m of matched) matchedOcr.set(m, [...(matchedOcr.get(m) ?? []), idx]);
      entry.block_content = matched.map((i) => ocr.rec_texts[i]).join('\n');
    }
    return entry;
  });
  for (const blockIdxes of matchedOcr.values()) {
    if (blockIdxes.length <= 1) continue;
    for (const idx of blockIdxes) out[idx]!.block_content = (await ocrMasked(out[idx]!.block_bbox)).join('\n');
  }
  const inside = new Set(
    ocrIndexesIn(
      ocr,
      boxes.map((b) => b.coordinate),
    ),
  );
  ocr.rec_boxes.forEach((box, i) => {
    if (!inside.has(i)) out.push({ block_bbox: [...box], block_label: 'other_text', block_content: ocr.rec_texts[i]! });
  });
  return sortedLayoutBoxes(out, page.width);
}
