import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { GlobalFonts } from '@napi-rs/canvas';
import type { RgbImage } from '../src/io/image.js';
import { categoryColour, contrastingTextColour, type Rgb } from '../src/vis/draw.js';
import { drawClassification } from '../src/pipelines/image_classification/draw.js';
import { drawDetections } from '../src/pipelines/shared/drawDetections.js';
import { VIS_FONT_FAMILY } from '../src/vis/fonts.js';
import { REPO_ROOT } from './helpers/paths.js';
import { drawOcrResult } from '../src/pipelines/shared/drawOcr.js';

const GREY = 128;

function solidImage(width: number, height: number, value = GREY): RgbImage {
  return { width, height, data: new Uint8Array(width * height * 3).fill(value) };
}

async function decodeJpeg(bytes: Uint8Array): Promise<RgbImage> {
  const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
  assert.equal((await sharp(bytes).metadata()).format, 'jpeg');
  assert.equal(info.channels, 3);
  return { width: info.width, height: info.height, data: new Uint8Array(data) };
}

function pixel(img: RgbImage, x: number, y: number): Rgb {
  const i = (y * img.width + x) * 3;
  return [img.data[i]!, img.data[i + 1]!, img.data[i + 2]!];
}

function colourDistance(a: Rgb, b: Rgb): number {
  return Math.max(Math.abs(a[0] - b[0]), Math.abs(a[1] - b[1]), Math.abs(a[2] - b[2]));
}

interface Rect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** Pixels in [x0, x1) × [y0, y1) for which `predicate` holds. */
function countPixels(img: RgbImage, rect: Rect, predicate: (p: Rgb, x: number, y: number) => boolean): number {
  let count = 0;
  for (let y = rect.y0; y < rect.y1; y++) {
    for (let x = rect.x0; x < rect.x1; x++) if (predicate(pixel(img, x, y), x, y)) count++;
  }
  return count;
}

/** Pixels in `rect` that differ clearly (any channel by more than 60) between two same-sized images. */
function countDifferent(a: RgbImage, b: RgbImage, rect: Rect): number {
  return countPixels(a, rect, (p, x, y) => colourDistance(p, pixel(b, x, y)) > 60);
}

const isLight = (p: Rgb) => Math.min(...p) > 200;
const isDark = (p: Rgb) => Math.max(...p) < 100;

test('classification: empty label list leaves the image as it was', async () => {
  const out = await decodeJpeg(await drawClassification(solidImage(224, 224), []));
  assert.deepEqual([out.width, out.height], [224, 224]);
  assert.equal(
    countPixels(out, { x0: 0, y0: 0, x1: 224, y1: 224 }, (p) => colourDistance(p, [GREY, GREY, GREY]) > 4),
    0,
  );
});

test('classification: labels render glyphs on a filled box at the top-left, and differ by text', async () => {
  const img = solidImage(224, 224);
  const labelArea = { x0: 0, y0: 0, x1: 224, y1: 40 };
  const cat = await decodeJpeg(await drawClassification(img, [{ id: 285, name: 'Egyptian cat', score: 0.71 }]));
  const tabby = await decodeJpeg(await drawClassification(img, [{ id: 281, name: 'tabby', score: 0.1 }]));

  const background = categoryColour(0);
  assert.equal(contrastingTextColour(background)[0], 255, 'the label box colour takes white text');
  assert.ok(colourDistance(pixel(cat, 1, 1), background) < 30, `box colour at (1,1): ${pixel(cat, 1, 1)}`);
  const catInk = countPixels(cat, labelArea, isLight);
  assert.ok(catInk > 80, `white glyph pixels in the label: ${catInk}`);
  // The label stays at the top-left: the rest of the image is untouched.
  assert.ok(colourDistance(pixel(cat, 200, 200), [GREY, GREY, GREY]) <= 4);
  assert.ok(colourDistance(pixel(cat, 200, 5), [GREY, GREY, GREY]) <= 4, 'box ends after the text');

  // "Egyptian cat 0.71" is longer than "tabby 0.10": more ink, and the glyphs sit elsewhere.
  const tabbyInk = countPixels(tabby, labelArea, isLight);
  assert.ok(tabbyInk > 40 && tabbyInk < catInk, `ink: tabby ${tabbyInk}, Egyptian cat ${catInk}`);
  const differing = countDifferent(cat, tabby, labelArea);
  assert.ok(differing > 150, `pixels that differ between the two labels: ${differing}`);
});

