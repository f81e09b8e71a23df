import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import YAML from 'yaml';
import type { SubModuleConfig } from '../src/config/pipelineConfig.js';
import { ApiError, ConfigError } from '../src/errors.js';
import type { RgbImage } from '../src/io/image.js';
import { detResizeShape, type LimitType, TextDetector, type TextDetParams } from '../src/models/textDetection.js';
import { loadCv, matFromRgb, rgbFromMat, withMats, type CV } from '../src/ops/cv.js';
import { dbPostprocess, sortQuadBoxes, unclip, type Point } from '../src/ops/dbPostprocess.js';
import { cropMinAreaRect, cropQuad, rotateImage, rotateImageLikePaddleX } from '../src/ops/quad.js';
import { cpuRuntime, resolveSubModule } from './helpers/fixtures.js';
import { SHARED_MODELS } from './helpers/paths.js';
import { decodeToRgb, findInkLines, renderTextImage, type InkBox } from './helpers/textImages.js';

const rt = cpuRuntime(2);

const V4_DET: SubModuleConfig = { module_name: 'text_detection', model_name: 'PP-OCRv4_mobile_det' };

function bounds(quad: Point[]) {
  const xs = quad.map((p) => p[0]);
  const ys = quad.map((p) => p[1]);
  return { x0: Math.min(...xs), x1: Math.max(...xs), y0: Math.min(...ys), y1: Math.max(...ys) };
}

/** Angle of the top edge (first → second corner), degrees, clockwise positive in image coordinates. */
function topEdgeAngle(quad: Point[]): number {
  const [[x0, y0], [x1, y1]] = quad as [Point, Point];
  return (Math.atan2(y1 - y0, x1 - x0) * 180) / Math.PI;
}

/**
 * The quad covers the ink of its line and is not much larger. DB boxes hug the text: with
 * unclip_ratio 1.5 their ends may stop short of the outermost glyph strokes by up to ~15% of the
 * line height, so that much (at least `minSlack` px) is allowed.
 */
function assertBoxHoldsLine(quad: Point[], ink: InkBox, minSlack: number, label: string): void {
  const b = bounds(quad);
  const inkHeight = ink.y1 - ink.y0;
  const slack = Math.max(minSlack, Math.round(0.2 * inkHeight));
  const detail = `${label}: box ${JSON.stringify(b)} vs ink ${JSON.stringify(ink)}, slack ${slack}`;
  assert.ok(b.x0 <= ink.x0 + slack && b.x1 >= ink.x1 - slack, `left/right edge misses the ink, ${detail}`);
  assert.ok(b.y0 <= ink.y0 + slack && b.y1 >= ink.y1 - slack, `top/bottom edge misses the ink, ${detail}`);
  assert.ok(b.y1 - b.y0 <= 2 * inkHeight, `box much taller than the line, ${detail}`);
  assert.ok(b.x0 >= ink.x0 - inkHeight && b.x1 <= ink.x1 + inkHeight, `box much wider than the line, ${detail}`);
}

describe('detResizeShape (DetResizeForTest, limit-side mode)', () => {
  const limits = (limitSideLen: number, limitType: LimitType, maxSideLimit = 4000) => ({ limitSideLen, limitType, maxSideLimit });

  it("'max' shrinks the long side to the limit and keeps small images", () => {
    assert.deepEqual(detResizeShape(1000, 500, limits(960, 'max')), { width: 960, height: 480 });
    assert.deepEqual(detResizeShape(500, 2000, limits(960, 'max')), { width: 256, height: 960 });
    // 800×533 is under the limit: only rounded to multiples of 32 (533/32 = 16.7 → 17).
    assert.deepEqual(detResizeShape(800, 533, limits(960, 'max')), { width: 800, height: 544 });
  });

  it("'min' grows the short side to the limit and keeps large images", () => {
    assert.deepEqual(detResizeShape(100, 50, limits(64, 'min')), { width: 128, height: 64 });
    assert.deepEqual(detResizeShape(40, 90, limits(64, 'min')), { width: 64, height: 128 });
    // 200/32 = 6.25 → 6, 100/32 = 3.125 → 3
    assert.deepEqual(detResizeShape(200, 100, limits(64, 'min')), { width: 192, height: 96 });
  });

  it('caps the long side at max_side_limit after the limit-side scaling', () => {
    // 'min' 736 would make 4000×500 into 5888×736; the cap brings it back to 4000×500.
    assert.deepEqual(detResizeShape(4000, 500, limits(736, 'min')), { width: 4000, height: 512 });
    assert.deepEqual(detResizeShape(3000, 1500, limits(2000, 'max', 1000)), { width: 992, height: 512 });
  });

  it('rounds halves to even as Python does, and never goes below 32', () => {
    // 48/32 = 1.5 → 2; 80/32 = 2.5 → 2; 112/32 = 3.5 → 4
    assert.deepEqual(detResizeShape(48, 80, limits(960, 'max')), { width: 64, height: 64 });
    assert.deepEqual(detResizeShape(112, 10, limits(960, 'max')), { width: 128, height: 32 });
    assert.deepEqual(detResizeShape(5, 5, limits(960, 'max')), { width: 32, height: 32 });
  });

  it("'resize_long' scales the long side to limit_side_len, up or down", () => {
    assert.deepEqual(detResizeShape(100, 50, limits(640, 'resize_long')), { width: 640, height: 320 });
    assert.deepEqual(detResizeShape(2000, 1000, limits(640, 'resize_long')), { width: 640, height: 320 });
  });
});

