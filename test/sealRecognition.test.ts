import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createCanvas, loadImage } from '@napi-rs/canvas';
import { decodeImage } from '../src/io/codec.js';
import { loadCv } from '../src/ops/cv.js';
import type { Point } from '../src/ops/dbPostprocess.js';
import { cropCurvedText, mergeShortEdges, resampleLine } from '../src/ops/polyCrop.js';
import { cropMinAreaRect } from '../src/ops/quad.js';
import { fixedBoxDetectorDir, renderStamp, sealDetectorFixtureDir, sealPipelineYaml, STAMP_TEXT } from './helpers/docFixtures.js';
import { assertErrorEnvelope, postJson, type RunningServer, startServer } from './helpers/server.js';
import { renderTextImage } from './helpers/textImages.js';

// Worked examples derived from PaddleX's CropByPolys helpers (crop_image_regions.py).
describe('curved-text crop pieces', () => {
  test('sample_points_on_bbox: runs of short edges become one mean point', () => {
    // edges 10, 1, 10, 1 (mean 5.5): each short edge joins its end point to the group of its start
    const line: Point[] = [
      [0, 0],
      [10, 0],
      [11, 0],
      [21, 0],
      [22, 0],
    ];
    assert.deepEqual(mergeShortEdges(line), [
      [0, 0],
      [10.5, 0],
      [21.5, 0],
    ]);
  });

  test('sample_points_on_bbox_bp: n + 1 evenly spaced points along the polyline, ends kept', () => {
    const line: Point[] = [
      [0, 0],
      [10, 0],
      [10, 10],
    ];
    const out = resampleLine(line, 4);
    assert.equal(out.length, 5);
    const expected = [
      [0, 0],
      [5, 0],
      [10, 0],
      [10, 5],
      [10, 10],
    ];
    out.forEach((p, i) => p.forEach((v, k) => assert.ok(Math.abs(v - expected[i]![k]!) < 1e-6, `${out}`)));
  });
});

const SIDE = 600;
const stamp = renderStamp(SIDE);

/** Whether a point lies in the stamp's text band, with `slack` pixels around it. */
function inBand([x, y]: readonly number[], side: number, offset: [number, number], slack: number): boolean {
  const dx = x! - offset[0] - side / 2;
  const dy = y! - offset[1] - side / 2;
  const r = Math.hypot(dx, dy);
  const angle = Math.abs(Math.atan2(dx, -dy));
  return (
    r >= stamp.band.innerRadius * side - slack && r <= stamp.band.outerRadius * side + slack && angle <= stamp.band.halfAngle + slack / r
  );
}

/** DB's unclip distance for the band (area × 0.5 / perimeter of the annular sector), in pixels, plus rounding slack. */
const UNCLIP_SLACK = (() => {
  const [r1, r2] = [stamp.band.innerRadius * SIDE, stamp.band.outerRadius * SIDE];
  const theta = 2 * stamp.band.halfAngle;
  const area = (theta / 2) * (r2 * r2 - r1 * r1);
  const perimeter = theta * (r1 + r2) + 2 * (r2 - r1);
  return (area * 0.5) / perimeter + 3;
})();

