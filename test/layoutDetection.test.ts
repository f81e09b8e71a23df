import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import { ConfigError } from '../src/errors.js';
import { LayoutDetector, layoutNms, layoutPostprocess, mergeLayoutBoxes, unclipLayoutBoxes } from '../src/models/layoutDetection.js';
import type { Box, DetectedObject } from '../src/models/objectDetection.js';
import { moduleOfModelName } from '../src/models/registry.js';
import { boxesInPixels, type FixedBox, fixedBoxDetectorDir } from './helpers/docFixtures.js';
import { cpuRuntime, fixtureSubModule, readTestImage } from './helpers/fixtures.js';
import { PADDLE_MODELS } from './helpers/paddleModels.js';
import { OPENCV_DATA } from './helpers/paths.js';

const LABELS = ['text', 'table', 'formula', 'image'];

function box(clsId: number, score: number, coordinate: Box): DetectedObject {
  return { clsId, label: LABELS[clsId]!, score, coordinate };
}

const coords = (boxes: DetectedObject[]) => boxes.map((b) => [b.clsId, b.score, ...b.coordinate]);

// Worked examples, derived by hand from PaddleX's DetPostProcess (object_detection/processors.py).
describe('layout NMS (iou_same 0.6, iou_diff 0.98, inclusive +1 pixel IoU)', () => {
  test('same-class overlap is suppressed at IoU >= 0.6; other classes only at >= 0.98; kept boxes by score', () => {
    const boxes = [
      box(0, 0.9, [0, 0, 100, 100]),
      // IoU with the first = 91·101 / (2·101² − 91·101) = 0.8198: same class → dropped
      box(0, 0.8, [10, 0, 110, 100]),
      // same IoU, other class → kept
      box(1, 0.85, [10, 0, 110, 100]),
      // IoU with the first = 101·100 / 101² = 0.9901 ≥ 0.98 → dropped though its class differs
      box(1, 0.7, [0, 0, 100, 99]),
      box(0, 0.6, [300, 300, 400, 400]),
    ];
    assert.deepEqual(coords(layoutNms(boxes)), [
      [0, 0.9, 0, 0, 100, 100],
      [1, 0.85, 10, 0, 110, 100],
      [0, 0.6, 300, 300, 400, 400],
    ]);
  });

  test('equal scores: the later box first (numpy argsort reversed)', () => {
    const boxes = [box(0, 0.5, [0, 0, 10, 10]), box(0, 0.5, [50, 50, 60, 60])];
    assert.deepEqual(coords(layoutNms(boxes)), [
      [0, 0.5, 50, 50, 60, 60],
      [0, 0.5, 0, 0, 10, 10],
    ]);
  });
});

describe('layout_merge_bboxes_mode', () => {
  const table = box(1, 0.9, [0, 0, 200, 200]);
  const textInTable = box(0, 0.8, [10, 10, 100, 100]);
  // inside the table, but a formula is never compared with a non-formula container
  const formulaInTable = box(2, 0.7, [20, 120, 80, 180]);
  const lone = box(0, 0.6, [300, 0, 400, 100]);
  const boxes = [table, textInTable, formulaInTable, lone];

  test('union keeps everything; large drops contained boxes; small drops containers', () => {
    assert.deepEqual(mergeLayoutBoxes(boxes, 'union', LABELS), boxes);
    assert.deepEqual(mergeLayoutBoxes(boxes, 'large', LABELS), [table, formulaInTable, lone]);
    assert.deepEqual(mergeLayoutBoxes(boxes, 'small', LABELS), [textInTable, formulaInTable, lone]);
  });

  test('per class: large counts only containers of that class, small only contained boxes of that class', () => {
    assert.deepEqual(mergeLayoutBoxes(boxes, { 1: 'large' }, LABELS), [table, formulaInTable, lone]);
    assert.deepEqual(mergeLayoutBoxes(boxes, { 0: 'large' }, LABELS), boxes, 'no text box contains another');
    assert.deepEqual(mergeLayoutBoxes(boxes, { 0: 'small' }, LABELS), [textInTable, formulaInTable, lone]);
    assert.deepEqual(mergeLayoutBoxes(boxes, { 1: 'small' }, LABELS), boxes, 'the table is inside nothing');
    assert.deepEqual(mergeLayoutBoxes(boxes, { 0: 'union', 1: 'large' }, LABELS), [table, formulaInTable, lone]);
  });

  test('contained means at least 90% of the inner box area', () => {
    const outer = box(1, 0.9, [10, 0, 200, 10]);
    const exactly90 = box(0, 0.8, [0, 0, 100, 10]); // 90 of 100 columns inside
    const only89 = box(0, 0.7, [0, 20, 100, 30]);
    const outer2 = box(1, 0.6, [11, 20, 200, 30]); // 89 of 100 columns inside
    assert.deepEqual(mergeLayoutBoxes([outer, exactly90], 'large', LABELS), [outer]);
    assert.deepEqual(mergeLayoutBoxes([only89, outer2], 'large', LABELS), [only89, outer2]);
  });

  test('a formula inside a formula counts', () => {
    const big = box(2, 0.9, [0, 0, 100, 100]);
    const small = box(2, 0.8, [10, 10, 50, 50]);
    assert.deepEqual(mergeLayoutBoxes([big, small], 'large', LABELS), [big]);
  });
});