describe('DB post-processing on synthetic probability maps', () => {
  let cv: CV;
  before(async () => {
    cv = await loadCv();
  });

  const options = { thresh: 0.3, boxThresh: 0.6, unclipRatio: 1.5, maxCandidates: 100 };

  function probabilityMap(width: number, height: number, blobs: Array<{ x: number; y: number; w: number; h: number; p: number }>) {
    const data = new Float32Array(width * height);
    for (const b of blobs) {
      for (let y = b.y; y < b.y + b.h; y++) for (let x = b.x; x < b.x + b.w; x++) data[y * width + x] = b.p;
    }
    return { width, height, data };
  }

  it('grows a box by area × unclip_ratio / perimeter on every side', () => {
    // Pixels x 50..149, y 40..59: the contour's min-area box is 99 × 19 with corners on pixel centres.
    const map = probabilityMap(200, 100, [{ x: 50, y: 40, w: 100, h: 20, p: 0.9 }]);
    for (const ratio of [1.5, 3]) {
      const distance = (99 * 19 * ratio) / (2 * (99 + 19));
      const found = dbPostprocess(cv, map, 200, 100, { ...options, unclipRatio: ratio });
      assert.equal(found.polys.length, 1);
      assert.ok(Math.abs(found.scores[0]! - 0.9) < 1e-6, `score ${found.scores[0]}`);
      const b = bounds(found.polys[0]!);
      const expected = { x0: 50 - distance, x1: 149 + distance, y0: 40 - distance, y1: 59 + distance };
      for (const side of ['x0', 'x1', 'y0', 'y1'] as const) {
        assert.ok(Math.abs(b[side] - expected[side]) <= 1, `ratio ${ratio} ${side}: ${b[side]} vs ${expected[side].toFixed(2)}`);
      }
      assert.ok(found.polys[0]!.flat().every(Number.isInteger), 'integer coordinates');
    }
  });

  it('scales boxes from the map to the destination size and clips them to the image', () => {
    const map = probabilityMap(200, 100, [{ x: 0, y: 40, w: 100, h: 20, p: 0.9 }]);
    const found = dbPostprocess(cv, map, 400, 200, options);
    assert.equal(found.polys.length, 1);
    const distance = (99 * 19 * 1.5) / (2 * (99 + 19));
    const b = bounds(found.polys[0]!);
    assert.equal(b.x0, 0, 'clipped at the left border');
    assert.ok(Math.abs(b.x1 - 2 * (99 + distance)) <= 2, `x1 ${b.x1}`);
    assert.ok(Math.abs(b.y0 - 2 * (40 - distance)) <= 2, `y0 ${b.y0}`);
    assert.ok(Math.abs(b.y1 - 2 * (59 + distance)) <= 2, `y1 ${b.y1}`);
  });

  it('orders corners clockwise from the top-left', () => {
    const found = dbPostprocess(cv, probabilityMap(200, 100, [{ x: 50, y: 40, w: 100, h: 20, p: 0.9 }]), 200, 100, options);
    const [tl, tr, br, bl] = found.polys[0]! as [Point, Point, Point, Point];
    assert.ok(tl[0] < tr[0] && tl[1] === tr[1], 'top edge left to right');
    assert.ok(br[0] === tr[0] && br[1] > tr[1], 'right edge downwards');
    assert.ok(bl[0] === tl[0] && bl[1] === br[1], 'bottom-left last');
  });

  it('drops thin, unconfident and surplus candidates', () => {
    const map = probabilityMap(300, 100, [
      { x: 10, y: 10, w: 80, h: 20, p: 0.9 }, // kept
      { x: 10, y: 50, w: 80, h: 2, p: 0.9 }, // short side 1 < 3
      { x: 120, y: 10, w: 80, h: 20, p: 0.5 }, // above thresh, below box_thresh
    ]);
    assert.equal(dbPostprocess(cv, map, 300, 100, options).polys.length, 1);
    assert.equal(dbPostprocess(cv, map, 300, 100, { ...options, boxThresh: 0.4 }).polys.length, 2);
    assert.equal(dbPostprocess(cv, map, 300, 100, { ...options, thresh: 0.6 }).polys.length, 1);
    const many = probabilityMap(
      300,
      100,
      [0, 1, 2, 3].map((i) => ({ x: 10 + 70 * i, y: 40, w: 60, h: 20, p: 0.9 })),
    );
    assert.equal(dbPostprocess(cv, many, 300, 100, options).polys.length, 4);
    assert.equal(dbPostprocess(cv, many, 300, 100, { ...options, maxCandidates: 2 }).polys.length, 2);
  });

  it('unclip offsets a polygon with rounded corners', () => {
    const square: Point[] = [
      [0, 0],
      [100, 0],
      [100, 100],
      [0, 100],
    ];
    const grown = unclip(square, 1); // distance = 10000 / 400 = 25
    const b = bounds(grown);
    for (const [got, want] of [
      [b.x0, -25],
      [b.y0, -25],
      [b.x1, 125],
      [b.y1, 125],
    ] as const)
      assert.ok(Math.abs(got - want) <= 1, `${got} vs ${want}`);
    assert.ok(grown.length > 8, 'round joins add arc points at the corners');
    const cornerArc = grown.filter(([x, y]) => x > 100 && y > 100);
    assert.ok(
      cornerArc.length > 0 && cornerArc.every(([x, y]) => Math.abs(Math.hypot(x - 100, y - 100) - 25) <= 1),
      'arc around the corner at the offset distance',
    );
  });

  it('sorts boxes top to bottom, and left to right within 10 px', () => {
    const quad = (x: number, y: number): Point[] => [
      [x, y],
      [x + 50, y],
      [x + 50, y + 20],
      [x, y + 20],
    ];
    const sorted = sortQuadBoxes({ polys: [quad(300, 105), quad(10, 200), quad(200, 100), quad(10, 108)], scores: [1, 2, 3, 4] });
    assert.deepEqual(
      sorted.polys.map((p) => p[0]),
      [
        [10, 108],
        [200, 100],
        [300, 105],
        [10, 200],
      ],
    );
    assert.deepEqual(sorted.scores, [4, 3, 1, 2]);
  });
});