test('classification: top-k lines stack and the font scales with the image', async () => {
  const topK = [
    { id: 285, name: 'Egyptian cat', score: 0.71 },
    { id: 281, name: 'tabby', score: 0.1 },
    { id: 282, name: 'tiger cat', score: 0.05 },
  ];
  const boxRows = (img: RgbImage) =>
    countPixels(img, { x0: 1, y0: 0, x1: 2, y1: img.height }, (p) => colourDistance(p, categoryColour(0)) < 30);

  const small = await decodeJpeg(await drawClassification(solidImage(224, 224), topK));
  const smallRows = boxRows(small);
  // three lines of at least 10 px glyphs, within the image
  assert.ok(smallRows >= 36 && smallRows < 112, `label box height on 224 px: ${smallRows}`);

  const large = await decodeJpeg(await drawClassification(solidImage(4000, 3000), topK));
  assert.deepEqual([large.width, large.height], [4000, 3000]);
  const largeRows = boxRows(large);
  assert.ok(largeRows > 10 * smallRows, `label box height on 4000 px: ${largeRows} (224 px: ${smallRows})`);
  const largeInk = countPixels(large, { x0: 0, y0: 0, x1: 1500, y1: largeRows }, isLight);
  assert.ok(largeInk > 50_000, `glyph pixels on the 4000 px image: ${largeInk}`);
});

test('detection: box borders take the category colour, the rest of the image stays', async () => {
  const img = solidImage(2000, 1000);
  const objects = [
    { bbox: [400, 300, 1000, 800] as [number, number, number, number], categoryId: 3, categoryName: 'dog', score: 0.876 },
    { bbox: [1400, 0, 1900, 400] as [number, number, number, number], categoryId: 1, categoryName: 'cat', score: 0.5 },
  ];
  const out = await decodeJpeg(await drawDetections(img, objects));
  assert.deepEqual([out.width, out.height], [2000, 1000]);
  const grey: Rgb = [GREY, GREY, GREY];
  const dogColour = categoryColour(3);
  const catColour = categoryColour(1);
  assert.notDeepEqual(dogColour, catColour);

  for (const [x, y] of [
    [400, 550],
    [1000, 550],
    [700, 800],
  ] as const) {
    const p = pixel(out, x, y);
    assert.ok(colourDistance(p, dogColour) < 40, `dog border at (${x},${y}) is ${p}, expected ≈${dogColour}`);
  }
  assert.ok(colourDistance(pixel(out, 1400, 200), catColour) < 40, `cat border: ${pixel(out, 1400, 200)}`);
  // inside and far away from the boxes nothing changes
  for (const [x, y] of [
    [700, 550],
    [100, 900],
    [1200, 600],
    [1650, 200],
  ] as const) {
    assert.ok(colourDistance(pixel(out, x, y), grey) <= 4, `untouched pixel at (${x},${y}) is ${pixel(out, x, y)}`);
  }

  // The dog tag sits above its box, the cat tag (box at the top edge) inside its box.
  assert.ok(colourDistance(pixel(out, 410, 290), dogColour) < 40, `dog tag: ${pixel(out, 410, 290)}`);
  assert.ok(colourDistance(pixel(out, 450, 330), grey) <= 4, 'the tag is not inside the dog box');
  const catTagFill = countPixels(out, { x0: 1400, y0: 0, x1: 1600, y1: 40 }, (p) => colourDistance(p, catColour) < 40);
  assert.ok(catTagFill > 1000, `cat tag fill pixels at the top of its box: ${catTagFill}`);
  // Tags carry text: pixels in the contrasting text colour inside them.
  const dogTagInk = countPixels(
    out,
    { x0: 400, y0: 250, x1: 600, y1: 298 },
    (p) => colourDistance(p, contrastingTextColour(dogColour)) < 60,
  );
  assert.ok(dogTagInk > 100, `text pixels in the dog tag: ${dogTagInk}`);
  const catTagInk = countPixels(
    out,
    { x0: 1400, y0: 0, x1: 1600, y1: 50 },
    (p) => colourDistance(p, contrastingTextColour(catColour)) < 60,
  );
  assert.ok(catTagInk > 100, `text pixels in the cat tag: ${catTagInk}`);
});

