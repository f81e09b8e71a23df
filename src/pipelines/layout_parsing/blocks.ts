/**
 * PaddleX's layout-parsing objects (paddlex/inference/pipelines/layout_parsing/layout_objects.py,
 * setting.py and the geometry helpers of utils.py): a page's layout blocks, the OCR spans grouped
 * into text lines, a block's text assembled from its lines, and the regions the reading order sorts.
 * Numbers follow Python: `int()` truncates, `//` floors, and sorts are stable as Python's are.
 */

export type Box = [number, number, number, number];
export type Direction = 'horizontal' | 'vertical';

export const XYCUT_SETTINGS = {
  childBlockOverlapRatioThreshold: 0.1,
  edgeDistanceCompareToleranceLen: 2,
  edgeWeight: 10 ** 4,
  upEdgeWeight: 1,
  // PaddleX reads `left_edge_weight`, absent from its settings, so its `.get` default applies
  leftEdgeWeight: 0.0001,
  crossLayoutRefTextBlockWordsNumThreshold: 8,
} as const;

export const REGION_SETTINGS = { matchBlockOverlapRatioThreshold: 0.6, splitBlockOverlapRatioThreshold: 0.4 } as const;
export const TITLE_CONVERSION_AREA_RATIO_THRESHOLD = 0.3;
const LINE_HEIGHT_IOU_THRESHOLD = 0.6;
const LINE_DELIMITERS: Record<string, string> = { doc_title: ' ', content: '\n' };

export const BLOCK_LABEL_MAP = {
  doc_title_labels: ['doc_title'],
  paragraph_title_labels: ['paragraph_title', 'abstract_title', 'reference_title', 'content_title'],
  vision_labels: ['image', 'table', 'chart', 'flowchart', 'figure'],
  vision_title_labels: ['table_title', 'chart_title', 'figure_title', 'figure_table_chart_title'],
  unordered_labels: ['aside_text', 'seal', 'number', 'formula_number'],
  text_labels: ['text'],
  header_labels: ['header', 'header_image'],
  footer_labels: ['footer', 'footer_image', 'footnote'],
  visualize_index_labels: [
    'text',
    'formula',
    'algorithm',
    'reference',
    'content',
    'abstract',
    'paragraph_title',
    'doc_title',
    'abstract_title',
    'refer_title',
    'content_title',
  ],
  image_labels: ['image', 'figure'],
} as const satisfies Record<string, readonly string[]>;

export function inLabels(label: string, group: keyof typeof BLOCK_LABEL_MAP): boolean {
  return (BLOCK_LABEL_MAP[group] as readonly string[]).includes(label);
}

/** Python's `a // b` for numbers. */
export function floorDiv(a: number, b: number): number {
  return Math.floor(a / b);
}

/** Lexicographic comparison of sort-key tuples, as Python compares tuples. */
export function compareKeys(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i]! !== b[i]!) return a[i]! < b[i]! ? -1 : 1;
  }
  return a.length - b.length;
}

/** A stable sort by a tuple key (Python's `list.sort(key=...)`), in place. */
export function sortByKey<T>(items: T[], key: (item: T) => readonly number[]): T[] {
  const keys = new Map(items.map((item) => [item, key(item)]));
  return items.sort((a, b) => compareKeys(keys.get(a)!, keys.get(b)!));
}

export function bboxArea(bbox: readonly number[]): number {
  return Math.abs((bbox[2]! - bbox[0]!) * (bbox[3]! - bbox[1]!));
}

/** PaddleX's calculate_projection_overlap_ratio: overlap of two boxes' extents along one axis. */
export function projectionOverlapRatio(
  a: readonly number[],
  b: readonly number[],
  direction: Direction = 'horizontal',
  mode: 'union' | 'small' | 'large' = 'union',
): number {
  const [s, e] = direction === 'horizontal' ? [0, 2] : [1, 3];
  const overlap = Math.min(a[e]!, b[e]!) - Math.max(a[s]!, b[s]!);
  if (overlap <= 0) return 0;
  const ref =
    mode === 'union'
      ? Math.max(a[e]!, b[e]!) - Math.min(a[s]!, b[s]!)
      : mode === 'small'
        ? Math.min(a[e]! - a[s]!, b[e]! - b[s]!)
        : Math.max(a[e]! - a[s]!, b[e]! - b[s]!);
  return ref > 0 ? overlap / ref : 0;
}

