/**
 * `returnWordBox` on /ocr: PaddleX 3.3's `text_word` / `text_word_boxes`, from the CTC time steps of
 * each character (BaseRecLabelDecode.get_word_info, cal_ocr_word_box, convert_points_to_boxes).
 */
import assert from 'node:assert/strict';
import { readFile, writeFile, mkdtemp } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import YAML from 'yaml';
import { wordBoxes } from '../src/ops/wordBoxes.js';
import { fixtureTempRoot } from './helpers/fixtures.js';
import { REPO_ROOT } from './helpers/paths.js';
import { postJson, type RunningServer, startServer } from './helpers/server.js';
import { renderTextImage } from './helpers/textImages.js';

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
/** A rectangle's corners clockwise from the top left (a line's quad, or a word cell as PaddleX builds it). */
const box = (x0: number, x1: number, y0: number, y1: number): Array<[number, number]> => [
  [x0, y0],
  [x1, y0],
  [x1, y1],
  [x0, y1],
];

describe('word boxes as PaddleX computes them (hand-worked examples of its rules)', () => {
  test('letters, digits with a decimal point, and symbols (spaces, commas) each form a word', () => {
    // line box x 10..110, y 20..40; 50 output steps over the crop ⇒ 2 px per step
    const quad = box(10, 110, 20, 40);
    const { words, boxes } = wordBoxes('Ab, 3.5', quad, { columns: [2, 4, 6, 8, 10, 12, 14], columnCount: 50 });
    // 'Ab' = steps 2..4 → x 10+int(2·2) .. 10+int(5·2); ', ' = steps 6..8; '3.5' (a '.' before a digit joins) = steps 10..14
    assert.deepEqual(words, ['Ab', ', ', '3.5']);
    assert.deepEqual(boxes, [box(14, 20, 20, 40), box(22, 28, 20, 40), box(30, 40, 20, 40)]);
  });

  test('a hyphen after letters joins the word; a hyphen before them does not', () => {
    const quad = box(0, 60, 0, 10);
    const { words } = wordBoxes('-VGG-16', quad, { columns: [0, 1, 2, 3, 4, 5, 6], columnCount: 6 });
    assert.deepEqual(words, ['-', 'VGG-16']);
  });

  test('CJK characters get one box each, of the mean CJK width, centred on their step; boxes sorted by x', () => {
    const quad = box(0, 100, 0, 10);
    // 10 px per step; '中文' at steps 0 and 4: width (4-0+1)·10/(2-1) = 50, centred on 5 and 45
    const { words, boxes } = wordBoxes('中文a', quad, { columns: [0, 4, 8], columnCount: 10 });
    assert.deepEqual(words, ['中', '文', 'a']);
    assert.deepEqual(boxes, [box(0, 30, 0, 10), box(20, 70, 0, 10), box(80, 90, 0, 10)]);
  });

  test('a single CJK character takes the line width ÷ its length', () => {
    const quad = box(0, 40, 0, 10);
    // 20 px wide (40 / 2 characters), centred on step 1's middle (15): 5..25
    const { words, boxes } = wordBoxes('x字', quad, { columns: [0, 1], columnCount: 4 });
    assert.deepEqual(words, ['x', '字']);
    assert.deepEqual(boxes, [box(0, 10, 0, 10), box(5, 25, 0, 10)]);
  });
});

describe('/ocr returnWordBox', () => {
  const LINES = ['Invoice 2024-17 total 3.50 EUR', 'Paid, with thanks.'];
  let server: RunningServer;
  let yamlServer: RunningServer;
  let page: Uint8Array;
  before(async () => {
    page = (await renderTextImage(LINES, { fontSize: 32 })).png;
    server = await startServer({ pipelines: [path.join(REPO_ROOT, 'configs', 'OCR.yaml')] });
    // PaddleX's YAML default: SubModules.TextRecognition.return_word_box
    const config = YAML.parse(await readFile(path.join(REPO_ROOT, 'configs', 'OCR.yaml'), 'utf8'));
    config.SubModules.TextRecognition.return_word_box = true;
    const file = path.join(await mkdtemp(path.join(fixtureTempRoot(), 'ocr-words-')), 'OCR.yaml');
    await writeFile(file, YAML.stringify(config));
    yamlServer = await startServer({ pipelines: [file] });
  });
  after(async () => {
    await server?.close();
    await yamlServer?.close();
  });

  test('off by default: no word keys and return_word_box false', async () => {
    const res = await postJson(`${server.url}/ocr`, { file: b64(page), fileType: 1, visualize: false });
    const pruned = res.body.result.ocrResults[0].prunedResult;
    assert.equal(pruned.return_word_box, false);
    assert.ok(!('text_word' in pruned) && !('text_word_boxes' in pruned));
  });

  for (const how of ['request', 'YAML'] as const) {
    test(`on (${how}): each line's words spell its text, their boxes lie in order inside its box`, async () => {
      const res = await postJson(`${(how === 'request' ? server : yamlServer).url}/ocr`, {
        file: b64(page),
        fileType: 1,
        visualize: false,
        ...(how === 'request' ? { returnWordBox: true } : {}),
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const pruned = res.body.result.ocrResults[0].prunedResult;
      assert.equal(pruned.return_word_box, true);
      assert.deepEqual(Object.keys(pruned).slice(-2), ['text_word', 'text_word_boxes']);
      assert.equal(pruned.text_word.length, pruned.rec_texts.length);
      // (this recogniser reads no spaces: PP-OCRv4's Chinese dictionary)
      assert.equal(pruned.rec_texts.length, LINES.length);
      pruned.rec_texts.forEach((text: string, i: number) => {
        const words: string[] = pruned.text_word[i];
        const boxes: number[][] = pruned.text_word_boxes[i];
        // no CJK here: the words (letters/digits and the symbols between them) are the text, in order
        assert.equal(words.join(''), text);
        assert.equal(boxes.length, words.length);
        const [x1, y1, x2, y2] = pruned.rec_boxes[i];
        let previousEnd = -Infinity;
        for (const [bx1, by1, bx2, by2] of boxes) {
          assert.ok([bx1, by1, bx2, by2].every(Number.isInteger));
          assert.ok(
            bx1 >= x1 && bx2 <= x2 + 1 && bx1 <= bx2 && by1 >= y1 && by2 <= y2,
            `word box ${[bx1, by1, bx2, by2]} in ${pruned.rec_boxes[i]}`,
          );
          assert.ok(bx1 >= previousEnd - 1, 'words left to right');
          previousEnd = bx2;
        }
      });
      // letters and digits run together (with '-' after them and '.' before a digit); symbols part them
      for (const words of pruned.text_word as string[][]) {
        for (const word of words) assert.match(word, /^(?:[A-Za-z0-9][A-Za-z0-9.-]*|[^A-Za-z0-9]+)$/, `word ${JSON.stringify(word)}`);
      }
      assert.ok(
        pruned.text_word[0].some((w: string) => w.includes('2024-17') && w.includes('3.50')),
        JSON.stringify(pruned.text_word[0]),
      );
      assert.ok(pruned.text_word[1].includes(','), JSON.stringify(pruned.text_word[1]));
    });
  }
});