/** Right-half cells of a horizontal 4-character text box at x 100..500, y 50..150 of a 600 × 200 input. */
async function renderFourCharacters(text: string): Promise<RgbImage> {
  const poly = [
    [100, 50],
    [500, 50],
    [500, 150],
    [100, 150],
  ];
  return decodeJpeg(await drawOcrResult(solidImage(600, 200, 255), [poly], [text]));
}

function characterCell(index: number): Rect {
  // 4 glyphs of one em each; the font size is 95 % of the 100 px box height.
  const em = 95;
  const inset = 6; // keep clear of the polygon outline and neighbouring glyphs
  return { x0: 600 + 100 + index * em + inset, y0: 50 + inset, x1: 600 + 100 + (index + 1) * em - inset, y1: 150 - inset };
}

test('OCR: CJK text renders real, distinct glyphs in each character cell, not tofu', async () => {
  await drawOcrResult(solidImage(8, 8), [], []);
  assert.ok(GlobalFonts.has(VIS_FONT_FAMILY), 'bundled font registered');

  const recognition = await renderFourCharacters('中文识别');
  const testing = await renderFourCharacters('汉字测试');
  const tofu = await renderFourCharacters(String.fromCodePoint(0x10fffd).repeat(4));
  assert.deepEqual([recognition.width, recognition.height], [1200, 200]);

  for (let i = 0; i < 4; i++) {
    const cell = characterCell(i);
    const area = (cell.x1 - cell.x0) * (cell.y1 - cell.y0);
    for (const [name, img] of [
      ['中文识别', recognition],
      ['汉字测试', testing],
    ] as const) {
      const ink = countPixels(img, cell, isDark);
      assert.ok(ink > 0.05 * area && ink < 0.6 * area, `${name} cell ${i}: ${ink} dark pixels of ${area}`);
      const vsTofu = countDifferent(img, tofu, cell);
      assert.ok(vsTofu > 0.05 * area, `${name} cell ${i} differs from the missing-glyph box by ${vsTofu} pixels`);
    }
    const between = countDifferent(recognition, testing, cell);
    assert.ok(between > 0.05 * area, `cell ${i}: 中文识别 vs 汉字测试 differ by ${between} pixels`);
  }
  // Glyphs stay inside the box: nothing beyond the fourth character.
  assert.equal(countPixels(recognition, { x0: 600 + 510, y0: 0, x1: 1200, y1: 200 }, isDark), 0);
});

test('OCR: tall narrow boxes get one character per line', async () => {
  const poly = [
    [100, 20],
    [150, 20],
    [150, 420],
    [100, 420],
  ];
  const out = await decodeJpeg(await drawOcrResult(solidImage(300, 450, 255), [poly], ['汉字测试']));
  const em = 50 * 0.95; // width-limited: 4 × 47.5 px < 400 px
  for (let i = 0; i < 4; i++) {
    const cell = { x0: 300 + 104, y0: Math.round(20 + i * em + 4), x1: 300 + 146, y1: Math.round(20 + (i + 1) * em - 4) };
    const ink = countPixels(out, cell, isDark);
    assert.ok(ink > 100, `vertical cell ${i}: ${ink} dark pixels`);
  }
  const belowText = { x0: 300 + 104, y0: Math.round(20 + 4 * em + 4), x1: 300 + 146, y1: 415 };
  assert.equal(countPixels(out, belowText, isDark), 0, 'the column holds exactly four stacked characters');
});