describe('quad crops and rotations', () => {
  let cv: CV;
  before(async () => {
    cv = await loadCv();
  });

  /** R = x, G = y, B = 7: each pixel says where it came from. */
  function coordinateImage(width: number, height: number): RgbImage {
    const data = new Uint8Array(width * height * 3);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) data.set([x, y, 7], (y * width + x) * 3);
    }
    return { width, height, data };
  }
  const pixel = (img: RgbImage, x: number, y: number) => [...img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3)];

  it('cropQuad of an axis-aligned rectangle copies exactly those pixels', () => {
    const crop = cropQuad(cv, coordinateImage(100, 80), [
      [10, 20],
      [60, 20],
      [60, 40],
      [10, 40],
    ]);
    assert.equal(crop.width, 50);
    assert.equal(crop.height, 20);
    for (let y = 0; y < crop.height; y++) for (let x = 0; x < crop.width; x++) assert.deepEqual(pixel(crop, x, y), [10 + x, 20 + y, 7]);
  });

  it('cropQuad turns a tall crop 90° counter-clockwise', () => {
    const crop = cropQuad(cv, coordinateImage(100, 80), [
      [10, 5],
      [25, 5],
      [25, 75],
      [10, 75],
    ]);
    assert.equal(crop.width, 70);
    assert.equal(crop.height, 15);
    // After np.rot90 the crop's right column (x = 24) is the top row and its top row the left column.
    for (let y = 0; y < crop.height; y++) for (let x = 0; x < crop.width; x++) assert.deepEqual(pixel(crop, x, y), [24 - y, 5 + x, 7]);
  });

  it('cropQuad straightens a rotated rectangle', () => {
    // A 120 × 40 red rectangle turned 20° about its centre, painted on white.
    const angle = (20 * Math.PI) / 180;
    const corner = (u: number, v: number, inset = 0): Point => {
      const du = u - Math.sign(u) * inset;
      const dv = v - Math.sign(v) * inset;
      return [100 + du * Math.cos(angle) - dv * Math.sin(angle), 100 + du * Math.sin(angle) + dv * Math.cos(angle)];
    };
    const outline = (inset: number) => [corner(-60, -20, inset), corner(60, -20, inset), corner(60, 20, inset), corner(-60, 20, inset)];
    const canvas = withMats((track) => {
      const mat = track(matFromRgb(cv, { width: 200, height: 200, data: new Uint8Array(200 * 200 * 3).fill(255) }));
      const polygon = track(cv.matFromArray(4, 1, cv.CV_32SC2, outline(0).flat().map(Math.round)));
      const polygons = track(new cv.MatVector());
      polygons.push_back(polygon);
      cv.fillPoly(mat, polygons, new cv.Scalar(200, 30, 30));
      return rgbFromMat(mat);
    });
    const crop = cropQuad(cv, canvas, outline(3));
    assert.equal(crop.width, 114);
    assert.equal(crop.height, 34);
    let red = 0;
    for (let i = 0; i < crop.width * crop.height; i++) {
      const [r, g, b] = crop.data.subarray(i * 3, i * 3 + 3);
      if (Math.abs(r! - 200) < 20 && g! < 60 && b! < 60) red++;
    }
    assert.ok(red / (crop.width * crop.height) > 0.99, `only ${red} of ${crop.width * crop.height} crop pixels are the rectangle's`);
    // The same rectangle grown by 10 px shows white margins on both sides.
    const wide = cropQuad(cv, canvas, outline(-10));
    assert.deepEqual(pixel(wide, 2, wide.height >> 1), [255, 255, 255]);
    assert.deepEqual(pixel(wide, wide.width - 3, wide.height >> 1), [255, 255, 255]);
    assert.deepEqual(pixel(wide, wide.width >> 1, wide.height >> 1), [200, 30, 30]);
  });

  it('cropMinAreaRect boxes an irregular quad first', () => {
    const img = coordinateImage(100, 80);
    const rectangle: Point[] = [
      [10, 20],
      [60, 20],
      [60, 40],
      [10, 40],
    ];
    assert.deepEqual(cropMinAreaRect(cv, img, rectangle), cropQuad(cv, img, rectangle));
    // Corners listed from another start point still give the same upright crop.
    assert.deepEqual(
      cropMinAreaRect(cv, img, [
        [60, 40],
        [10, 40],
        [10, 20],
        [60, 20],
      ]),
      cropQuad(cv, img, rectangle),
    );
  });

  it('rotateImage turns counter-clockwise by quarter turns', () => {
    // 3 wide, 2 high; value = index so the mapping is visible.
    const img: RgbImage = { width: 3, height: 2, data: new Uint8Array([0, 1, 2, 3, 4, 5].flatMap((v) => [v, v, v])) };
    const firstChannel = (r: RgbImage) => [...r.data.filter((_, i) => i % 3 === 0)];
    const r90 = rotateImage(img, 90);
    assert.deepEqual([r90.width, r90.height], [2, 3]);
    assert.deepEqual(firstChannel(r90), [2, 5, 1, 4, 0, 3]);
    const r180 = rotateImage(img, 180);
    assert.deepEqual([r180.width, r180.height], [3, 2]);
    assert.deepEqual(firstChannel(r180), [5, 4, 3, 2, 1, 0]);
    const r270 = rotateImage(img, 270);
    assert.deepEqual(firstChannel(r270), [3, 0, 4, 1, 5, 2]);
    assert.deepEqual(rotateImage(r90, 270), img);
  });

  it("rotateImageLikePaddleX(180) is PaddleX's rotate_image: one pixel off a flip, black first row and column", () => {
    // 4 wide, 3 high; values 10..21 so the black border is distinguishable.
    const values = Array.from({ length: 12 }, (_, i) => 10 + i);
    const img: RgbImage = { width: 4, height: 3, data: new Uint8Array(values.flatMap((v) => [v, v, v])) };
    const turned = rotateImageLikePaddleX(cv, img, 180);
    assert.deepEqual([turned.width, turned.height], [4, 3]);
    // out(x, y) = in(w − x, h − y) for x, y ≥ 1 (cv2.warpAffine about (w/2, h/2)), 0 outside.
    const expected = Array.from({ length: 12 }, (_, i) => {
      const x = i % 4;
      const y = Math.floor(i / 4);
      return x === 0 || y === 0 ? 0 : values[(3 - y) * 4 + (4 - x)]!;
    });
    assert.deepEqual([...turned.data.filter((_, i) => i % 3 === 0)], expected);
    assert.equal(rotateImageLikePaddleX(cv, img, 0), img);
  });
});