/** PaddleX's calculate_overlap_ratio: intersection area over the union, the smaller or the larger area. */
export function overlapRatio(a: readonly number[], b: readonly number[], mode: 'union' | 'small' | 'large' = 'union'): number {
  const iw = Math.max(0, Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!));
  const ih = Math.max(0, Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!));
  const inter = iw * ih;
  const areaA = bboxArea(a);
  const areaB = bboxArea(b);
  const ref = mode === 'union' ? areaA + areaB - inter : mode === 'small' ? Math.min(areaA, areaB) : Math.max(areaA, areaB);
  return ref === 0 ? 0 : inter / ref;
}

export function enclosingBox(boxes: ReadonlyArray<readonly number[]>): Box {
  return [
    Math.min(...boxes.map((b) => b[0]!)),
    Math.min(...boxes.map((b) => b[1]!)),
    Math.max(...boxes.map((b) => b[2]!)),
    Math.max(...boxes.map((b) => b[3]!)),
  ];
}

/** PaddleX's update_region_box: grow `region` to hold `bbox`, in integers. */
export function growRegion(bbox: readonly number[], region: readonly number[]): Box {
  return [
    Math.trunc(Math.min(bbox[0]!, region[0]!)),
    Math.trunc(Math.min(bbox[1]!, region[1]!)),
    Math.trunc(Math.max(bbox[2]!, region[2]!)),
    Math.trunc(Math.max(bbox[3]!, region[3]!)),
  ];
}

export const isEnglishLetter = (char: string): boolean => /^[A-Za-z]$/.test(char);
export const isNumeric = (char: string): boolean => /^\d+$/.test(char);
const NON_BREAKING_PUNCTUATION = new Set([',', '，', '、', ';', '；', ':', '：', '-', "'", '"', '“']);
export const isNonBreakingPunctuation = (char: string): boolean => NON_BREAKING_PUNCTUATION.has(char);

/** One recognised OCR box inside a block: `label` is `text`, or `formula` for a recognised formula. */
export interface TextSpan {
  box: number[];
  text: string;
  label: string;
}

/** Recognises one crop of the page (PaddleX runs its text recognition model on `image[y1:y2, x1:x2]`). */
export type CropRecognizer = (box: Box) => Promise<{ text: string; score: number }>;

function lastOf(text: string): string {
  return text.slice(-1);
}

/** PaddleX's TextLine: spans on one line of a block. */
export class TextLine {
  regionBox: number[];
  needNewLine = false;

  constructor(
    public spans: TextSpan[],
    readonly direction: Direction,
  ) {
    this.regionBox = this.computeRegionBox();
  }

  private computeRegionBox(): number[] {
    return enclosingBox(this.spans.map((s) => s.box));
  }

  get height(): number {
    const [s, e] = this.direction === 'horizontal' ? [1, 3] : [0, 2];
    return Math.abs(this.regionBox[e]! - this.regionBox[s]!);
  }

  get width(): number {
    const [s, e] = this.direction === 'horizontal' ? [0, 2] : [1, 3];
    return Math.abs(this.regionBox[e]! - this.regionBox[s]!);
  }

  addSpan(span: TextSpan): void {
    this.spans.push(span);
    this.regionBox = this.computeRegionBox();
  }

  /**
   * PaddleX's get_texts: spans in reading order; in a line holding a formula, text spans whose
   * extent holds another span are cut around it, and then (when anything was cut) every text span is
   * read again from its crop, those under `reread.scoreThresh` dropped; then format_line.
   */
  async texts(
    blockLabel: string,
    blockTextWidth: number,
    blockStart: number,
    blockStop: number,
    reread: { recognize: CropRecognizer; scoreThresh: number },
  ): Promise<string> {
    if (this.direction === 'horizontal') sortByKey(this.spans, (s) => [floorDiv(s.box[0]!, 2), s.box[1]!]);
    else sortByKey(this.spans, (s) => [floorDiv(s.box[1]!, 2), -s.box[3]!]);
    if (this.spans.some((s) => s.label === 'formula')) {
      const split = this.splitByProjection();
      if (split.length !== this.spans.length) {
        const sortIndex = this.direction === 'horizontal' ? 0 : 1;
        sortByKey(split, (s) => [s.box[sortIndex]!]);
        const kept: TextSpan[] = [];
        for (const span of split) {
          if (span.label === 'text') {
            const { text, score } = await reread.recognize(span.box as Box);
            span.text = text;
            if (score < reread.scoreThresh) continue;
          }
          kept.push(span);
        }
        this.spans = kept;
      }
    }
    return this.formatLine(blockTextWidth, blockStart, blockStop, this.height * 1.5, blockLabel);
  }

