/**
 * Reading order. PP-StructureV3: PaddleX's xycut_enhanced
 * (paddlex/inference/pipelines/layout_parsing/xycut_enhanced/{xycuts,utils}.py): titles, figures and
 * their captions are matched to children, the page is pre-cut where a centred block spans it, the
 * remaining blocks are ordered by recursive XY cuts, and titles / cross-column blocks are inserted by
 * weighted distance. layout_parsing v1: PaddleX's sorted_layout_boxes (left column, then right).
 */
import {
  type Direction,
  floorDiv,
  inLabels,
  type LayoutBlock,
  type LayoutRegion,
  overlapRatio,
  projectionOverlapRatio,
  segFlags,
  sortByKey,
  XYCUT_SETTINGS,
} from './blocks.js';

type Interval = [number, number];

/** PaddleX's projection_by_bboxes: how many boxes cover each integer coordinate along `axis` (0 = x, 1 = y). */
function projectionByBoxes(boxes: ReadonlyArray<readonly number[]>, axis: 0 | 1): number[] {
  const coords = boxes.flatMap((b) => [b[axis]!, b[axis + 2]!]);
  let length = Math.max(...coords);
  if (length < 0) length = Math.abs(Math.min(...coords));
  const projection = new Array<number>(Math.max(0, length)).fill(0);
  for (const b of boxes) {
    const start = Math.abs(b[axis]!);
    const end = Math.min(Math.abs(b[axis + 2]!), projection.length);
    for (let i = start; i < end; i++) projection[i]!++;
  }
  return projection;
}

/** PaddleX's split_projection_profile: runs of values above `minValue`, split at gaps wider than `minGap`. */
function splitProjectionProfile(values: number[], minValue: number, minGap: number): Interval[] | null {
  const significant = values.flatMap((v, i) => (v > minValue ? [i] : []));
  if (!significant.length) return null;
  const intervals: Interval[] = [];
  let start = significant[0]!;
  for (let i = 1; i < significant.length; i++) {
    if (significant[i]! - significant[i - 1]! > minGap) {
      intervals.push([start, significant[i - 1]! + 1]);
      start = significant[i]!;
    }
  }
  intervals.push([start, significant.at(-1)! + 1]);
  return intervals;
}

interface IndexedBox {
  box: number[];
  index: number;
}

function sortedBy(items: IndexedBox[], coordinate: number): IndexedBox[] {
  return sortByKey([...items], (i) => [i.box[coordinate]!]);
}

/** PaddleX's recursive_yx_cut. */
function recursiveYxCut(items: IndexedBox[], res: number[], minGap = 1): void {
  const ySorted = sortedBy(items, 1);
  const yIntervals = splitProjectionProfile(
    projectionByBoxes(
      ySorted.map((i) => i.box),
      1,
    ),
    0,
    1,
  );
  if (!yIntervals) return;
  for (const [yStart, yEnd] of yIntervals) {
    const chunk = sortedBy(
      ySorted.filter((i) => yStart <= i.box[1]! && i.box[1]! < yEnd),
      0,
    );
    let xIntervals = splitProjectionProfile(
      projectionByBoxes(
        chunk.map((i) => i.box),
        0,
      ),
      0,
      minGap,
    );
    if (!xIntervals) continue;
    if (xIntervals.length === 1) {
      res.push(...chunk.map((i) => i.index));
      continue;
    }
    if (Math.min(...chunk.map((i) => i.box[0]!)) < 0) xIntervals = [...xIntervals].reverse();
    for (const [xStart, xEnd] of xIntervals) {
      recursiveYxCut(
        chunk.filter((i) => xStart <= Math.abs(i.box[0]!) && Math.abs(i.box[0]!) < xEnd),
        res,
      );
    }
  }
}

/** PaddleX's recursive_xy_cut. */
function recursiveXyCut(items: IndexedBox[], res: number[], minGap = 1): void {
  const xSorted = sortedBy(items, 0);
  let xIntervals = splitProjectionProfile(
    projectionByBoxes(
      xSorted.map((i) => i.box),
      0,
    ),
    0,
    1,
  );
  if (!xIntervals) return;
  if (Math.min(...xSorted.map((i) => i.box[0]!)) < 0) xIntervals = [...xIntervals].reverse();
  for (const [xStart, xEnd] of xIntervals) {
    const chunk = sortedBy(
      xSorted.filter((i) => xStart <= Math.abs(i.box[0]!) && Math.abs(i.box[0]!) < xEnd),
      1,
    );
    const yIntervals = splitProjectionProfile(
      projectionByBoxes(
        chunk.map((i) => i.box),
        1,
      ),
      0,
      minGap,
    );
    if (!yIntervals) continue;
    if (yIntervals.length === 1) {
      res.push(...chunk.map((i) => i.index));
      continue;
    }
    for (const [yStart, yEnd] of yIntervals) {
      recursiveXyCut(
        chunk.filter((i) => yStart <= i.box[1]! && i.box[1]! < yEnd),
        res,
      );
    }
  }
}