describe('layout_unclip_ratio', () => {
  const text = box(0, 0.9, [10, 20, 110, 70]); // 100 × 50, centre (60, 45)
  const table = box(1, 0.8, [0, 0, 10, 10]);

  test('a number scales both sides about the centre; a pair each side', () => {
    assert.deepEqual(unclipLayoutBoxes([text], 1.5)[0]!.coordinate, [-15, 7.5, 135, 82.5]);
    assert.deepEqual(unclipLayoutBoxes([text], [1.2, 1])[0]!.coordinate, [0, 20, 120, 70]);
  });

  test('per class: only the listed classes; the result is clipped to the image at the end', () => {
    const out = unclipLayoutBoxes([text, table], { 1: [2, 2] });
    assert.deepEqual(out[0]!.coordinate, [10, 20, 110, 70]);
    assert.deepEqual(out[1]!.coordinate, [-5, -5, 15, 15]);
    const final = layoutPostprocess([text, table], { width: 100, height: 100 }, LABELS, { layoutUnclipRatio: { 1: [2, 2] } });
    assert.deepEqual(coords(final), [
      [0, 0.9, 10, 20, 100, 70],
      [1, 0.8, 0, 0, 15, 15],
    ]);
  });
});

describe('the rest of PaddleX layout post-processing', () => {
  test('an image box over 93% of a portrait page (82% of a landscape one) is dropped, unless it is alone', () => {
    const text = box(0, 0.9, [0, 0, 10, 10]);
    const portraitImage = box(3, 0.8, [0, 0, 100, 190]); // 95% of 100 × 200
    assert.deepEqual(layoutPostprocess([text, portraitImage], { width: 100, height: 200 }, LABELS, {}), [text]);
    assert.deepEqual(layoutPostprocess([portraitImage], { width: 100, height: 200 }, LABELS, {}), [portraitImage]);
    const landscapeImage = box(3, 0.8, [0, 0, 180, 95]); // 85.5% of 200 × 100
    const smallerImage = box(3, 0.8, [0, 0, 160, 100]); // 80%
    assert.deepEqual(layoutPostprocess([text, landscapeImage], { width: 200, height: 100 }, LABELS, {}), [text]);
    assert.deepEqual(layoutPostprocess([text, smallerImage], { width: 200, height: 100 }, LABELS, {}), [text, smallerImage]);
  });

  test('boxes are clipped to the image and dropped when nothing is left', () => {
    const outside = box(0, 0.9, [120, 0, 150, 10]);
    const partly = box(0, 0.8, [-10, 90, 50, 130]);
    assert.deepEqual(coords(layoutPostprocess([outside, partly], { width: 100, height: 100 }, LABELS, {})), [[0, 0.8, 0, 90, 50, 100]]);
  });
});