  /**
   * PaddleX's split_boxes_by_projection: a span whose extent along the line holds a later span's is
   * cut into the part before it (kept when wider than 1 px) and the part after it. As in PaddleX, the
   * first cut moves the start of the span's own box, which is the OCR result's box.
   */
  private splitByProjection(offset = 1e-5): TextSpan[] {
    const [start, end] = this.direction === 'horizontal' ? [0, 2] : [1, 3];
    const out: TextSpan[] = [];
    this.spans.forEach((original, i) => {
      let span = original;
      let split = false;
      for (let j = i; j < this.spans.length; j++) {
        const inner = this.spans[j]!.box;
        const outer = span.box;
        if (outer[start]! <= inner[start]! && outer[end]! >= inner[end]!) {
          split = true;
          if (outer[start]! < inner[start]! && inner[start]! - offset - outer[start]! > 1) {
            const before = [...outer];
            before[end] = inner[start]! - offset;
            out.push({ box: before, text: span.text, label: span.label });
          }
          if (outer[end]! > inner[end]! && outer[end]! - inner[end]! + offset > 1) {
            outer[start] = inner[end]! + offset;
            span = { box: [...outer], text: span.text, label: span.label };
          }
        }
        if (j === this.spans.length - 1 && split) out.push(span);
      }
      if (!split) out.push(span);
    });
    return out;
  }

  /** PaddleX's format_line. */
  private formatLine(blockTextWidth: number, blockStart: number, blockStop: number, lineGapLimit: number, blockLabel: string): string {
    const firstSpanBox = this.spans[0]!.box;
    const lastSpanBox = this.spans.at(-1)!.box;
    let lineText = '';
    for (const span of this.spans) {
      if (span.label === 'formula' && blockLabel !== 'formula') {
        if (!span.text.startsWith('$') && !span.text.endsWith('$')) {
          span.text = this.spans.length > 1 ? `$${span.text}$` : `\n$${span.text}$`;
        }
      }
      lineText += span.text;
      if ((span.text.length > 0 && isEnglishLetter(lastOf(lineText))) || span.label === 'formula') lineText += ' ';
    }
    const stopIndex = this.direction === 'horizontal' ? 2 : 3;
    if (lineText.endsWith(' ')) lineText = lineText.slice(0, -1);
    if (lineText.length === 0) return '';
    const lastChar = lastOf(lineText);
    const gapAfter = blockStop - lastSpanBox[stopIndex]!;
    if ((!isEnglishLetter(lastChar) && !isNonBreakingPunctuation(lastChar) && !isNumeric(lastChar)) || gapAfter > blockTextWidth * 0.3) {
      if (
        (this.direction === 'horizontal' && gapAfter > lineGapLimit) ||
        (this.direction === 'vertical' && (gapAfter > lineGapLimit || firstSpanBox[1]! - blockStart > lineGapLimit))
      ) {
        this.needNewLine = true;
      }
    }
    if (lineText.endsWith('-')) return lineText.slice(0, -1);
    if (isEnglishLetter(lastChar) || lineText.endsWith('$')) lineText += ' ';
    if ((!isEnglishLetter(lastChar) && !isNumeric(lastChar)) || this.direction === 'vertical') {
      if (gapAfter > blockTextWidth * 0.3 && !isNonBreakingPunctuation(lastChar)) {
        lineText += '\n';
        this.needNewLine = true;
      }
    } else if (gapAfter > (blockStop - blockStart) * 0.5) {
      lineText += '\n';
      this.needNewLine = true;
    }
    return lineText;
  }
}