/** PaddleX's sort_by_xycut: `vertical` cuts rows first (Y then X), `horizontal` columns first. */
export function sortByXycut(boxes: ReadonlyArray<readonly number[]>, direction: Direction, minGap = 1): number[] {
  const items = boxes.map((b, index) => ({ box: b.map((v) => Math.trunc(v)), index }));
  const res: number[] = [];
  if (direction === 'vertical') recursiveYxCut(items, res, minGap);
  else recursiveXyCut(items, res, minGap);
  return res;
}

/** PaddleX's calculate_discontinuous_projection: the merged extents of boxes along one axis, and how many boxes each holds. */
export function discontinuousProjection(
  boxes: ReadonlyArray<readonly number[]>,
  direction: Direction,
): { intervals: Interval[]; counts: number[] } {
  const [s, e] = direction === 'horizontal' ? [0, 2] : [1, 3];
  const spans = sortByKey(
    boxes.map((b) => [b[s]!, b[e]!] as Interval),
    (i) => [i[0]],
  );
  const intervals: Interval[] = [];
  const counts: number[] = [];
  let [start, end] = spans[0]!;
  let count = 1;
  for (const [a, b] of spans.slice(1)) {
    if (a <= end) {
      count++;
      end = Math.max(end, b);
    } else {
      counts.push(count);
      intervals.push([start, end]);
      count = 1;
      [start, end] = [a, b];
    }
  }
  counts.push(count);
  intervals.push([start, end]);
  return { intervals, counts };
}

/** PaddleX's get_nearest_edge_distance, with [left, right, up, down] weights. */
function nearestEdgeDistance(a: readonly number[], b: readonly number[], weight: readonly number[] = [1, 1, 1, 1]): number {
  const [x1, y1, x2, y2] = a as [number, number, number, number];
  const [x1p, y1p, x2p, y2p] = b as [number, number, number, number];
  const horizontalIou = projectionOverlapRatio(a, b, 'horizontal');
  const verticalIou = projectionOverlapRatio(a, b, 'vertical');
  if (horizontalIou > 0 && verticalIou > 0) return 0;
  let dx = 0;
  let dy = 0;
  if (horizontalIou === 0) dx = Math.min(Math.abs(x1 - x2p), Math.abs(x2 - x1p)) * (x2 < x1p ? weight[0]! : weight[1]!);
  if (verticalIou === 0) dy = Math.min(Math.abs(y1 - y2p), Math.abs(y2 - y1p)) * (y2 < y1p ? weight[2]! : weight[3]!);
  return dx + dy;
}

/** PaddleX's get_nearest_blocks: blocks overlapping `block` along `direction`, before it (nearest first) and after it. */
function nearestBlocks(block: LayoutBlock, refs: LayoutBlock[], threshold: number, direction: Direction): [LayoutBlock[], LayoutBlock[]] {
  const sortIndex = direction === 'horizontal' ? 1 : 0;
  const prev: LayoutBlock[] = [];
  const post: LayoutBlock[] = [];
  for (const ref of refs) {
    if (ref.index === block.index) continue;
    if (projectionOverlapRatio(block.bbox, ref.bbox, direction, 'small') > threshold) {
      (ref.bbox[sortIndex]! <= block.bbox[sortIndex]! ? prev : post).push(ref);
    }
  }
  // Python's sort(reverse=True) keeps equal keys in their original order
  sortByKey(prev, (b) => [-b.bbox[sortIndex]!]);
  sortByKey(post, (b) => [b.bbox[sortIndex]!]);
  return [prev, post];
}

function remove(list: number[], value: number): void {
  const at = list.indexOf(value);
  if (at < 0) throw new Error(`reading order: block ${value} is not in the list it should leave`);
  list.splice(at, 1);
}

const blocksOf = (region: LayoutRegion, idxes: number[]) => idxes.map((i) => region.blockMap.get(i)!);

/** PaddleX's update_doc_title_child_blocks. */
function updateDocTitleChildren(block: LayoutBlock, region: LayoutRegion): void {
  const refs = blocksOf(region, region.normalTextBlockIdxes);
  const [prev, post] = nearestBlocks(block, refs, XYCUT_SETTINGS.childBlockOverlapRatioThreshold, block.direction);
  for (const ref of [prev[0], post[0]]) {
    if (!ref) continue;
    const shortCondition = ref.shortSideLength < block.shortSideLength * 0.8;
    const longCondition = ref.longSideLength < block.longSideLength || ref.longSideLength > 1.5 * block.longSideLength;
    if (
      ref.direction === block.direction &&
      inLabels(ref.label, 'text_labels') &&
      shortCondition &&
      longCondition &&
      ref.numOfLines < 3 &&
      nearestEdgeDistance(block.bbox, ref.bbox) < ref.textLineHeight * 2
    ) {
      ref.orderLabel = 'doc_title_text';
      block.appendChildBlock(ref);
      remove(region.normalTextBlockIdxes, ref.index);
    }
  }
  for (const ref of refs) {
    if (ref.orderLabel === 'doc_title_text') continue;
    if (overlapRatio(block.bbox, ref.bbox, 'small') > 0.9 && ref.direction === block.direction) {
      ref.orderLabel = 'doc_title_text';
      block.appendChildBlock(ref);
      remove(region.normalTextBlockIdxes, ref.index);
    }
  }
}