describe('TextDetector with PP-OCRv4_mobile_det (catalog)', () => {
  let detector: TextDetector;
  before(async () => {
    detector = await TextDetector.load(resolveSubModule(V4_DET), rt, 'SubModules.TextDetection');
  });

  async function detectRendered(lines: string[], opts: Parameters<typeof renderTextImage>[1], params?: Partial<TextDetParams>) {
    const { png } = await renderTextImage(lines, opts);
    const img = await decodeToRgb(png);
    const result = await detector.predict(img, { ...detector.defaults, ...params });
    return { img, ...result };
  }

  it("takes PaddleX's OCR pipeline defaults (general text) for keys the YAML omits, not inference.yml's", () => {
    // The catalog's inference.yml says unclip_ratio 1.5; PaddleX's pipeline passes its own 2.0 over it.
    assert.deepEqual(detector.defaults, {
      limitSideLen: 960,
      limitType: 'max',
      maxSideLimit: 4000,
      thresh: 0.3,
      boxThresh: 0.6,
      unclipRatio: 2.0,
      maxCandidates: 1000,
    });
  });

  it("replaces zero and empty parameters with the defaults, as PaddleX's `or` does (max_side_limit excepted)", () => {
    const requested = { ...detector.defaults, limitSideLen: 0, limitType: '' as const, thresh: 0, boxThresh: 0, unclipRatio: 0 };
    assert.deepEqual(detector.effectiveParams(requested), detector.defaults);
    const kept = {
      ...detector.defaults,
      limitSideLen: 64,
      limitType: 'resize_long' as const,
      thresh: 0.2,
      boxThresh: 0.5,
      unclipRatio: 1.5,
    };
    assert.deepEqual(detector.effectiveParams(kept), kept);
  });

  it('pads an image whose sides add up to less than 64 to 32×32 (black) instead of stretching it', async () => {
    // A 30×12 white strip: stretched to 32×32 it would fill the input; padded, the boxes stay inside 30×12.
    const strip: RgbImage = { width: 30, height: 12, data: new Uint8Array(30 * 12 * 3).fill(255) };
    const { polys } = await detector.predict(strip, detector.defaults);
    for (const poly of polys) for (const [x, y] of poly) assert.ok(x <= 30 && y <= 12, JSON.stringify(polys));
  });

  const paragraphs = [
    {
      font: 'DejaVu Sans',
      fontSize: 32,
      lines: ['The quick brown fox jumps over', 'the lazy dog near the river bank.', 'Pack my box with five dozen jugs.'],
    },
    {
      font: 'Liberation Serif',
      fontSize: 28,
      lines: [
        'Invoice number 20481 issued in May',
        'Total amount due: 1,234.50 EUR',
        'Payment within thirty days',
        'Questions? Write to the office.',
        'Thank you for your business!',
        'Serving since 1998 & counting',
      ],
    },
  ];

  for (const { font, fontSize, lines } of paragraphs) {
    it(`finds one box per line, in reading order, on ${lines.length} lines of ${font}`, async () => {
      const { img, polys, scores } = await detectRendered(lines, { fontFamily: font, fontSize });
      const inkLines = findInkLines(img);
      assert.equal(inkLines.length, lines.length, 'the rendering itself has one ink band per line');
      assert.equal(polys.length, lines.length, `boxes: ${JSON.stringify(polys)}`);
      assert.equal(scores.length, polys.length);
      polys.forEach((quad, i) => {
        assert.equal(quad.length, 4);
        assert.ok(quad.flat().every(Number.isInteger), 'integer coordinates');
        assertBoxHoldsLine(quad, inkLines[i]!, 3, `line ${i} "${lines[i]}"`);
        assert.ok(scores[i]! >= detector.defaults.boxThresh && scores[i]! <= 1, `score ${scores[i]}`);
      });
    });
  }

  it('gives one quad per line, tilted like the text, on text rotated by 5°', async () => {
    const lines = ['Rotated text should still be found', 'one quadrilateral for every line', 'and kept in top to bottom order'];
    const { polys } = await detectRendered(lines, { fontFamily: 'DejaVu Serif', fontSize: 30, rotateDeg: 5 });
    assert.equal(polys.length, lines.length, `boxes: ${JSON.stringify(polys)}`);
    for (const quad of polys) {
      const angle = topEdgeAngle(quad);
      assert.ok(Math.abs(angle - 5) < 1.5, `top edge at ${angle.toFixed(2)}°`);
    }
    const centres = polys.map((q) => q.reduce((sum, p) => sum + p[1], 0) / 4);
    assert.deepEqual(
      [...centres].sort((a, b) => a - b),
      centres,
      'top to bottom',
    );
  });

  it('maps boxes back to the original size when the input is shrunk', async () => {
    const lines = ['Shrunk for the network,', 'boxes still land on the text'];
    const { img, polys } = await detectRendered(lines, { fontSize: 40 }, { limitSideLen: 400 });
    assert.ok(img.width > 800, 'the image is more than twice the limit');
    const inkLines = findInkLines(img);
    assert.equal(polys.length, lines.length);
    polys.forEach((quad, i) => assertBoxHoldsLine(quad, inkLines[i]!, 6, `line ${i}`));
  });

  it('box_thresh only filters: a higher one keeps exactly the boxes scoring above it', async () => {
    const lines = ['first line of text', 'a second, longer line of text', 'third', 'the fourth line here'];
    const base = await detectRendered(lines, { fontFamily: 'Liberation Sans' });
    assert.equal(base.polys.length, lines.length);
    const sortedScores = [...base.scores].sort((a, b) => a - b);
    const cut = (sortedScores[1]! + sortedScores[2]!) / 2;
    const strict = await detector.predict(base.img, { ...detector.defaults, boxThresh: cut });
    assert.equal(strict.polys.length, 2);
    assert.deepEqual(
      strict.polys,
      base.polys.filter((_, i) => base.scores[i]! >= cut),
    );
  });

  it('rejects out-of-range parameters with a 422', async () => {
    const img: RgbImage = { width: 32, height: 32, data: new Uint8Array(32 * 32 * 3).fill(255) };
    await assert.rejects(detector.predict(img, { ...detector.defaults, thresh: 1.5 }), (err: unknown) => {
      assert.ok(err instanceof ApiError);
      assert.equal(err.status, 422);
      assert.match(err.message, /thresh must be between 0 and 1/);
      return true;
    });
    await assert.rejects(
      detector.predict(img, { ...detector.defaults, limitType: 'long' as 'max' }),
      /limit_type must be one of "min", "max", "resize_long"/,
    );
  });

  it('finds nothing on a blank page', async () => {
    const blank: RgbImage = { width: 300, height: 200, data: new Uint8Array(300 * 200 * 3).fill(255) };
    assert.deepEqual(await detector.predict(blank, detector.defaults), { polys: [], scores: [] });
  });
});