/** PaddleX's LayoutBlock. */
export class LayoutBlock {
  orderLabel: string | null = null;
  bbox: number[];
  oriBbox: number[] | null = null;
  segStartCoordinate = Number.POSITIVE_INFINITY;
  segEndCoordinate = Number.NEGATIVE_INFINITY;
  readonly width: number;
  readonly height: number;
  readonly area: number;
  numOfLines = 1;
  image: { path: string; box: Box } | null = null;
  index = -1;
  orderIndex: number | null = null;
  /** a paragraph title's level when titles are relevelled (titleLevel.ts) */
  titleLevel?: number;
  textLineWidth = 1;
  textLineHeight = 1;
  childBlocks: LayoutBlock[] = [];
  direction: Direction = 'horizontal';
  secondaryDirection: Direction = 'vertical';
  shortSideLength = 0;
  longSideLength = 0;
  startCoordinate = 0;
  endCoordinate = 0;
  secondaryDirectionStartCoordinate = 0;
  secondaryDirectionEndCoordinate = 0;

  constructor(
    public label: string,
    bbox: readonly number[],
    public content = '',
  ) {
    this.bbox = bbox.map((v) => Math.trunc(v));
    this.width = bbox[2]! - bbox[0]!;
    this.height = bbox[3]! - bbox[1]!;
    this.area = this.width * this.height;
    this.updateDirection();
  }

  updateDirection(direction?: Direction): void {
    this.direction = direction ?? (this.width >= this.height ? 'horizontal' : 'vertical');
    this.updateDirectionInfo();
  }

  updateDirectionInfo(): void {
    const horizontal = this.direction === 'horizontal';
    this.secondaryDirection = horizontal ? 'vertical' : 'horizontal';
    this.shortSideLength = horizontal ? this.height : this.width;
    this.longSideLength = horizontal ? this.width : this.height;
    this.startCoordinate = this.bbox[horizontal ? 0 : 1]!;
    this.endCoordinate = this.bbox[horizontal ? 2 : 3]!;
    this.secondaryDirectionStartCoordinate = this.bbox[horizontal ? 1 : 0]!;
    this.secondaryDirectionEndCoordinate = this.bbox[horizontal ? 3 : 2]!;
  }

  appendChildBlock(child: LayoutBlock): void {
    if (!this.childBlocks.length) this.oriBbox = [...this.bbox];
    this.bbox = [
      Math.min(this.bbox[0]!, child.bbox[0]!),
      Math.min(this.bbox[1]!, child.bbox[1]!),
      Math.max(this.bbox[2]!, child.bbox[2]!),
      Math.max(this.bbox[3]!, child.bbox[3]!),
    ];
    this.updateDirectionInfo();
    const children = [child];
    if (child.childBlocks.length) children.push(...child.takeChildBlocks());
    this.childBlocks.push(...children);
  }

  /** PaddleX's get_child_blocks: hands the children over and restores the own box (not its direction info). */
  takeChildBlocks(): LayoutBlock[] {
    this.bbox = this.oriBbox!;
    const children = this.childBlocks;
    this.childBlocks = [];
    return children;
  }

  centroid(): [number, number] {
    const [x1, y1, x2, y2] = this.bbox as Box;
    return [(x1 + x2) / 2, (y1 + y2) / 2];
  }

  /** PaddleX's group_boxes_into_lines. */
  private groupIntoLines(spans: TextSpan[]): TextLine[] {
    const textBoxes = spans.filter((s) => s.label === 'text').map((s) => s.box);
    const horizontalCount = textBoxes.filter((b) => (b[2]! - b[0]!) * 1.5 >= b[3]! - b[1]!).length;
    this.updateDirection(horizontalCount >= textBoxes.length * 0.5 ? 'horizontal' : 'vertical');
    const sorted = [...spans];
    let matchDirection: Direction;
    if (this.direction === 'vertical') {
      sortByKey(sorted, (s) => [-s.box[0]!]);
      matchDirection = 'horizontal';
    } else {
      sortByKey(sorted, (s) => [s.box[1]!]);
      matchDirection = 'vertical';
    }
    let lines: TextLine[] = [];
    let current = new TextLine([sorted[0]!], this.direction);
    for (const span of sorted.slice(1)) {
      if (projectionOverlapRatio(current.regionBox, span.box, matchDirection, 'small') >= LINE_HEIGHT_IOU_THRESHOLD) {
        current.addSpan(span);
      } else {
        lines.push(current);
        current = new TextLine([span], this.direction);
      }
    }
    lines.push(current);
    if (this.direction === 'vertical') {
      const heights = lines.map((l) => l.height);
      const minHeight = Math.min(...heights);
      if (Math.max(...heights) > minHeight * 2) {
        const normal = minHeight * 1.1;
        if (heights.filter((h) => h < normal).length < lines.length * 0.4) lines = lines.filter((_, i) => heights[i]! <= normal);
      }
    }
    if (lines.length) {
      this.textLineHeight = mean(lines.map((l) => l.height));
      this.textLineWidth = mean(lines.map((l) => l.width));
    } else {
      this.textLineHeight = 0;
      this.textLineWidth = 0;
    }
    return lines;
  }