/** PaddleX's update_paragraph_title_child_blocks. */
function updateParagraphTitleChildren(block: LayoutBlock, region: LayoutRegion): void {
  if (block.orderLabel === 'sub_paragraph_title') return;
  const refs = blocksOf(region, [...region.paragraphTitleBlockIdxes, ...region.normalTextBlockIdxes]);
  const [prev, post] = nearestBlocks(block, refs, XYCUT_SETTINGS.childBlockOverlapRatioThreshold, block.direction);
  for (const side of [prev, post]) {
    for (const ref of side) {
      if (!inLabels(ref.label, 'paragraph_title_labels')) break;
      const minLineHeight = Math.min(block.textLineHeight, ref.textLineHeight);
      if (
        ref.direction === block.direction &&
        Math.abs(ref.startCoordinate - block.startCoordinate) < minLineHeight * 2 &&
        nearestEdgeDistance(block.bbox, ref.bbox) <= minLineHeight * 1.5
      ) {
        ref.orderLabel = 'sub_paragraph_title';
        block.appendChildBlock(ref);
        remove(region.paragraphTitleBlockIdxes, ref.index);
      }
    }
  }
}

/** The footnote test of PaddleX's update_vision_child_blocks (a short text line under or over a figure). */
function isVisionFootnote(block: LayoutBlock, ref: LayoutBlock, distance: number): boolean {
  const [bcx] = block.centroid();
  const [rcx] = ref.centroid();
  return (
    ref.direction === block.direction &&
    ref.longSideLength < block.longSideLength &&
    distance <= ref.textLineHeight * 2 &&
    ((ref.shortSideLength < block.shortSideLength && ref.longSideLength < 0.5 * block.longSideLength && Math.abs(bcx - rcx) < 10) ||
      (block.bbox[0]! - ref.bbox[0]! < 10 && ref.numOfLines === 1) ||
      (block.bbox[2]! - ref.bbox[2]! < 10 && ref.numOfLines === 1))
  );
}

/** PaddleX's update_vision_child_blocks: a figure's or table's title and footnote become its children. */
function updateVisionChildren(block: LayoutBlock, region: LayoutRegion): void {
  const refs = blocksOf(region, [...region.normalTextBlockIdxes, ...region.visionTitleBlockIdxes]);
  let hasFootnote = false;
  let hasTitle = false;
  const takeTitle = (ref: LayoutBlock, distance: number) => {
    if (inLabels(ref.label, 'vision_title_labels') && distance <= ref.textLineHeight * 2) {
      hasTitle = true;
      ref.orderLabel = 'vision_title';
      block.appendChildBlock(ref);
      remove(region.visionTitleBlockIdxes, ref.index);
    }
  };
  for (const direction of [block.direction, block.secondaryDirection]) {
    const [prev, post] = nearestBlocks(block, refs, XYCUT_SETTINGS.childBlockOverlapRatioThreshold, direction);
    for (const ref of prev) {
      if (!inLabels(ref.label, 'text_labels') && !inLabels(ref.label, 'vision_title_labels')) break;
      const distance = nearestEdgeDistance(block.bbox, ref.bbox);
      takeTitle(ref, distance);
      if (inLabels(ref.label, 'text_labels')) {
        if (!hasFootnote && isVisionFootnote(block, ref, distance)) {
          hasFootnote = true;
          ref.orderLabel = 'vision_footnote';
          block.appendChildBlock(ref);
          remove(region.normalTextBlockIdxes, ref.index);
        }
        break;
      }
    }
    for (const ref of post) {
      if (hasFootnote && inLabels(ref.label, 'text_labels')) break;
      const distance = nearestEdgeDistance(block.bbox, ref.bbox);
      takeTitle(ref, distance);
      if (inLabels(ref.label, 'text_labels')) {
        if (!hasFootnote && isVisionFootnote(block, ref, distance)) {
          hasFootnote = true;
          ref.label = 'vision_footnote';
          ref.orderLabel = 'vision_footnote';
          block.appendChildBlock(ref);
          remove(region.normalTextBlockIdxes, ref.index);
        }
        break;
      }
    }
    if (hasTitle) break;
  }
  for (const ref of refs) {
    if (!region.normalTextBlockIdxes.includes(ref.index)) continue;
    if (overlapRatio(block.bbox, ref.bbox, 'small') > 0.9) {
      ref.label = 'vision_footnote';
      ref.orderLabel = 'vision_footnote';
      block.appendChildBlock(ref);
      remove(region.normalTextBlockIdxes, ref.index);
    }
  }
}

/** PaddleX's update_region_child_blocks. */
function updateRegionChildren(block: LayoutBlock, region: LayoutRegion): void {
  for (const ref of region.blockMap.values()) {
    if (block.index === ref.index) continue;
    if (overlapRatio(block.bbox, ref.bbox) > 0 && block.area > ref.area && ref.orderLabel !== 'sub_region') {
      ref.orderLabel = 'sub_region';
      block.appendChildBlock(ref);
      remove(region.normalTextBlockIdxes, ref.index);
    }
  }
}