describe('layout_detection model family on a fixture with RT-DETR-H_layout_3cls I/O', () => {
  // labels of the real RT-DETR-H_layout_3cls: image, table, seal
  const BOXES: FixedBox[] = [
    { classId: 1, score: 0.95, box: [0.1, 0.1, 0.9, 0.5] },
    { classId: 1, score: 0.7, box: [0.12, 0.1, 0.9, 0.5] },
    { classId: 2, score: 0.9, box: [0.6, 0.6, 0.9, 0.9] },
    { classId: 0, score: 0.4, box: [0.1, 0.6, 0.4, 0.9] },
    { classId: 0, score: 0.8, box: [-0.05, 0.55, 0.45, 0.95] },
  ];
  const photo = () => readTestImage(path.join(OPENCV_DATA, 'fruits.jpg'));
  const load = async (params: Record<string, unknown> = {}) => {
    const dir = await fixedBoxDetectorDir('RT-DETR-H_layout_3cls', BOXES);
    return LayoutDetector.load(await fixtureSubModule('layout_detection', dir, params), cpuRuntime(), 'SubModules.LayoutDetection');
  };

  test('the model name picks the family; the real label list names the classes', async () => {
    for (const name of ['RT-DETR-H_layout_3cls', 'PP-DocLayout_plus-L', 'PP-DocLayout-S', 'PicoDet-L_layout_3cls', 'PP-DocBlockLayout']) {
      assert.equal(moduleOfModelName(name), 'layout_detection', name);
    }
    const detector = await load();
    assert.deepEqual(detector.classNames, ['image', 'table', 'seal']);
  });

  test('defaults of the real inference.yml: draw_threshold 0.5, no NMS; boxes in original pixels, clipped', async () => {
    const img = await photo();
    const [boxes] = await (await load()).predict([img]);
    const [t1, t2, seal, , image] = boxesInPixels(BOXES, img.width, img.height);
    assert.deepEqual(
      boxes!.map((b) => [b.label, b.score]),
      [
        ['table', 0.95],
        ['table', 0.7],
        ['seal', 0.9],
        ['image', 0.8],
      ].map(([l, s]) => [l, Math.fround(s as number)]),
    );
    const expected = [t1!, t2!, seal!, [0, image![1], image![2], Math.min(img.height, image![3])]];
    boxes!.forEach((b, i) => b.coordinate.forEach((v, k) => assert.ok(Math.abs(v - expected[i]![k]!) < 1e-3, `box ${i}: ${b.coordinate}`)));
  });

  test('request settings: layoutNms, a per-class threshold map (grouped by class), unclip per class', async () => {
    const img = await photo();
    const detector = await load();
    const [nms] = await detector.predict([img], { layoutNms: true });
    assert.deepEqual(
      nms!.map((b) => b.label),
      ['table', 'seal', 'image'],
      'the duplicate table is suppressed; kept boxes by score',
    );
    const [perClass] = await detector.predict([img], { threshold: { 2: 0.95 } });
    assert.deepEqual(
      perClass!.map((b) => [b.label, b.score]),
      [
        ['image', Math.fround(0.8)],
        ['table', Math.fround(0.95)],
        ['table', Math.fround(0.7)],
      ],
    );
    const [unclipped] = await detector.predict([img], { layoutUnclipRatio: { 2: [2, 2] }, threshold: 0.85 });
    const [, , seal] = boxesInPixels(BOXES, img.width, img.height);
    const [x1, y1, x2, y2] = seal!;
    const expected = [
      x1 - (x2 - x1) / 2,
      y1 - (y2 - y1) / 2,
      Math.min(img.width, x2 + (x2 - x1) / 2),
      Math.min(img.height, y2 + (y2 - y1) / 2),
    ];
    unclipped![1]!.coordinate.forEach((v, k) => assert.ok(Math.abs(v - expected[k]!) < 1e-3, `${unclipped![1]!.coordinate}`));
  });

  test('sub-module defaults as PaddleX takes them; a request false cannot turn the YAML layout_nms off (Python `or`)', async () => {
    const img = await photo();
    const detector = await load({ threshold: 0.75, layout_nms: true, layout_merge_bboxes_mode: 'large' });
    for (const layoutNms of [undefined, false]) {
      const [boxes] = await detector.predict([img], { layoutNms });
      assert.deepEqual(
        boxes!.map((b) => b.label),
        ['table', 'seal', 'image'],
      );
    }
    const [lower] = await detector.predict([img], { threshold: 0.3 });
    assert.equal(
      lower!.length,
      3,
      'the request threshold wins, the NMS still applies; the low image box is inside the other → large drops it',
    );
  });

  test('settings are checked where they are read: a bad merge mode in the YAML is a ConfigError naming the key', async () => {
    await assert.rejects(
      load({ layout_merge_bboxes_mode: 'biggest' }),
      (err) => err instanceof ConfigError && /layout_merge_bboxes_mode/.test(err.message),
    );
    await assert.rejects(
      load({ layout_unclip_ratio: [1, 2, 3] }),
      (err) => err instanceof ConfigError && /layout_unclip_ratio/.test(err.message),
    );
  });

  test('the real PicoDet layout export without post-process (NMS in infer_cfg.yml) is refused with what to do', async () => {
    const inferCfg = YAML.parse(await readFile(path.join(PADDLE_MODELS, 'picodet_lcnet_x1_0_fgd_layout_infer', 'infer_cfg.yml'), 'utf8'));
    const dir = await fixedBoxDetectorDir('PicoDet_layout_1x', BOXES, { ...inferCfg, Global: { model_name: 'PicoDet_layout_1x' } });
    await assert.rejects(
      LayoutDetector.load(await fixtureSubModule('layout_detection', dir), cpuRuntime(), 'SubModules.LayoutDetection'),
      (err) => err instanceof ConfigError && /export it with post-process/.test(err.message),
    );
  });
});