  /**
   * PaddleX's update_text_content: the block's text from its OCR spans, line by line (`reread`: how
   * lines split by a formula read their text spans again).
   */
  async updateTextContent(spans: TextSpan[], reread: { recognize: CropRecognizer; scoreThresh: number }): Promise<void> {
    if (!spans.length) {
      this.content = '';
      return;
    }
    const lines = this.groupIntoLines(spans);
    const startIdx = this.direction === 'horizontal' ? 0 : 1;
    const endIdx = startIdx + 2;
    const [blockStart, blockStop] =
      this.label === 'reference'
        ? [Math.min(...spans.map((s) => s.box[startIdx]!)), Math.max(...spans.map((s) => s.box[endIdx]!))]
        : [this.bbox[startIdx]!, this.bbox[endIdx]!];
    const textLines: string[] = [];
    const widths: number[] = [];
    let needNewLineNum = 0;
    for (const [lineIdx, line] of lines.entries()) {
      widths.push(line.width);
      const lineText = await line.texts(this.label, Math.max(...widths), blockStart, blockStop, reread);
      if (line.needNewLine) needNewLineNum++;
      if (lineIdx === 0) this.segStartCoordinate = line.spans[0]!.box[0]!;
      else if (lineIdx === lines.length - 1) this.segEndCoordinate = line.spans.at(-1)!.box[2]!;
      textLines.push(lineText);
    }
    const delim = LINE_DELIMITERS[this.label] ?? '';
    if (delim !== '') {
      this.content = textLines.join(delim);
    } else {
      let content = '';
      let preLineEnd = false;
      let lastChar = '';
      textLines.forEach((text, idx) => {
        let lineText = text;
        if (lineText.length === 0) return;
        const line = lines[idx]!;
        if (preLineEnd) {
          const startGap = line.regionBox[startIdx]! - blockStart;
          if (
            ((startGap > line.height * 1.5 && !isEnglishLetter(lastChar) && !isNumeric(lastChar)) ||
              startGap > (blockStop - blockStart) * 0.4) &&
            !content.endsWith('\n')
          ) {
            lineText = `\n${lineText}`;
          }
        }
        content += lineText;
        lastChar = lineText.length > 2 && lineText.endsWith(' ') ? lineText.at(-2)! : lineText.at(-1)!;
        if (
          (!lineText.endsWith('\n') &&
            !isEnglishLetter(lastChar) &&
            !isNonBreakingPunctuation(lastChar) &&
            !isNumeric(lastChar) &&
            needNewLineNum > textLines.length * 0.5) ||
          needNewLineNum > textLines.length * 0.6
        ) {
          content += '\n';
        }
        if (blockStop - line.regionBox[endIdx]! > (blockStop - blockStart) * 0.3) preLineEnd = true;
      });
      this.content = content;
    }
    this.numOfLines = textLines.length;
  }
}

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** PaddleX's LayoutRegion: blocks (or, for the page, regions) with the direction and line size of their text. */
export class LayoutRegion extends LayoutBlock {
  blockMap = new Map<number, LayoutBlock>();
  docTitleBlockIdxes: number[] = [];
  paragraphTitleBlockIdxes: number[] = [];
  visionBlockIdxes: number[] = [];
  unorderedBlockIdxes: number[] = [];
  visionTitleBlockIdxes: number[] = [];
  normalTextBlockIdxes: number[] = [];
  headerBlockIdxes: number[] = [];
  footerBlockIdxes: number[] = [];
  euclideanDistance = Number.POSITIVE_INFINITY;
  directionStartIndex = 0;
  directionEndIndex = 2;
  secondaryDirectionStartIndex = 1;
  secondaryDirectionEndIndex = 3;
  directionCenterCoordinate = 0;
  secondaryDirectionCenterCoordinate = 0;

  constructor(bbox: readonly number[], blocks: LayoutBlock[]) {
    super('region', bbox);
    this.textLineWidth = 20;
    this.textLineHeight = 10;
    this.numOfLines = 10;
    this.initFromBlocks(blocks);
    this.updateEuclideanDistance();
  }