/** PaddleX's update_region_label. */
function updateRegionLabel(block: LayoutBlock, region: LayoutRegion): void {
  const l = block.label;
  if (inLabels(l, 'header_labels')) block.orderLabel = 'header';
  else if (inLabels(l, 'doc_title_labels')) block.orderLabel = 'doc_title';
  else if (inLabels(l, 'paragraph_title_labels') && block.orderLabel === null) block.orderLabel = 'paragraph_title';
  else if (inLabels(l, 'vision_labels')) {
    block.orderLabel = 'vision';
    block.numOfLines = 1;
    block.updateDirection(region.direction);
  } else if (inLabels(l, 'footer_labels')) block.orderLabel = 'footer';
  else if (inLabels(l, 'unordered_labels')) block.orderLabel = 'unordered';
  else if (l === 'region') block.orderLabel = 'region';
  else block.orderLabel = 'normal_text';

  if (block.orderLabel === 'doc_title') updateDocTitleChildren(block, region);
  else if (block.orderLabel === 'paragraph_title') updateParagraphTitleChildren(block, region);
  else if (block.orderLabel === 'vision') updateVisionChildren(block, region);
  else if (block.orderLabel === 'region') updateRegionChildren(block, region);
}

/** PaddleX's get_cut_blocks: groups of blocks between successive cut coordinates (mask labels left out). */
function cutBlocks(blocks: LayoutBlock[], cutDirection: Direction, cuts: number[], maskLabels: readonly string[]): LayoutBlock[][] {
  const axis = cutDirection === 'horizontal' ? 0 : 1;
  sortByKey(blocks, (b) => [b.bbox[axis + 2]!]);
  const coordinates = [...new Set([...cuts, Number.POSITIVE_INFINITY])].sort((a, b) => a - b);
  const groups: LayoutBlock[][] = [];
  let cutIdx = 0;
  for (const cut of coordinates) {
    const group: LayoutBlock[] = [];
    let idx = cutIdx;
    while (idx < blocks.length) {
      const block = blocks[idx]!;
      if (block.bbox[axis + 2]! > cut) break;
      if (!maskLabels.includes(block.orderLabel ?? '')) group.push(block);
      idx++;
    }
    cutIdx = idx;
    if (group.length) groups.push(group);
  }
  return groups;
}

/** PaddleX's get_blocks_by_direction_interval. */
function blocksInInterval(blocks: LayoutBlock[], start: number, end: number, direction: Direction): LayoutBlock[] {
  const axis = direction === 'horizontal' ? 0 : 1;
  sortByKey(blocks, (b) => [b.bbox[axis + 2]!]);
  return blocks.filter((b) => b.bbox[axis]! >= start && b.bbox[axis + 2]! <= end);
}

/** PaddleX's find_local_minima_flat_regions (the last run is never closed, as in PaddleX). */
function localMinimaFlatRegions(values: number[]): Interval[] | null {
  const n = values.length;
  if (n === 0) return [];
  const regions: Interval[] = [];
  let start = 0;
  for (let i = 1; i < n; i++) {
    if (values[i] !== values[i - 1]) {
      if ((start === 0 || values[start - 1]! > values[start]!) && values[i]! > values[start]!) regions.push([start, i - 1]);
      start = i;
    }
  }
  return regions.length > 1 ? regions.slice(1) : null;
}

const PRE_PROCESS_MASK = [
  'header',
  'unordered',
  'footer',
  'vision_footnote',
  'sub_paragraph_title',
  'doc_title_text',
  'vision_title',
  'sub_region',
];

