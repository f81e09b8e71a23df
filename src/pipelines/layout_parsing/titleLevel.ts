/**
 * PaddleX's title levels (paddlex/inference/pipelines/layout_parsing/title_level.py, which its
 * `restructure_pages` runs when `relevel_titles` is on): each paragraph title gets a level from three
 * votes — its numbering style, the order in which numbering styles first appear, and its text height
 * clustered over all titles — unless it is a keyword heading (Abstract, References, 结论, ...) at level 1.
 * The Markdown then writes `#` × (level + 1) before the title (format_para_title).
 */
import { ckmeans } from 'simple-statistics';
import type { RgbImage } from '../../io/image.js';
import { type CV, matFromRgb, withMats } from '../../ops/cv.js';

export type TitleSymbol = 'NUM_LIST_BRACKET' | 'ROMAN' | 'CHINESE_NUM' | 'LETTER' | 'NUM_LIST';

// PaddleX's SYMBOL_PATTERNS; Python's `\d` is any Unicode digit, hence \p{Nd}
const ROMAN = /^\s*([IVX]+)(?:[.．)\s]|$)/iu;
const LETTER = /^\s*([A-Z])(?:[.．)\s])/iu;
const NUM_LIST = /^\s*(\p{Nd}+(?:\.\p{Nd}+)*)(?![）)])(?:\.?\s*|(?=[A-Z]))/u;
const NUM_LIST_WITH_BRACKET = /^\s*(?:[(（])?(\p{Nd}+(?:\.\p{Nd}+)*)[)）]/u;
const CHINESE_NUM = /^\s*(?:第|[（(])?([一二三四五六七八九十]{1,2})(?:[章节篇卷部条题讲课回）)]|(?![a-zA-Z\u4e00-\u9fa5]))/iu;

/** PaddleX's get_symbol_and_level: a title's numbering style and the level it implies (-1 without numbering). */
export function symbolAndLevel(content: string): [TitleSymbol | null, number] {
  const text = content.trim();
  if (NUM_LIST_WITH_BRACKET.test(text)) return ['NUM_LIST_BRACKET', 4];
  if (ROMAN.test(text)) return ['ROMAN', 1];
  if (CHINESE_NUM.test(text)) return ['CHINESE_NUM', 1];
  if (LETTER.test(text)) return ['LETTER', 2];
  const numbered = NUM_LIST.exec(text);
  if (numbered) return ['NUM_LIST', numbered[1]!.split('.').length];
  return [null, -1];
}

/** PaddleX's SPECIAL_KEYWORDS: headings that are level 1 whatever they look like. */
const SPECIAL_KEYWORDS = new Set([
  'ABSTRACT',
  'SUMMARY',
  'RESUME',
  '绪论',
  '引言',
  'CONTENTS',
  'REFERENCES',
  'REFERENCE',
  '参考文献',
  'APPENDIX',
  'APPENDICES',
  '附录',
  'ACKNOWLEDGMENTS',
  'INTRODUCTION',
  'BACKGROUNDANDRELATEDWORK',
  'BACKGROUND',
  'RELATEDWORK',
  'THEORETICALMODELS',
  'DATA',
  'METHOD',
  'METHODS',
  'METHODOLOGY',
  'TOPICANALYSIS',
  'RESULT',
  'RESULTS',
  'DISCUSSION',
  'CONCLUSIONS',
  'CONCLUSION',
  'LIMITATIONS',
  '研究背景',
  '相关工作',
  '研究方法',
  '实验结果',
  '讨论',
  '结论',
  '致谢',
  '目录',
]);

/** `str(content).upper().strip().rstrip("：: ").replace(" ", "") in SPECIAL_KEYWORDS`. */
export function isKeywordTitle(content: string): boolean {
  return SPECIAL_KEYWORDS.has(
    content
      .toUpperCase()
      .trim()
      .replace(/[：: ]+$/u, '')
      .replaceAll(' ', ''),
  );
}

/**
 * PaddleX's get_title_height: the mean height of a title's dominant text lines, from the rows
 * (columns, for a box taller than wide) of ink in its Otsu-binarised crop. Undefined when the crop
 * holds no line (PaddleX would fail there).
 */
