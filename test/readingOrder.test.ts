import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type CropRecognizer, LayoutBlock } from '../src/pipelines/layout_parsing/blocks.js';
import { concatenatePages, formatTitle, pageMarkdown } from '../src/pipelines/layout_parsing/markdown.js';
import { type LayoutBox, type OverallOcr, parseBlocks, standardize } from '../src/pipelines/layout_parsing/parsing.js';
import { sortByXycut, sortedLayoutBoxes } from '../src/pipelines/layout_parsing/readingOrder.js';

/** A block of a worked example: label, box, and how many full-width text lines (30 px apart, 20 px high) it holds. */
type Example = [name: string, label: string, box: [number, number, number, number], lines: number];

/** Ordered block names of a page through PaddleX's PP-StructureV3 steps (no region detection). */
async function order(page: Example[], width = 1000, height = 1400): Promise<string[]> {
  const ocr: OverallOcr = { dt_polys: [], rec_texts: [], rec_scores: [], rec_polys: [], rec_boxes: [], rec_labels: [] };
  for (const [name, , [x1, y1, x2], lines] of page) {
    for (let i = 0; i < lines; i++) {
      const box = [x1 + 2, y1 + 5 + 30 * i, x2 - 2, y1 + 25 + 30 * i];
      ocr.rec_boxes.push(box);
      ocr.rec_texts.push(`${name}${i}`);
      ocr.rec_scores.push(0.99);
      const poly: Array<[number, number]> = [
        [box[0]!, box[1]!],
        [box[2]!, box[1]!],
        [box[2]!, box[3]!],
        [box[0]!, box[3]!],
      ];
      ocr.rec_polys.push(poly);
      ocr.dt_polys.push(poly);
      ocr.rec_labels.push('text');
    }
  }
  const boxes: LayoutBox[] = page.map(([, label, coordinate]) => ({ cls_id: 0, label, score: 0.9, coordinate }));
  const noCrops = async () => {
    throw new Error('no block should need reading again');
  };
  const std = await standardize({ width, height }, boxes, [], ocr, noCrops, 0);
  const blocks = await parseBlocks(std, ocr, { table: [], seal: [], chart: [] }, [], { recognize: noCrops, scoreThresh: 0 });
  const names = new Map(page.map(([name, , box]) => [box.join(), name]));
  return blocks.map((b) => names.get(b.bbox.join()) ?? `?${b.label}${b.bbox}`);
}

const noRereads = async (): Promise<never> => {
  throw new Error('no span should need reading again');
};