/** PaddleX's pre_process: labels and children, then cuts across the page where a centred block or a wide gap separates it. */
function preProcess(region: LayoutRegion): LayoutBlock[][] {
  const blocks = [...region.blockMap.values()];
  const centred: number[] = [];
  for (const block of blocks) {
    if (!PRE_PROCESS_MASK.includes(block.orderLabel ?? '')) updateRegionLabel(block, region);
    const tolerance = block.direction === 'horizontal' ? floorDiv(block.longSideLength, 5) : floorDiv(block.shortSideLength, 10);
    const centre = (block.bbox[region.directionStartIndex]! + block.bbox[region.directionEndIndex]!) / 2;
    if (Math.abs(centre - region.directionCenterCoordinate) <= tolerance) centred.push(block.index);
  }
  const cutDirection = region.secondaryDirection;
  const cuts: number[] = [];
  let discontinuous: Interval[] = [];
  const allBoxes = blocks.filter((b) => !PRE_PROCESS_MASK.includes(b.orderLabel ?? '')).map((b) => b.bbox);
  if (!allBoxes.length) return [];
  if (centred.length) {
    const projection = discontinuousProjection(allBoxes, cutDirection);
    discontinuous = projection.intervals;
    for (const idx of centred) {
      const block = region.blockMap.get(idx)!;
      if (PRE_PROCESS_MASK.includes(block.orderLabel ?? '') || block.secondaryDirection !== cutDirection) continue;
      const at = discontinuous.findIndex(
        ([s, e]) => s === block.secondaryDirectionStartCoordinate && e === block.secondaryDirectionEndCoordinate,
      );
      if (at >= 0 && projection.counts[at] === 1) cuts.push(block.secondaryDirectionStartCoordinate, block.secondaryDirectionEndCoordinate);
    }
  }
  const secondaryCheck = blocks.filter((b) => ![...PRE_PROCESS_MASK, 'vision'].includes(b.orderLabel ?? '')).map((b) => b.bbox);
  const isRegionPage = blocks[0]!.label === 'region';
  if (secondaryCheck.length > 0 || isRegionPage) {
    // numpy's projection of an empty array would fail in PaddleX; a page of regions always has boxes
    const secondary = secondaryCheck.length ? discontinuousProjection(secondaryCheck, region.direction).intervals : [];
    if (secondary.length === 1 || isRegionPage) {
      if (!discontinuous.length) discontinuous = discontinuousProjection(allBoxes, cutDirection).intervals;
      let current = discontinuous[0]!;
      const earlier = cuts.filter((c) => c < current[1]);
      let preCut = Math.max(current[0], earlier.length ? Math.max(...earlier) : 0);
      for (const interval of discontinuous.slice(1)) {
        const gap = interval[0] - current[1];
        if (gap >= region.textLineHeight * 3 || isRegionPage) {
          cuts.push(current[1]);
        } else if (gap > region.textLineHeight * 1.2) {
          const pre = blocksInInterval([...region.blockMap.values()], preCut, current[1], cutDirection);
          const post = blocksInInterval([...region.blockMap.values()], current[1], interval[1], cutDirection);
          const projectionIndex = cutDirection === 'horizontal' ? 1 : 0;
          const gapBoxes = (group: LayoutBlock[]) =>
            (
              localMinimaFlatRegions(
                projectionByBoxes(
                  group.map((b) => b.bbox),
                  projectionIndex as 0 | 1,
                ),
              ) ?? []
            ).map(([s, e]) => {
              const box = [0, 0, 0, 0];
              box[projectionIndex] = s;
              box[projectionIndex + 2] = e;
              return box;
            });
          const preGaps = pre.length ? gapBoxes(pre) : [];
          const postGaps = post.length ? gapBoxes(post) : [];
          const most = Math.max(preGaps.length, postGaps.length);
          if (most > 0 && discontinuousProjection([...preGaps, ...postGaps], region.direction).intervals.length !== most) {
            preCut = current[1];
            cuts.push(current[1]);
          }
        }
        current = interval;
      }
    }
  }
  const groups = cutBlocks(blocks, cutDirection, cuts, PRE_PROCESS_MASK);
  return region.direction === 'vertical' ? groups.reverse() : groups;
}

/** PaddleX's get_layout_structure: marks blocks that cross columns (`cross_layout`) so they are placed by distance, not by cuts. */
function markCrossLayout(blocks: LayoutBlock[], direction: Direction, secondary: Direction): void {
  sortByKey(blocks, (b) => [b.bbox[0]!, b.width]);
  const mask = ['doc_title', 'cross_layout', 'cross_reference'];
  const threshold = XYCUT_SETTINGS.crossLayoutRefTextBlockWordsNumThreshold;
  blocks.forEach((block, blockIdx) => {
    if (mask.includes(block.orderLabel ?? '')) return;
    for (const [refIdx, ref] of blocks.entries()) {
      if (blockIdx === refIdx || mask.includes(ref.orderLabel ?? '')) continue;
      const iou = overlapRatio(block.bbox, ref.bbox);
      if (iou) {
        if (ref.orderLabel === 'vision') {
          ref.orderLabel = 'cross_layout';
          break;
        }
        if (iou > 0.1 && block.area < ref.area) {
          block.orderLabel = 'cross_layout';
          break;
        }
      }
      if (projectionOverlapRatio(block.bbox, ref.bbox, direction) > 0) {
        for (const [secondIdx, second] of blocks.entries()) {
          if (secondIdx === blockIdx || secondIdx === refIdx || mask.includes(second.orderLabel ?? '')) continue;
          if (overlapRatio(block.bbox, second.bbox) > 0.1) {
            if (second.orderLabel === 'vision') {
              second.orderLabel = 'cross_layout';
              break;
            }
            if (block.orderLabel === 'vision' || block.area < second.area) {
              block.orderLabel = 'cross_layout';
              break;
            }
          }
          if (
            projectionOverlapRatio(block.bbox, second.bbox, direction) > 0 &&
            projectionOverlapRatio(ref.bbox, second.bbox, direction) === 0 &&
            projectionOverlapRatio(ref.bbox, second.bbox, secondary) > 0
          ) {
            if (
              block.orderLabel === 'vision' ||
              block.orderLabel === 'region' ||
              (ref.orderLabel === 'normal_text' &&
                second.orderLabel === 'normal_text' &&
                ref.longSideLength > ref.textLineHeight * threshold &&
                second.longSideLength > second.textLineHeight * threshold)
            ) {
              block.orderLabel = block.label === 'reference' ? 'cross_reference' : 'cross_layout';
            }
          }
        }
      }
    }
  });
}