export function titleHeight(cv: CV, page: RgbImage, bbox: readonly number[]): number | undefined {
  const x1 = Math.max(0, Math.trunc(bbox[0]!));
  const y1 = Math.max(0, Math.trunc(bbox[1]!));
  const x2 = Math.min(page.width, Math.ceil(bbox[2]!));
  const y2 = Math.min(page.height, Math.ceil(bbox[3]!));
  if (x2 <= x1 || y2 <= y1) return undefined;
  const { binary, width, height } = withMats((track) => {
    const src = track(matFromRgb(cv, page));
    const crop = track(src.roi(new cv.Rect(x1, y1, x2 - x1, y2 - y1)));
    const gray = track(new cv.Mat());
    cv.cvtColor(crop, gray, cv.COLOR_RGB2GRAY);
    const ink = track(new cv.Mat());
    cv.threshold(gray, ink, 0, 255, cv.THRESH_BINARY_INV + cv.THRESH_OTSU);
    return { binary: new Uint8Array(ink.data), width: ink.cols, height: ink.rows };
  });
  const horizontal = width / height >= 1;
  const projection = new Array<number>(horizontal ? height : width).fill(0);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) projection[horizontal ? y : x]! += binary[y * width + x]!;
  }
  const gap = Math.max(...projection) * 0.05;
  const lines: number[] = [];
  let run = 0;
  for (const value of [...projection, Number.NEGATIVE_INFINITY]) {
    if (value > gap) {
      run++;
      continue;
    }
    if (run > 2) lines.push(run);
    run = 0;
  }
  if (!lines.length) return undefined;
  const tallest = Math.max(...lines);
  const dominant = lines.filter((h) => h > tallest * 0.8);
  return pythonRound(dominant.reduce((a, b) => a + b, 0) / dominant.length);
}

/** Python's round(): halves to even. */
function pythonRound(value: number): number {
  const floor = Math.floor(value);
  const diff = value - floor;
  if (diff !== 0.5) return Math.round(value);
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * PaddleX's cluster_global_heights: the heights in at most 4 clusters, the tallest cluster level 1.
 * PaddleX runs scikit-learn's KMeans (k-means++ seeded 42, one run); on one dimension the optimal
 * clustering (Ckmeans.1d.dp, simple-statistics) is what that converges to on separated heights,
 * and exactly it when there are no more distinct heights than clusters.
 */
export function clusterHeights(heights: readonly number[], maxClusters = 4): Map<number, number> {
  const distinct = [...new Set(heights)].sort((a, b) => a - b);
  if (!distinct.length) return new Map();
  const k = Math.min(maxClusters, distinct.length);
  const centres = ckmeans([...heights], k).map((cluster) => cluster.reduce((a, b) => a + b, 0) / cluster.length);
  const byTallest = centres.map((_, i) => i).sort((a, b) => centres[b]! - centres[a]!);
  const level = new Map(byTallest.map((centre, rank) => [centre, rank + 1]));
  return new Map(
    distinct.map((h) => {
      let nearest = 0;
      centres.forEach((c, i) => {
        if (Math.abs(h - c) < Math.abs(h - centres[nearest]!)) nearest = i;
      });
      return [h, level.get(nearest)!];
    }),
  );
}

/** PaddleX's compute_levels_for_entries: the level of each title (content, measured height) in document order. */
export function titleLevels(entries: ReadonlyArray<{ content: string; height: number }>): number[] {
  const symbols = entries.map((e) => symbolAndLevel(e.content));
  const clusterLevel = clusterHeights(entries.map((e) => e.height));
  // each numbering style ranked by where it first appears
  const styleRank = new Map<TitleSymbol, number>();
  for (const [symbol, level] of symbols) if (level > 0 && !styleRank.has(symbol!)) styleRank.set(symbol!, styleRank.size + 1);
  let firstNumListLevel = 0;
  return entries.map((e, i) => {
    const [symbol, semanticLevel] = symbols[i]!;
    const byHeight = clusterLevel.get(e.height)!;
    if (semanticLevel > 0) {
      let byOrder = styleRank.get(symbol!)!;
      if (symbol === 'NUM_LIST') {
        if (firstNumListLevel !== 0) byOrder += semanticLevel - firstNumListLevel;
        else firstNumListLevel = semanticLevel;
      }
      // Counter(votes).most_common(1): the most frequent vote, the earliest among equals
      const votes = [semanticLevel, byOrder, byHeight];
      const counts = votes.map((v) => votes.filter((w) => w === v).length);
      const best = counts.indexOf(Math.max(...counts));
      return counts[best]! > 1 ? votes[best]! : byOrder;
    }
    if (isKeywordTitle(e.content)) return 1;
    return byHeight;
  });
}

/**
 * PaddleX's assign_levels_to_parsing_res on one page's blocks: every `paragraph_title` whose height
 * can be measured on `page` gets `titleLevel`.
 */
export function assignTitleLevels(
  cv: CV,
  page: RgbImage,
  blocks: ReadonlyArray<{ label: string; bbox: readonly number[]; content: string; titleLevel?: number }>,
): void {
  const titles = blocks
    .filter((b) => b.label === 'paragraph_title')
    .flatMap((block) => {
      const height = titleHeight(cv, page, block.bbox);
      return height === undefined ? [] : [{ block, content: block.content, height }];
    });
  titleLevels(titles).forEach((level, i) => {
    titles[i]!.block.titleLevel = level;
  });
}
