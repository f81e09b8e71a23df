/**
 * PaddleX's title levels (layout_parsing/title_level.py) on worked examples: each expectation is
 * worked out by hand from its rules (numbering patterns, keyword headings, height clusters, the
 * three-way vote), not taken from our output.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createCanvas } from '@napi-rs/canvas';
import type { RgbImage } from '../src/io/image.js';
import { loadCv } from '../src/ops/cv.js';
import { LayoutBlock } from '../src/pipelines/layout_parsing/blocks.js';
import { formatBlockContent } from '../src/pipelines/layout_parsing/markdown.js';
import {
  assignTitleLevels,
  clusterHeights,
  isKeywordTitle,
  symbolAndLevel,
  titleHeight,
  titleLevels,
} from '../src/pipelines/layout_parsing/titleLevel.js';

describe('numbering style and its level (get_symbol_and_level)', () => {
  const cases: Array<[string, string | null, number, string]> = [
    ['1 Introduction', 'NUM_LIST', 1, 'one number: level 1'],
    ['2.3 Results', 'NUM_LIST', 2, 'a level per dotted part'],
    ['1.2.1. Setup', 'NUM_LIST', 3, 'a trailing dot adds no level'],
    ['(1) Data', 'NUM_LIST_BRACKET', 4, 'a bracketed number is level 4'],
    ['2）结果', 'NUM_LIST_BRACKET', 4, 'a full-width closing bracket alone is enough'],
    ['IV. Experiments', 'ROMAN', 1, 'Roman numerals are level 1'],
    ['i) first point', 'ROMAN', 1, 'case-insensitive, and tried before the single letter'],
    ['V Conclusion', 'ROMAN', 1, 'a Roman numeral then a space'],
    ['Vision Models', null, -1, 'a word starting with V is no numeral'],
    ['Introduction', null, -1, 'no numbering'],
    ['第三章 方法', 'CHINESE_NUM', 1, '第…章 is level 1'],
    ['二、实验', 'CHINESE_NUM', 1, 'a Chinese numeral not followed by a letter or Han character'],
    ['十二 总结', 'CHINESE_NUM', 1, 'two Chinese numerals'],
    ['一种新方法', null, -1, 'a numeral inside a word is no numbering'],
    ['A. Appendix', 'LETTER', 2, 'a single letter and a dot is level 2'],
    ['2024年工作报告', 'NUM_LIST', 1, 'any leading number counts (the separator is optional)'],
  ];
  for (const [title, symbol, level, why] of cases) {
    test(`${JSON.stringify(title)} → ${symbol} ${level} (${why})`, () => {
      assert.deepEqual(symbolAndLevel(title), [symbol, level]);
    });
  }
});

describe('keyword headings (SPECIAL_KEYWORDS)', () => {
  test('case, trailing colons and inner spaces do not matter; other words are no keyword', () => {
    assert.equal(isKeywordTitle('Abstract'), true);
    assert.equal(isKeywordTitle('REFERENCES:'), true);
    assert.equal(isKeywordTitle('Related Work'), true);
    assert.equal(isKeywordTitle('结论：'), true);
    assert.equal(isKeywordTitle('Conclusions and Future Work'), false);
    assert.equal(isKeywordTitle('Overview'), false);
  });
});

describe('height clusters (cluster_global_heights): the tallest cluster is level 1', () => {
  test('no more distinct heights than clusters: each height its own level', () => {
    assert.deepEqual(
      [...clusterHeights([30, 30, 24, 24, 18]).entries()].sort((a, b) => a[0] - b[0]),
      [
        [18, 3],
        [24, 2],
        [30, 1],
      ],
    );
  });

  test('nine heights in four separated groups', () => {
    const levels = clusterHeights([40, 39, 30, 29, 20, 19, 12, 11, 10]);
    assert.deepEqual(
      [40, 39, 30, 29, 20, 19, 12, 11, 10].map((h) => levels.get(h)),
      [1, 1, 2, 2, 3, 3, 4, 4, 4],
    );
  });
});

describe('levels by vote (compute_levels_for_entries)', () => {
  test('a paper: numbered sections and subsections agree on all three votes; References is a keyword', () => {
    // heights cluster as 30 → 1, 24 → 2; NUM_LIST is the first style seen (rank 1)
    const levels = titleLevels([
      { content: '1 Introduction', height: 30 },
      { content: '1.1 Background', height: 24 },
      { content: '1.2 Scope', height: 24 },
      { content: '2 Method', height: 30 },
      { content: 'References', height: 30 },
    ]);
    assert.deepEqual(levels, [1, 2, 2, 1, 1]);
  });

  test('letters seen before Roman numerals: the style order is outvoted by the numbering and the height', () => {
    // LETTER rank 1, ROMAN rank 2; votes (semantic, order, height): A/B (2, 1, 2) → 2, I (1, 2, 1) → 1
    const levels = titleLevels([
      { content: 'A. Overview', height: 20 },
      { content: 'B. Details', height: 20 },
      { content: 'I. Part One', height: 30 },
    ]);
    assert.deepEqual(levels, [2, 2, 1]);
  });

  test('three different votes: the order of appearance wins', () => {
    // heights 30 → 1, 24 → 2, 16 → 3; BRACKET rank 1, NUM_LIST rank 2
    // (1) Setup: (4, 1, 3) → 1; 1 Intro: (1, 2, 1) → 1; 2 Next: (1, 2 + (1 − 1), 2) → 2
    const levels = titleLevels([
      { content: '(1) Setup', height: 16 },
      { content: '1 Intro', height: 30 },
      { content: '2 Next', height: 24 },
    ]);
    assert.deepEqual(levels, [1, 1, 2]);
  });

  test('numbered lists are relative to the first one: 3.1 before 4 still makes 4 level 1', () => {
    // first NUM_LIST level 2; 3.1, 3.2: (2, 1, 2) → 2; 4: (1, 1 + (1 − 2), 1) → 1
    const levels = titleLevels([
      { content: '3.1 Data', height: 24 },
      { content: '3.2 Model', height: 24 },
      { content: '4 Results', height: 30 },
    ]);
    assert.deepEqual(levels, [2, 2, 1]);
  });

  test('unnumbered titles take their height level', () => {
    const levels = titleLevels([
      { content: 'Overview', height: 28 },
      { content: 'Details of the setup', height: 20 },
      { content: 'Notes', height: 14 },
    ]);
    assert.deepEqual(levels, [1, 2, 3]);
  });
});

/** A white page with `lines` drawn in black at `fontPx` from (x, y), one under the other. */
function page(width: number, height: number, draws: Array<{ x: number; y: number; fontPx: number; lines: string[] }>): RgbImage {
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = 'white';
  ctx.fillRect(0, 0, width, height);
  ctx.fillStyle = 'black';
  ctx.textBaseline = 'top';
  for (const { x, y, fontPx, lines } of draws) {
    ctx.font = `${fontPx}px DejaVu Sans`;
    lines.forEach((line, i) => ctx.fillText(line, x, y + i * fontPx * 1.6));
  }
  const rgba = ctx.getImageData(0, 0, width, height).data;
  const data = new Uint8Array(width * height * 3);
  for (let s = 0, d = 0; d < data.length; s += 4, d += 3) data.set([rgba[s]!, rgba[s + 1]!, rgba[s + 2]!], d);
  return { width, height, data };
}