/** PaddleX's shrink_overlapping_boxes: neighbours that touch or barely overlap are pulled 1 px apart at their middle. */
function shrinkOverlapping(items: Array<{ bbox: number[] }>, direction: Direction): void {
  let current = items[0]!;
  for (const item of items.slice(1)) {
    const [x1, y1, x2, y2] = current.bbox as [number, number, number, number];
    const [x1p, y1p, x2p, y2p] = item.bbox as [number, number, number, number];
    const cutIou = projectionOverlapRatio(current.bbox, item.bbox, direction);
    const matchIou = projectionOverlapRatio(current.bbox, item.bbox, direction === 'vertical' ? 'horizontal' : 'vertical');
    if (direction === 'vertical') {
      if ((matchIou > 0 && cutIou > 0 && cutIou < 0.1) || y2 === y1p || Math.abs(y2 - y1p) <= 3) {
        const split = Math.trunc((Math.max(y1, y1p) + Math.min(y2, y2p)) / 2);
        if (y1 < y1p) {
          current.bbox = [x1, y1, x2, split - 1];
          item.bbox = [x1p, split + 1, x2p, y2p];
        } else {
          current.bbox = [x1, split - 1, x2, y2];
          item.bbox = [x1p, y1p, x2p, split + 1];
        }
      }
    } else if ((matchIou > 0 && cutIou > 0 && cutIou < 0.1) || x2 === x1p || Math.abs(x2 - x1p) <= 3) {
      const split = Math.trunc((Math.max(x1, x1p) + Math.min(x2, x2p)) / 2);
      if (x1 < x1p) {
        current.bbox = [x1, y1, split - 1, y2];
        item.bbox = [split + 1, y1p, x2p, y2p];
      } else {
        current.bbox = [split - 1, y1, x2, y2];
        item.bbox = [x1p, y1p, split + 1, y2p];
      }
    }
    current = item;
  }
}

/** PaddleX's sort_normal_blocks. */
function sortNormalBlocks(blocks: LayoutBlock[], lineHeight: number, lineWidth: number, direction: Direction): LayoutBlock[] {
  if (direction === 'horizontal') {
    return sortByKey(blocks, (b) => {
      const [cx, cy] = b.centroid();
      return [floorDiv(b.bbox[1]!, lineHeight), floorDiv(b.bbox[0]!, lineWidth), cx ** 2 + cy ** 2];
    });
  }
  return sortByKey(blocks, (b) => {
    const [cx, cy] = b.centroid();
    return [floorDiv(-b.bbox[2]!, lineWidth), floorDiv(b.bbox[1]!, lineHeight), -(cx ** 2) + cy ** 2];
  });
}

/** PaddleX's _get_weights: [left, right, up, down] edge weights by what is being inserted. */
function insertWeights(orderLabel: string | null, direction: Direction): number[] {
  if (orderLabel === 'doc_title') return direction === 'horizontal' ? [1, 0.1, 0.1, 1] : [0.2, 0.1, 1, 1];
  if (['paragraph_title', 'table_title', 'abstract', 'image', 'seal', 'chart', 'figure'].includes(orderLabel ?? '')) return [1, 1, 0.1, 1];
  return [1, 1, 1, 0.1];
}

/** PaddleX's weighted_distance_insert. */
function weightedDistanceInsert(block: LayoutBlock, sorted: LayoutBlock[], region: LayoutRegion): LayoutBlock[] {
  let tolerance: number = XYCUT_SETTINGS.edgeDistanceCompareToleranceLen;
  const [x1, y1, x2] = block.bbox as [number, number, number, number];
  let minWeighted = Number.POSITIVE_INFINITY;
  let minUp = Number.POSITIVE_INFINITY;
  let nearest = 0;
  const horizontal = region.direction === 'horizontal';
  const visionLike = inLabels(block.label, 'vision_labels') || inLabels(block.label, 'vision_title_labels');
  sorted.forEach((other, idx) => {
    const [x1p, y1p, x2p, y2p] = other.bbox as [number, number, number, number];
    let edge = nearestEdgeDistance(block.bbox, other.bbox, insertWeights(block.orderLabel, block.direction));
    if (inLabels(block.label, 'doc_title_labels')) tolerance = Math.max(tolerance, Math.max(1, region.textLineWidth));
    if (block.label === 'abstract') {
      tolerance *= 2;
      edge = Math.max(0.1, edge) * 10;
    }
    let up = horizontal ? y1p : -x2p;
    let left = horizontal ? x1p : y1p;
    const below = horizontal ? y2p < y1 : x1p > x2;
    if (
      (!inLabels(block.label, 'unordered_labels') ||
        inLabels(block.label, 'doc_title_labels') ||
        inLabels(block.label, 'paragraph_title_labels') ||
        inLabels(block.label, 'vision_labels')) &&
      below
    ) {
      up = -up;
      left = -left;
    }
    if (Math.abs(minUp - up) <= tolerance) up = minUp;
    const weighted = edge * XYCUT_SETTINGS.edgeWeight + up * XYCUT_SETTINGS.upEdgeWeight + left * XYCUT_SETTINGS.leftEdgeWeight;
    minUp = Math.min(up, minUp);
    if (weighted < minWeighted) {
      nearest = idx;
      minWeighted = weighted;
      let sortedDistance: number;
      let blockDistance: number;
      if (Math.abs(floorDiv(y1, 2) - floorDiv(y1p, 2)) > 0) {
        sortedDistance = y1p;
        blockDistance = y1;
      } else if (horizontal && Math.abs(floorDiv(x1, 2) - floorDiv(x2, 2)) > 0) {
        sortedDistance = x1p;
        blockDistance = x1;
      } else if (!horizontal && Math.abs(x1 - x2) > 0) {
        sortedDistance = -x2p;
        blockDistance = -x2;
      } else {
        const [ocx, ocy] = other.centroid();
        const [bcx, bcy] = block.centroid();
        sortedDistance = ocx ** 2 + ocy ** 2;
        blockDistance = bcx ** 2 + bcy ** 2;
      }
      if (blockDistance > sortedDistance) {
        nearest = idx + 1;
        if (idx < sorted.length - 1 && visionLike && !segFlags(sorted[idx + 1]!, sorted[idx]!)[0]) nearest++;
      } else if (idx > 0 && visionLike && !segFlags(sorted[idx]!, sorted[idx - 1]!)[0]) {
        nearest = idx - 1;
      }
    }
  });
  sorted.splice(nearest, 0, block);
  return sorted;
}