// Worked examples of PaddleX's xycut_enhanced (xycut_enhanced/xycuts.py): pages a reader orders one way.
describe('PP-StructureV3 reading order (xycut-enhanced)', () => {
  test('a single column: top to bottom, whatever the detection order', async () => {
    const page: Example[] = [
      ['p2', 'text', [100, 400, 900, 520], 4],
      ['title', 'doc_title', [100, 60, 900, 120], 1],
      ['p1', 'text', [100, 220, 900, 340], 4],
      ['h1', 'paragraph_title', [100, 160, 500, 190], 1],
      ['h2', 'paragraph_title', [100, 560, 500, 590], 1],
      ['p3', 'text', [100, 620, 900, 740], 4],
    ];
    assert.deepEqual(await order(page), ['title', 'h1', 'p1', 'p2', 'h2', 'p3']);
  });

  test('two columns: the left column, then the right', async () => {
    const page: Example[] = [
      ['r1', 'text', [520, 100, 900, 400], 10],
      ['l1', 'text', [100, 100, 480, 400], 10],
      ['r2', 'text', [520, 440, 900, 740], 10],
      ['l2', 'text', [100, 440, 480, 740], 10],
    ];
    assert.deepEqual(await order(page), ['l1', 'l2', 'r1', 'r2']);
  });

  test('a full-width title over two columns, a full-width paragraph under them', async () => {
    const page: Example[] = [
      ['r', 'text', [520, 200, 900, 500], 10],
      ['title', 'doc_title', [100, 60, 900, 140], 1],
      ['l', 'text', [100, 200, 480, 500], 10],
      ['end', 'text', [100, 560, 900, 680], 4],
    ];
    assert.deepEqual(await order(page), ['title', 'l', 'r', 'end']);
  });

  test('a figure with its caption between two-column parts: upper columns, figure, caption, lower columns', async () => {
    const page: Example[] = [
      ['l1', 'text', [100, 100, 480, 400], 10],
      ['r1', 'text', [520, 100, 900, 400], 10],
      ['fig', 'image', [250, 450, 750, 750], 0],
      ['cap', 'figure_title', [350, 760, 650, 790], 1],
      ['l2', 'text', [100, 840, 480, 1140], 10],
      ['r2', 'text', [520, 840, 900, 1140], 10],
    ];
    assert.deepEqual(await order(page), ['l1', 'r1', 'fig', 'cap', 'l2', 'r2']);
  });

  test('a figure inside the left column: text, figure, caption, text, then the right column', async () => {
    const page: Example[] = [
      ['r', 'text', [520, 100, 900, 1000], 30],
      ['l1', 'text', [100, 100, 480, 400], 10],
      ['cap', 'figure_title', [150, 730, 430, 760], 1],
      ['fig', 'image', [120, 440, 460, 720], 0],
      ['l2', 'text', [100, 790, 480, 1000], 7],
    ];
    assert.deepEqual(await order(page), ['l1', 'fig', 'cap', 'l2', 'r']);
  });

  test('headers first, footers and page numbers last', async () => {
    const page: Example[] = [
      ['num', 'number', [480, 1340, 520, 1370], 1],
      ['p', 'text', [100, 200, 900, 320], 4],
      ['foot', 'footer', [100, 1300, 900, 1330], 1],
      ['head', 'header', [100, 20, 900, 50], 1],
    ];
    assert.deepEqual(await order(page), ['head', 'p', 'foot', 'num']);
  });

  test('recursive XY cut: rows first (vertical), columns first (horizontal)', () => {
    const boxes = [
      [0, 0, 100, 10],
      [0, 20, 45, 60],
      [55, 20, 100, 60],
      [0, 70, 100, 80],
    ];
    assert.deepEqual(sortByXycut(boxes, 'vertical'), [0, 1, 2, 3]);
    assert.deepEqual(sortByXycut([boxes[1]!, boxes[2]!], 'horizontal'), [0, 1]);
  });
});

describe('layout_parsing v1 reading order (sorted_layout_boxes)', () => {
  test('left column blocks, then right column blocks, flushed at each full-width block', () => {
    const entry = (name: string, box: number[]) => ({ block_bbox: box, block_label: 'text', block_content: name });
    const sorted = sortedLayoutBoxes(
      [
        entry('r1', [620, 200, 950, 400]),
        entry('title', [200, 50, 800, 100]),
        entry('l1', [50, 200, 480, 400]),
        entry('wide', [50, 450, 950, 500]),
        entry('l2', [50, 550, 480, 700]),
        entry('r2', [620, 520, 950, 700]),
      ],
      1000,
    );
    assert.deepEqual(
      sorted.map((e) => e.block_content),
      ['title', 'l1', 'r1', 'wide', 'l2', 'r2'],
    );
  });
});