test('OCR: left half keeps the input and marks polygons; right half is white elsewhere', async () => {
  const img = solidImage(300, 200, 90);
  const poly = [
    [50, 50],
    [150, 50],
    [150, 100],
    [50, 100],
  ];
  const out = await decodeJpeg(await drawOcrResult(img, [poly], ['ab']));
  assert.deepEqual([out.width, out.height], [600, 200], 'output is twice as wide');
  const input: Rgb = [90, 90, 90];
  assert.ok(colourDistance(pixel(out, 100, 75), input) > 30, `polygon fill on the left: ${pixel(out, 100, 75)}`);
  assert.ok(colourDistance(pixel(out, 250, 180), input) <= 4, 'left half outside polygons is the input');
  assert.ok(colourDistance(pixel(out, 550, 180), [255, 255, 255]) <= 4, 'right half outside polygons is white');
  assert.ok(countPixels(out, { x0: 350, y0: 50, x1: 450, y1: 100 }, isDark) > 200, 'text drawn on the right');
});

test('OCR: output is downscaled to fit maxSize, keeping the aspect ratio', async () => {
  const square = await decodeJpeg(
    await drawOcrResult(
      solidImage(3000, 3000),
      [
        [
          [100, 100],
          [2900, 100],
          [2900, 600],
          [100, 600],
        ],
      ],
      ['大图 text'],
    ),
  );
  assert.ok(square.width <= 2000 && square.height <= 2000, `${square.width}×${square.height}`);
  assert.deepEqual([square.width, square.height], [2000, 1000]);
  assert.ok(countPixels(square, { x0: 1000, y0: 0, x1: 2000, y1: 250 }, isDark) > 1000, 'text scaled along');

  const tall = await decodeJpeg(await drawOcrResult(solidImage(400, 1000), [], [], [500, 2000]));
  assert.deepEqual([tall.width, tall.height], [400, 500]);
  const unscaled = await decodeJpeg(await drawOcrResult(solidImage(400, 300), [], []));
  assert.deepEqual([unscaled.width, unscaled.height], [800, 300]);
});

test('OCR: polygon and text counts must match', async () => {
  await assert.rejects(
    drawOcrResult(
      solidImage(10, 10),
      [
        [
          [0, 0],
          [5, 0],
          [5, 5],
          [0, 5],
        ],
      ],
      [],
    ),
    /1 polygons but 0 texts/,
  );
});

test('JPEG encoding survives garbage collection while images are encoded (no SIGSEGV)', () => {
  // @napi-rs/canvas's async encode crashed the process when a GC ran meanwhile: this loop, with
  // `canvas.encode`, died with SIGSEGV in two of three runs of this test on this machine
  const draw = new URL('../src/vis/draw.js', import.meta.url).href;
  const script = `
    import { createCanvas } from '@napi-rs/canvas';
    import { canvasToJpeg } from ${JSON.stringify(draw)};
    for (let round = 0; round < 300; round++) {
      const jobs = Array.from({ length: 8 }, () => {
        const canvas = createCanvas(800, 800);
        canvas.getContext('2d').fillRect(0, 0, 800, 800);
        return canvasToJpeg(canvas, 75);
      });
      globalThis.gc();
      for (const jpeg of await Promise.all(jobs)) if (jpeg[0] !== 0xff || jpeg[1] !== 0xd8) throw new Error('not a JPEG');
    }`;
  const run = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8', cwd: REPO_ROOT });
  assert.equal(run.signal, null, `the process died with ${run.signal}`);
  assert.equal(run.status, 0, run.stderr);
});