  private initFromBlocks(blocks: LayoutBlock[]): void {
    let horizontalNormal = 0;
    const heights: number[] = [];
    const widths: number[] = [];
    blocks.forEach((block, idx) => {
      this.blockMap.set(idx, block);
      block.index = idx;
      const l = block.label;
      if (inLabels(l, 'header_labels')) this.headerBlockIdxes.push(idx);
      else if (inLabels(l, 'doc_title_labels')) this.docTitleBlockIdxes.push(idx);
      else if (inLabels(l, 'paragraph_title_labels')) this.paragraphTitleBlockIdxes.push(idx);
      else if (inLabels(l, 'vision_labels')) this.visionBlockIdxes.push(idx);
      else if (inLabels(l, 'vision_title_labels')) this.visionTitleBlockIdxes.push(idx);
      else if (inLabels(l, 'footer_labels')) this.footerBlockIdxes.push(idx);
      else if (inLabels(l, 'unordered_labels')) this.unorderedBlockIdxes.push(idx);
      else {
        this.normalTextBlockIdxes.push(idx);
        heights.push(block.textLineHeight);
        widths.push(block.textLineWidth);
        if (block.direction === 'horizontal') horizontalNormal++;
      }
    });
    this.updateDirection(horizontalNormal >= this.normalTextBlockIdxes.length * 0.5 ? 'horizontal' : 'vertical');
    this.textLineWidth = widths.length ? mean(widths) : 20;
    this.textLineHeight = heights.length ? mean(heights) : 10;
  }

  private updateEuclideanDistance(): void {
    const blocks = [...this.blockMap.values()];
    const distances =
      this.direction === 'horizontal'
        ? blocks.map((b) => Math.hypot(b.bbox[0]!, b.bbox[1]!))
        : blocks.map((b) => Math.hypot(b.bbox[2]! - this.bbox[2]!, b.bbox[1]!));
    this.euclideanDistance = distances.length ? Math.min(...distances) : 0;
  }

  override updateDirection(direction?: Direction): void {
    super.updateDirection(direction);
    // the base constructor calls this before the region's own fields exist; they are set again below
    const horizontal = this.direction === 'horizontal';
    this.directionStartIndex = horizontal ? 0 : 1;
    this.directionEndIndex = horizontal ? 2 : 3;
    this.secondaryDirectionStartIndex = horizontal ? 1 : 0;
    this.secondaryDirectionEndIndex = horizontal ? 3 : 2;
    this.directionCenterCoordinate = (this.bbox[this.directionStartIndex]! + this.bbox[this.directionEndIndex]!) / 2;
    this.secondaryDirectionCenterCoordinate =
      (this.bbox[this.secondaryDirectionStartIndex]! + this.bbox[this.secondaryDirectionEndIndex]!) / 2;
  }
}

/**
 * PaddleX's get_seg_flag: whether `block` starts a new paragraph (false: it continues `prev`'s)
 * and whether it ends one (false: its last line runs to the right edge).
 */
export function segFlags(block: LayoutBlock, prev: LayoutBlock | null): [boolean, boolean] {
  let segStart = true;
  let segEnd = true;
  let left = block.startCoordinate;
  let right = block.endCoordinate;
  if (prev) {
    let prevEndSpaceSmall = Math.abs(prev.endCoordinate - prev.segEndCoordinate) < 10;
    const prevLinesMoreThanOne = prev.numOfLines > 1;
    const overlap = left < prev.endCoordinate && right > prev.startCoordinate;
    let edgeDistance: number;
    if (overlap) {
      left = Math.min(prev.startCoordinate, left);
      right = Math.max(prev.endCoordinate, right);
      prevEndSpaceSmall = Math.abs(right - prev.segEndCoordinate) < 10;
      edgeDistance = 0;
    } else {
      edgeDistance = Math.abs(block.startCoordinate - prev.endCoordinate);
    }
    const currentStartSpaceSmall = block.segStartCoordinate - left < 10;
    if (prevEndSpaceSmall && currentStartSpaceSmall && prevLinesMoreThanOne && edgeDistance < Math.max(prev.width, block.width)) {
      segStart = false;
    }
  } else if (block.segStartCoordinate - left < 10) {
    segStart = false;
  }
  if (right - block.segEndCoordinate < 10) segEnd = false;
  return [segStart, segEnd];
}