/**
 * The rule of get_title_height worked on plain dark pixels (< 128) instead of Otsu's threshold: runs
 * of rows with over 5 % of the densest row's ink, runs of 3 rows and more, those over 80 % of the
 * tallest averaged. The titles are capitals: a descender-only strip (the tail of a g) may fall either
 * side of the 5 % depending on the binarisation, capitals have none.
 */
function expectedHeight(img: RgbImage, box: [number, number, number, number]): { lines: number[]; height: number } {
  const rows: number[] = [];
  for (let y = box[1]; y < box[3]; y++) {
    let ink = 0;
    for (let x = box[0]; x < box[2]; x++) if (img.data[(y * img.width + x) * 3]! < 128) ink++;
    rows.push(ink);
  }
  const gap = Math.max(...rows) * 0.05;
  const lines: number[] = [];
  let run = 0;
  for (const ink of [...rows, -1]) {
    if (ink > gap) run++;
    else {
      if (run > 2) lines.push(run);
      run = 0;
    }
  }
  const dominant = lines.filter((h) => h > Math.max(...lines) * 0.8);
  return { lines, height: dominant.reduce((a, b) => a + b, 0) / dominant.length };
}

describe('title heights (get_title_height) measured on rendered titles', () => {
  test('the dominant ink rows of a line; two lines average; larger type is taller; a blank box has none', async () => {
    const cv = await loadCv();
    const img = page(900, 400, [
      { x: 20, y: 20, fontPx: 40, lines: ['HEADING BIG'] },
      { x: 20, y: 120, fontPx: 24, lines: ['SMALL HEADING'] },
      { x: 20, y: 200, fontPx: 24, lines: ['TWO LINE HEADING', 'GOES ON HERE'] },
    ]);
    const big: [number, number, number, number] = [10, 10, 600, 80];
    const small: [number, number, number, number] = [10, 110, 600, 160];
    const twoLines: [number, number, number, number] = [10, 190, 600, 290];
    const bigHeight = titleHeight(cv, img, big)!;
    const smallHeight = titleHeight(cv, img, small)!;
    for (const [box, measured] of [
      [big, bigHeight],
      [small, smallHeight],
    ] as const) {
      const expected = expectedHeight(img, box);
      assert.equal(expected.lines.length >= 1, true);
      assert.ok(Math.abs(measured - expected.height) <= 2, `${measured} vs ${JSON.stringify(expected)}`);
    }
    assert.ok(bigHeight > smallHeight * 1.4, `${bigHeight} vs ${smallHeight}`);
    const two = expectedHeight(img, twoLines);
    assert.equal(two.lines.length, 2, JSON.stringify(two));
    const twoHeight = titleHeight(cv, img, twoLines)!;
    assert.ok(Math.abs(twoHeight - two.height) <= 2, `${twoHeight} vs ${JSON.stringify(two)}`);
    assert.equal(titleHeight(cv, img, [700, 300, 800, 380]), undefined, 'a blank box has no line');
  });

  test('assignTitleLevels: numbered sections on a page get their levels, and the Markdown writes level + 1 #', async () => {
    const cv = await loadCv();
    const img = page(900, 500, [
      { x: 20, y: 20, fontPx: 40, lines: ['1 Methods'] },
      { x: 20, y: 120, fontPx: 26, lines: ['1.1 Data sets'] },
      { x: 20, y: 220, fontPx: 26, lines: ['1.2 Training'] },
      { x: 20, y: 320, fontPx: 40, lines: ['2 Results'] },
    ]);
    const titles = [
      new LayoutBlock('paragraph_title', [10, 10, 400, 80], '1 Methods'),
      new LayoutBlock('paragraph_title', [10, 110, 400, 165], '1.1 Data sets'),
      new LayoutBlock('paragraph_title', [10, 210, 400, 265], '1.2 Training'),
      new LayoutBlock('paragraph_title', [10, 310, 400, 380], '2 Results'),
    ];
    const text = new LayoutBlock('text', [10, 400, 400, 480], 'Body text.');
    assignTitleLevels(cv, img, [...titles, text]);
    assert.deepEqual(
      titles.map((t) => t.titleLevel),
      [1, 2, 2, 1],
    );
    assert.equal(text.titleLevel, undefined);
    const settings = {
      useSealRecognition: false,
      useTableRecognition: false,
      useFormulaRecognition: false,
      useChartRecognition: false,
      markdownIgnoreLabels: [],
    };
    assert.deepEqual(
      titles.map((t) => formatBlockContent(t, settings, 900)),
      ['## 1 Methods', '### 1.1 Data sets', '### 1.2 Training', '## 2 Results'],
    );
    // without a level, the numbering decides (format_title), spacing normalised
    assert.equal(formatBlockContent(new LayoutBlock('paragraph_title', [0, 0, 10, 10], '1.1   Data'), settings, 900), '### 1.1 Data');
  });
});