describe('seal_recognition on a rendered round stamp', () => {
  let server: RunningServer;
  let withLayout: RunningServer;
  /** a 1200 × 1200 page with the stamp in its lower middle, at (300, 600) */
  let page: Buffer;
  before(async () => {
    const sealDet = await sealDetectorFixtureDir(stamp.band);
    server = await startServer({ pipelines: [await sealPipelineYaml(sealDet)] });
    const layout = await fixedBoxDetectorDir('RT-DETR-H_layout_3cls', [
      { classId: 1, score: 0.8, box: [0.1, 0.05, 0.9, 0.4] },
      { classId: 2, score: 0.9, box: [0.25, 0.5, 0.75, 1] },
    ]);
    withLayout = await startServer({ pipelines: [await sealPipelineYaml(sealDet, { layoutDir: layout })] });
    const canvas = createCanvas(1200, 1200);
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = 'white';
    ctx.fillRect(0, 0, 1200, 1200);
    ctx.drawImage(await loadImage(stamp.png), 300, 600);
    page = canvas.toBuffer('image/png');
  });
  after(async () => {
    await server?.close();
    await withLayout?.close();
  });

  test('the curved crop straightens the text band: a long low strip, unlike the min-area rectangle', async () => {
    const res = await postJson(`${server.url}/seal-recognition`, { file: stamp.png.toString('base64'), fileType: 1, visualize: false });
    const [polygon] = (res.body as any).result.sealRecResults[0].prunedResult.seal_res_list[0].dt_polys as Point[][];
    const cv = await loadCv();
    const img = await decodeImage(stamp.png, 'stamp.png');
    const curved = cropCurvedText(cv, img, polygon!);
    const rect = cropMinAreaRect(cv, img, polygon!);
    assert.ok(curved.width > 5 * curved.height, `straightened strip ${curved.width}×${curved.height}`);
    assert.ok(rect.width < 3 * rect.height, `min-area rectangle ${rect.width}×${rect.height}`);
  });

  test('without layout: one region, the band polygon, the real recognizer reads the stamp text', async () => {
    const res = await postJson(`${server.url}/seal-recognition`, { file: stamp.png.toString('base64'), fileType: 1 });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [result] = (res.body as any).result.sealRecResults;
    const pruned = result.prunedResult;
    assert.deepEqual(pruned.model_settings, { use_doc_preprocessor: false, use_layout_detection: false });
    assert.equal(pruned.layout_det_res, undefined);
    assert.equal(pruned.seal_res_list.length, 1);
    const seal = pruned.seal_res_list[0];
    assert.equal(seal.text_type, 'seal');
    assert.deepEqual(seal.text_det_params, {
      limit_side_len: 736,
      limit_type: 'min',
      thresh: 0.2,
      max_side_limit: 4000,
      box_thresh: 0.6,
      unclip_ratio: 0.5,
    });
    assert.equal(seal.dt_polys.length, 1);
    const polygon = seal.dt_polys[0] as number[][];
    assert.ok(polygon.length > 8, `a polygon, not a quad (${polygon.length} points)`);
    for (const p of polygon) assert.ok(inBand(p, SIDE, [0, 0], UNCLIP_SLACK), `point ${p} outside the text band`);
    assert.equal(seal.rec_texts.length, 1);
    assert.equal(seal.rec_texts[0].trim(), STAMP_TEXT);
    assert.ok(seal.rec_scores[0] > 0.9, `score ${seal.rec_scores[0]}`);
    const xs = polygon.map((p) => p[0]!);
    const ys = polygon.map((p) => p[1]!);
    assert.deepEqual(seal.rec_boxes, [[Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)]]);
    assert.deepEqual(Object.keys(result.outputImages), ['seal_res_region1']);
    assert.equal(typeof result.inputImage, 'string');
  });

  test('with layout: the seal box is cropped and read, the table box only reported', async () => {
    const res = await postJson(`${withLayout.url}/seal-recognition`, { file: page.toString('base64'), fileType: 1 });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [result] = (res.body as any).result.sealRecResults;
    const pruned = result.prunedResult;
    assert.deepEqual(pruned.model_settings, { use_doc_preprocessor: false, use_layout_detection: true });
    // the YAML's layout_nms (PaddleX's True) keeps the boxes in descending score order: the seal (0.9) first
    assert.deepEqual(
      pruned.layout_det_res.boxes.map((b: any) => [b.cls_id, b.label, b.coordinate.map(Math.round)]),
      [
        [2, 'seal', [300, 600, 900, 1200]],
        [1, 'table', [120, 60, 1080, 480]],
      ],
    );
    assert.equal(pruned.seal_res_list.length, 1);
    const seal = pruned.seal_res_list[0];
    assert.equal(seal.rec_texts[0].trim(), STAMP_TEXT);
    // coordinates are those of the seal crop, as PaddleX reports them
    for (const p of seal.dt_polys[0]) assert.ok(inBand(p, SIDE, [0, 0], UNCLIP_SLACK), `point ${p} outside the text band of the crop`);
    assert.deepEqual(Object.keys(result.outputImages).sort(), ['layout_det_res', 'seal_res_region1']);
  });

  test('visualize false: no images; layout params reach the layout model', async () => {
    const res = await postJson(`${withLayout.url}/seal-recognition`, {
      file: page.toString('base64'),
      fileType: 1,
      visualize: false,
      layoutThreshold: { 2: 0.95 },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [result] = (res.body as any).result.sealRecResults;
    assert.equal(result.outputImages, undefined);
    assert.equal(result.inputImage, undefined);
    assert.deepEqual(
      result.prunedResult.layout_det_res.boxes.map((b: any) => b.label),
      ['table'],
    );
    assert.deepEqual(result.prunedResult.seal_res_list, []);
  });

  test('errors: doc preprocessing or a layout model not loaded → 422 with PaddleX’s message; bad params → 422', async () => {
    const file = stamp.png.toString('base64');
    const docPre = await postJson(`${server.url}/seal-recognition`, { file, fileType: 1, useDocOrientationClassify: true });
    assert.match(assertErrorEnvelope(docPre, 422), /the input params for model settings are invalid!.*DocOrientationClassify/);
    const noLayout = await postJson(`${server.url}/seal-recognition`, { file, fileType: 1, useLayoutDetection: true });
    assert.match(assertErrorEnvelope(noLayout, 422), /the input params for model settings are invalid!.*LayoutDetection/);
    const badMode = await postJson(`${withLayout.url}/seal-recognition`, { file, fileType: 1, layoutMergeBboxesMode: 'biggest' });
    assertErrorEnvelope(badMode, 422);
    const badThresh = await postJson(`${server.url}/seal-recognition`, { file, fileType: 1, sealDetThresh: 2 });
    assertErrorEnvelope(badThresh, 422);
  });
});

describe('seal_recognition with its DocPreprocessor (PaddleX default use_doc_preprocessor: True)', () => {
  let server: RunningServer;
  /** a 1200 × 1200 letter: prose lines on top, the stamp at (300, 600); turned upside down */
  let upsideDown: Buffer;
  before(async () => {
    const layout = await fixedBoxDetectorDir('RT-DETR-H_layout_3cls', [{ classId: 2, score: 0.9, box: [0.25, 0.5, 0.75, 1] }]);
    server = await startServer({
      pipelines: [await sealPipelineYaml(await sealDetectorFixtureDir(stamp.band), { layoutDir: layout, docPreprocessing: {} })],
    });
    const prose = await renderTextImage(
      ['Dear customer, thank you for your order.', 'Your parcel left our warehouse on Monday', 'and should reach you within three days.'],
      { fontSize: 30, lineSpacing: 1.8 },
    );
    const canvas = createCanvas(1200, 1200);
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = 'white';
    ctx.fillRect(0, 0, 1200, 1200);
    ctx.drawImage(await loadImage(Buffer.from(prose.png)), 60, 60);
    ctx.drawImage(await loadImage(stamp.png), 300, 600);
    const turned = createCanvas(1200, 1200);
    const tctx = turned.getContext('2d');
    tctx.translate(1200, 1200);
    tctx.rotate(Math.PI);
    tctx.drawImage(canvas, 0, 0);
    upsideDown = turned.toBuffer('image/png');
  });
  after(() => server?.close());

  test('the page is turned upright by the real orientation model before layout and seal OCR', async () => {
    const res = await postJson(`${server.url}/seal-recognition`, { file: upsideDown.toString('base64'), fileType: 1 });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [result] = (res.body as any).result.sealRecResults;
    const pruned = result.prunedResult;
    assert.deepEqual(Object.keys(pruned), ['model_settings', 'doc_preprocessor_res', 'layout_det_res', 'seal_res_list']);
    assert.deepEqual(pruned.model_settings, { use_doc_preprocessor: true, use_layout_detection: true });
    assert.deepEqual(pruned.doc_preprocessor_res, {
      model_settings: { use_doc_orientation_classify: true, use_doc_unwarping: false },
      angle: 180,
    });
    assert.equal(pruned.seal_res_list[0].rec_texts[0].trim(), STAMP_TEXT);
    assert.deepEqual(Object.keys(result.outputImages), ['preprocessed_img', 'layout_det_res', 'seal_res_region1']);
  });

  test('both doc flags false switch the stage off for the request; unwarping (not loaded) is refused', async () => {
    const file = upsideDown.toString('base64');
    const off = await postJson(`${server.url}/seal-recognition`, {
      file,
      fileType: 1,
      visualize: false,
      useDocOrientationClassify: false,
      useDocUnwarping: false,
    });
    assert.equal(off.status, 200, JSON.stringify(off.body));
    const pruned = (off.body as any).result.sealRecResults[0].prunedResult;
    assert.deepEqual(pruned.model_settings, { use_doc_preprocessor: false, use_layout_detection: true });
    assert.equal(pruned.doc_preprocessor_res, undefined);
    const unwarp = await postJson(`${server.url}/seal-recognition`, { file, fileType: 1, useDocUnwarping: true });
    assert.match(assertErrorEnvelope(unwarp, 422), /the input params for model settings are invalid!.*UVDoc/);
  });
});