describe('TextDetector configuration', () => {
  it('pipeline YAML params override inference.yml', async () => {
    const detector = await TextDetector.load(
      resolveSubModule({
        ...V4_DET,
        limit_side_len: 64,
        limit_type: 'min',
        max_side_limit: 2000,
        thresh: 0.2,
        box_thresh: 0.5,
        unclip_ratio: 2,
      }),
      rt,
      'SubModules.TextDetection',
    );
    assert.deepEqual(detector.defaults, {
      limitSideLen: 64,
      limitType: 'min',
      maxSideLimit: 2000,
      thresh: 0.2,
      boxThresh: 0.5,
      unclipRatio: 2,
      maxCandidates: 1000,
    });
  });

  it('reports bad YAML params with their key path', async () => {
    await assert.rejects(
      TextDetector.load(resolveSubModule({ ...V4_DET, limit_type: 'long' }), rt, 'SubModules.TextDetection'),
      (err: unknown) => err instanceof ConfigError && /SubModules\.TextDetection\.limit_type/.test(err.message),
    );
  });

  it('refuses post-processing it does not implement', async () => {
    const sub = resolveSubModule(V4_DET);
    const inferenceConfig = { ...sub.resolved.inferenceConfig, PostProcess: { name: 'DBPostProcess', box_type: 'rbox' } };
    await assert.rejects(
      TextDetector.load({ ...sub, resolved: { ...sub.resolved, inferenceConfig } }, rt, 'SubModules.TextDetection'),
      (err: unknown) => err instanceof ConfigError && /PostProcess\.box_type/.test(err.message),
    );
  });

  it('PP-OCRv3 (model_dir with inference.yml) finds the lines of a street sign', async () => {
    const modelDir = path.join(SHARED_MODELS, 'PP-OCRv3_en/det');
    const detector = await TextDetector.load(
      resolveSubModule({ module_name: 'text_detection', model_name: 'PP-OCRv3_mobile_det', model_dir: modelDir }),
      rt,
      'SubModules.TextDetection',
    );
    // PaddleX's pipeline defaults for general text, whatever the model's inference.yml says
    assert.equal(detector.defaults.limitSideLen, 960);
    assert.equal(detector.defaults.unclipRatio, 2.0);
    const img = await decodeToRgb(await readFile(path.join(SHARED_MODELS, 'PP-OCRv3_en/sample.jpg')));
    const { polys } = await detector.predict(img, detector.defaults);
    assert.ok(polys.length >= 5, `found ${polys.length} boxes`);
    // "Ministry of Land, Infrastructure, Transport and Tourism" runs from x ≈ 295 to 750 around y ≈ 275.
    const ministry = polys.map(bounds).find((b) => b.x0 < 310 && b.x1 > 740 && b.y0 > 255 && b.y1 < 300);
    assert.ok(ministry, `no box on the long English line: ${JSON.stringify(polys.map(bounds))}`);
  });
});