/** PaddleX's reference_insert (its `distance` carries over from the previous block when the test fails, as in PaddleX). */
function referenceInsert(block: LayoutBlock, sorted: LayoutBlock[]): LayoutBlock[] {
  let minDistance = Number.POSITIVE_INFINITY;
  let nearest = 0;
  let distance = Number.POSITIVE_INFINITY;
  sorted.forEach((other, idx) => {
    if (other.bbox[3]! <= block.bbox[1]!) distance = -(other.bbox[2]! * 10 + other.bbox[3]!);
    if (distance < minDistance) {
      minDistance = distance;
      nearest = idx;
    }
  });
  sorted.splice(nearest + 1, 0, block);
  return sorted;
}

/** PaddleX's manhattan_insert (on the boxes' first two coordinates, as PaddleX passes the boxes). */
function manhattanInsert(block: LayoutBlock, sorted: LayoutBlock[]): LayoutBlock[] {
  let minDistance = Number.POSITIVE_INFINITY;
  let nearest = 0;
  sorted.forEach((other, idx) => {
    const distance = Math.abs(block.bbox[0]! - other.bbox[0]!) + Math.abs(block.bbox[1]! - other.bbox[1]!);
    if (distance < minDistance) {
      minDistance = distance;
      nearest = idx;
    }
  });
  sorted.splice(nearest + 1, 0, block);
  return sorted;
}

/** PaddleX's euclidean_insert (regions, by their distance to the page's origin). */
function euclideanInsert(block: LayoutRegion, sorted: LayoutBlock[]): LayoutBlock[] {
  let nearest = sorted.length;
  const at = sorted.findIndex((other) => (other as LayoutRegion).euclideanDistance > block.euclideanDistance);
  if (at >= 0) nearest = at;
  sorted.splice(nearest, 0, block);
  return sorted;
}

/** PaddleX's match_unsorted_blocks. */
function matchUnsortedBlocks(sorted: LayoutBlock[], unsorted: LayoutBlock[], region: LayoutRegion): LayoutBlock[] {
  let out = sorted;
  sortNormalBlocks(unsorted, region.textLineHeight, region.textLineWidth, region.direction);
  unsorted.forEach((block, idx) => {
    const orderLabel = block.label === 'region' ? 'region' : block.orderLabel;
    if (idx === 0 && orderLabel === 'doc_title') {
      out.unshift(block);
      return;
    }
    switch (orderLabel) {
      case 'cross_reference':
        out = referenceInsert(block, out);
        break;
      case 'unordered':
      case 'other':
        out = manhattanInsert(block, out);
        break;
      case 'region':
        out = euclideanInsert(block as LayoutRegion, out);
        break;
      case 'cross_layout':
      case 'paragraph_title':
      case 'doc_title':
      case 'vision_title':
      case 'vision':
        out = weightedDistanceInsert(block, out, region);
        break;
      default:
        // PaddleX looks the label up in a dict and would raise a KeyError
        throw new Error(`reading order: no insertion rule for a block ordered as ${orderLabel}`);
    }
  });
  return out;
}

/** PaddleX's sort_child_blocks. */
function sortChildBlocks(blocks: LayoutBlock[], direction: Direction): LayoutBlock[] {
  if (blocks[0]!.label === 'region') return sortByKey(blocks, (b) => [(b as LayoutRegion).euclideanDistance]);
  if (direction === 'horizontal') {
    return sortByKey(blocks, (b) => {
      const [cx, cy] = b.centroid();
      return [b.bbox[1]!, b.bbox[0]!, cx ** 2 + cy ** 2];
    });
  }
  return sortByKey(blocks, (b) => {
    const [cx, cy] = b.centroid();
    return [-b.bbox[2]!, b.bbox[1]!, -(cx ** 2) + cy ** 2];
  });
}