describe('Markdown pieces (PaddleX result_v2 formatters)', () => {
  test('titles: numbering separated by one space, one more # per dot level', () => {
    assert.equal(formatTitle('1 Introduction'), '## 1 Introduction');
    assert.equal(formatTitle('2.1.Method'), '#### 2.1. Method');
    assert.equal(formatTitle('3.2.1 Details.'), '#### 3.2.1 Details');
    assert.equal(formatTitle('Introduction'), '## Introduction');
    // PaddleX counts every dot, the roman numeral's too
    assert.equal(formatTitle('IV. Results'), '### IV. Results');
  });

  test('isStart / isEnd: an indented first line starts a paragraph; a last line to the right edge leaves it open', async () => {
    const block = async (box: number[], lines: Array<[number, number]>) => {
      const b = new LayoutBlock('text', box);
      await b.updateTextContent(
        lines.map(([x1, x2], i) => ({ box: [x1, box[1]! + 30 * i, x2, box[1]! + 30 * i + 20], text: `line${i}`, label: 'text' })),
        { recognize: noRereads, scoreThresh: 0 },
      );
      return b;
    };
    const open = await block(
      [100, 100, 500, 200],
      [
        [100, 498],
        [100, 499],
        [100, 500],
      ],
    );
    const indented = await block(
      [100, 100, 500, 200],
      [
        [140, 498],
        [100, 499],
        [100, 300],
      ],
    );
    const md = {
      useSealRecognition: false,
      useTableRecognition: false,
      useFormulaRecognition: false,
      useChartRecognition: false,
      markdownIgnoreLabels: [],
    };
    assert.deepEqual([pageMarkdown([open], md, 1000).isStart, pageMarkdown([open], md, 1000).isEnd], [false, false]);
    assert.deepEqual([pageMarkdown([indented], md, 1000).isStart, pageMarkdown([indented], md, 1000).isEnd], [true, true]);
  });

  test('concatenate_markdown_pages: a paragraph split over pages is joined by a space, other pages by a blank line', () => {
    const pages = [
      { text: '# Title\n\nThe first part of a', isStart: true, isEnd: false },
      { text: 'sentence ends here.', isStart: false, isEnd: true },
      { text: 'A new page.', isStart: true, isEnd: true },
      { text: '中文结尾', isStart: true, isEnd: false },
      { text: '继续', isStart: false, isEnd: true },
    ];
    assert.equal(concatenatePages(pages), '\n\n# Title\n\nThe first part of a sentence ends here.\n\nA new page.\n\n中文结尾继续');
  });
});

// PaddleX's TextLine.get_texts / split_boxes_by_projection / format_line on a line holding a formula span
describe('formula spans in text lines (PaddleX layout_objects.TextLine)', () => {
  const formula = () => ({ box: [270, 100, 480, 160], text: 'E=m c^{2}', label: 'formula' });
  const textBlock = async (
    spans: Array<{ box: number[]; text: string; label: string }>,
    recognize: CropRecognizer = noRereads,
    scoreThresh = 0,
  ) => {
    const block = new LayoutBlock('text', [100, 100, 610, 160]);
    await block.updateTextContent(spans, { recognize, scoreThresh });
    return block.content;
  };

  test('text beside a formula: the formula joins the line as $…$ followed by a space, nothing is read again', async () => {
    const content = await textBlock([
      { box: [490, 110, 600, 140], text: 'at rest.', label: 'text' },
      formula(),
      { box: [100, 110, 260, 140], text: 'Energy is', label: 'text' },
    ]);
    assert.equal(content, 'Energy is $E=m c^{2}$ at rest.');
  });

  test('a text span across a formula is cut around it, its parts are read again, a part under the threshold is dropped', async () => {
    const reads: number[][] = [];
    const recognize = async (box: number[]) => {
      reads.push([...box]);
      return box[0]! < 200 ? { text: 'Energy is', score: 0.9 } : { text: 'at rest.', score: 0.4 };
    };
    const ocrBox = [100, 110, 600, 140];
    assert.equal(
      await textBlock([{ box: ocrBox, text: 'Energy is E=mc2 at rest.', label: 'text' }, formula()], recognize, 0.3),
      'Energy is $E=m c^{2}$ at rest.',
    );
    assert.deepEqual(reads, [
      [100, 110, 270 - 1e-5, 140],
      [480 + 1e-5, 110, 600, 140],
    ]);
    // as in PaddleX, the cut moves the start of the OCR result's own box
    assert.deepEqual(ocrBox, [480 + 1e-5, 110, 600, 140]);
    // the right part read at 0.4 under a threshold of 0.5 is dropped: the line ends with the formula
    const dropped = await textBlock(
      [{ box: [100, 110, 600, 140], text: 'Energy is E=mc2 at rest.', label: 'text' }, formula()],
      recognize,
      0.5,
    );
    assert.equal(dropped, 'Energy is $E=m c^{2}$ \n');
  });
});