describe('PaddleX 3.x detector exports by model_dir alone', () => {
  it('PP-OCRv6_small_det int8 (QDQ), output fetch_name_0: finds both lines of a rendered image', async () => {
    // The fixture ships no inference.yml; this one follows PaddleX's PP-OCRv5/v6 detector exports
    // (BGR DecodeImage, the training-only DetLabelEncode/KeepKeys entries, ImageNet normalisation, DBPostProcess).
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pipeserve-v6det-'));
    try {
      await copyFile(path.join(SHARED_MODELS, 'PP-OCRv6_small_det_int8/inference.onnx'), path.join(dir, 'inference.onnx'));
      await writeFile(
        path.join(dir, 'inference.yml'),
        YAML.stringify({
          Global: { model_name: 'PP-OCRv6_small_det' },
          PreProcess: {
            transform_ops: [
              { DecodeImage: { channel_first: false, img_mode: 'BGR' } },
              { DetLabelEncode: null },
              { DetResizeForTest: { resize_long: 960 } },
              { NormalizeImage: { mean: [0.485, 0.456, 0.406], order: 'hwc', scale: '1./255.', std: [0.229, 0.224, 0.225] } },
              { ToCHWImage: null },
              { KeepKeys: { keep_keys: ['image', 'shape', 'polys', 'ignore_tags'] } },
            ],
          },
          PostProcess: { name: 'DBPostProcess', thresh: 0.3, box_thresh: 0.6, max_candidates: 1000, unclip_ratio: 1.5 },
        }),
      );
      const detector = await TextDetector.load(
        resolveSubModule({
          module_name: 'text_detection',
          model_name: 'PP-OCRv6_small_det',
          model_dir: dir,
          limit_side_len: 64,
          limit_type: 'min',
        }),
        rt,
        'SubModules.TextDetection',
      );
      const { png } = await renderTextImage(['Invoice 2024-0117', 'Total due: 318.40 EUR'], { fontSize: 32, width: 640 });
      const img = await decodeToRgb(png);
      const ink = findInkLines(img);
      const { polys } = await detector.predict(img, detector.defaults);
      assert.equal(polys.length, 2, JSON.stringify(polys));
      polys.map(bounds).forEach((box, i) => {
        assert.ok(box.y0 <= ink[i]!.y0 && box.y1 >= ink[i]!.y1 - 1, `line ${i}: ${JSON.stringify(box)} vs ink ${JSON.stringify(ink[i])}`);
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