/** PaddleX's insert_child_blocks: a parent's children go next to it, ordered by position. */
function insertChildBlocks(block: LayoutBlock, blockIdx: number, sorted: LayoutBlock[]): void {
  if (!block.childBlocks.length) return;
  const group = block.takeChildBlocks();
  group.push(block);
  sortChildBlocks(group, group[0]!.direction);
  sorted[blockIdx] = group[0]!;
  let at = blockIdx;
  for (const child of group.slice(1)) sorted.splice(++at, 0, child);
}

/** PaddleX's xycut_enhanced: the region's blocks in reading order. */
export function xycutEnhanced(region: LayoutRegion): LayoutBlock[] {
  if (region.blockMap.size === 0) return [];
  const preCuts = preProcess(region);
  const { textLineHeight: lh, textLineWidth: lw, direction } = region;
  const header = sortNormalBlocks(blocksOf(region, region.headerBlockIdxes), lh, lw, direction);
  const footer = sortNormalBlocks(blocksOf(region, region.footerBlockIdxes), lh, lw, direction);
  const unordered = sortNormalBlocks(blocksOf(region, region.unorderedBlockIdxes), lh, lw, direction);
  const result: LayoutBlock[] = [...header];
  let unsorted: LayoutBlock[] = [];
  const sortedByCuts: LayoutBlock[] = [];
  for (const group of preCuts) {
    let sorted: LayoutBlock[] = [];
    const docTitles: LayoutBlock[] = [];
    const xyCut: LayoutBlock[] = [];
    if (group.length && group[0]!.label === 'region') {
      const { intervals } = discontinuousProjection(
        group.map((b) => b.bbox),
        direction,
      );
      if (intervals.length === 1) markCrossLayout(group, direction, region.secondaryDirection);
    } else {
      markCrossLayout(group, direction, region.secondaryDirection);
    }
    for (const block of group) {
      if (!['cross_layout', 'cross_reference', 'doc_title', 'unordered'].includes(block.orderLabel ?? '')) xyCut.push(block);
      else if (block.label === 'doc_title') docTitles.push(block);
      else unsorted.push(block);
    }
    if (xyCut.length) {
      const { intervals } = discontinuousProjection(
        xyCut.map((b) => b.bbox),
        direction,
      );
      // copies: the cut moves their boxes, the blocks keep theirs
      const toSort = xyCut.map((b) => ({
        index: b.index,
        numOfLines: b.numOfLines,
        bbox: direction === 'vertical' ? [-b.bbox[0]!, b.bbox[1]!, -b.bbox[2]!, b.bbox[3]!] : [...b.bbox],
      }));
      let order: number[];
      if (intervals.length === 1 || Math.max(...toSort.map((b) => b.numOfLines)) === 1) {
        sortByKey(toSort, (b) => [
          floorDiv(b.bbox[region.secondaryDirectionStartIndex]!, floorDiv(lh, 2)),
          b.bbox[region.directionStartIndex]!,
        ]);
        shrinkOverlapping(toSort, region.secondaryDirection);
        order = sortByXycut(
          toSort.map((b) => b.bbox),
          region.secondaryDirection,
        );
      } else {
        sortByKey(toSort, (b) => [
          floorDiv(b.bbox[region.directionStartIndex]!, floorDiv(lw, 2)),
          b.bbox[region.secondaryDirectionStartIndex]!,
        ]);
        shrinkOverlapping(toSort, region.secondaryDirection);
        order = sortByXycut(
          toSort.map((b) => b.bbox),
          direction,
        );
      }
      sorted = order.map((i) => region.blockMap.get(toSort[i]!.index)!);
    }
    sorted = matchUnsortedBlocks(sorted, docTitles, region);
    if (unsorted.length && unsorted[0]!.label === 'region') {
      sorted = matchUnsortedBlocks(sorted, unsorted, region);
      unsorted = [];
    }
    sortedByCuts.push(...sorted);
  }
  result.push(...matchUnsortedBlocks(sortedByCuts, unsorted, region), ...footer, ...unordered);
  for (let i = 0; i < result.length; i++) insertChildBlocks(result[i]!, i, result);
  return result;
}

/** Something with a `block_bbox`, as PaddleX's v1 result entries. */
interface BoxedEntry {
  block_bbox: readonly number[];
}

/**
 * PaddleX's sorted_layout_boxes (layout_parsing v1): top to bottom; blocks in the left or right
 * column gather until a full-width block, which flushes the left column, then the right, then itself.
 */
export function sortedLayoutBoxes<T extends BoxedEntry>(entries: T[], width: number): T[] {
  if (entries.length === 1) return entries;
  const boxes = sortByKey([...entries], (e) => [e.block_bbox[1]!, e.block_bbox[0]!]);
  const out: T[] = [];
  let left: T[] = [];
  let right: T[] = [];
  for (const entry of boxes) {
    const [x1, , x2] = entry.block_bbox as [number, number, number];
    if (x1 < width / 4 && x2 < (3 * width) / 5) left.push(entry);
    else if (x1 > (2 * width) / 5) right.push(entry);
    else {
      out.push(...left, ...right, entry);
      left = [];
      right = [];
    }
  }
  out.push(...sortByKey(left, (e) => [e.block_bbox[1]!]), ...sortByKey(right, (e) => [e.block_bbox[1]!]));
  return out;
}
