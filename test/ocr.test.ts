/**
 * `/ocr` end to end through real HTTP: PaddleX's response shape (field names, order, types) for
 * images and PDFs, per-request overrides and their effect, client errors, and a document-orientation
 * model configured through a pipeline YAML.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import YAML from 'yaml';
import { characterErrorRate } from './helpers/cer.js';
import { makePdf, startTestServer, type TestServer } from './helpers/inputs.js';
import { buildModel, floatTensor, node, valueInfo, writeModelDir, type ModelDir } from './helpers/onnxBuilder.js';
import { REPO_ROOT } from './helpers/paths.js';
import { assertErrorEnvelope, postJson, startServer, type JsonResponse, type RunningServer } from './helpers/server.js';
import { renderTextImage } from './helpers/textImages.js';

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

const PRUNED_KEYS = [
  'model_settings',
  'dt_polys',
  'text_det_params',
  'text_type',
  'textline_orientation_angles',
  'text_rec_score_thresh',
  'return_word_box',
  'rec_texts',
  'rec_scores',
  'rec_polys',
  'rec_boxes',
];
const TEXT_DET_PARAM_KEYS = ['limit_side_len', 'limit_type', 'thresh', 'max_side_limit', 'box_thresh', 'unclip_ratio'];

type Quad = Array<[number, number]>;

function assertIntQuads(value: unknown, what: string): asserts value is Quad[] {
  assert.ok(Array.isArray(value), `${what} is a list`);
  for (const quad of value) {
    assert.ok(Array.isArray(quad) && quad.length === 4, `${what}: each polygon has 4 points: ${JSON.stringify(quad)}`);
    for (const point of quad) {
      assert.ok(
        Array.isArray(point) && point.length === 2 && point.every(Number.isInteger),
        `${what}: integer [x, y] points: ${JSON.stringify(quad)}`,
      );
    }
  }
}

/** PaddleX's OCR prunedResult: keys in order, each with its type, and rec_* consistent with each other. */
function assertPrunedResult(pruned: any, opts: { docPreprocessor?: boolean } = {}): void {
  let expectedKeys = opts.docPreprocessor ? ['model_settings', 'doc_preprocessor_res', ...PRUNED_KEYS.slice(1)] : PRUNED_KEYS;
  // PaddleX sets textline_orientation_angles only on pages where text was detected
  if (Array.isArray(pruned.dt_polys) && pruned.dt_polys.length === 0)
    expectedKeys = expectedKeys.filter((k) => k !== 'textline_orientation_angles');
  assert.deepEqual(Object.keys(pruned), expectedKeys);
  assert.deepEqual(Object.keys(pruned.model_settings), ['use_doc_preprocessor', 'use_textline_orientation']);
  assert.equal(pruned.model_settings.use_doc_preprocessor, Boolean(opts.docPreprocessor));
  assert.equal(typeof pruned.model_settings.use_textline_orientation, 'boolean');
  assertIntQuads(pruned.dt_polys, 'dt_polys');
  assert.deepEqual(Object.keys(pruned.text_det_params), TEXT_DET_PARAM_KEYS);
  const det = pruned.text_det_params;
  assert.ok(Number.isInteger(det.limit_side_len) && Number.isInteger(det.max_side_limit));
  assert.ok(det.limit_type === 'min' || det.limit_type === 'max');
  for (const key of ['thresh', 'box_thresh', 'unclip_ratio']) assert.equal(typeof det[key], 'number', key);
  assert.equal(pruned.text_type, 'general');
  const angles = pruned.textline_orientation_angles ?? [];
  assert.ok(
    Array.isArray(angles) && angles.length === pruned.dt_polys.length && angles.every((a: unknown) => a === -1 || a === 0 || a === 1),
  );
  assert.equal(typeof pruned.text_rec_score_thresh, 'number');
  assert.equal(pruned.return_word_box, false);
  assert.ok(pruned.rec_texts.every((t: unknown) => typeof t === 'string'));
  assert.ok(pruned.rec_scores.every((s: unknown) => typeof s === 'number' && s >= pruned.text_rec_score_thresh && s <= 1));
  assertIntQuads(pruned.rec_polys, 'rec_polys');
  const n = pruned.rec_texts.length;
  assert.deepEqual([pruned.rec_scores.length, pruned.rec_polys.length, pruned.rec_boxes.length], [n, n, n]);
  // rec_boxes are the axis-aligned [x1, y1, x2, y2] of rec_polys
  pruned.rec_polys.forEach((quad: Quad, i: number) => {
    const xs = quad.map((p) => p[0]);
    const ys = quad.map((p) => p[1]);
    assert.deepEqual(pruned.rec_boxes[i], [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)]);
  });
  // every recognised polygon is one of the detected ones, in the same order
  const detected = pruned.dt_polys.map((q: Quad) => JSON.stringify(q));
  let from = 0;
  for (const quad of pruned.rec_polys) {
    const at = detected.indexOf(JSON.stringify(quad), from);
    assert.ok(at >= 0, `rec_polys entry ${JSON.stringify(quad)} is in dt_polys after index ${from}`);
    from = at + 1;
  }
}

function assertSuccess(res: JsonResponse): any {
  assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 500));
  assert.deepEqual(Object.keys(res.body), ['logId', 'result', 'errorCode', 'errorMsg']);
  assert.match(res.body.logId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(res.body.errorCode, 0);
  assert.equal(res.body.errorMsg, 'Success');
  assert.deepEqual(Object.keys(res.body.result), ['ocrResults', 'dataInfo']);
  return res.body.result;
}

async function jpegSize(base64: unknown): Promise<{ width: number; height: number }> {
  assert.equal(typeof base64, 'string');
  const meta = await sharp(Buffer.from(base64 as string, 'base64')).metadata();
  assert.equal(meta.format, 'jpeg');
  return { width: meta.width!, height: meta.height! };
}

/** Size after PaddleX's postprocess_images: scaled down (never up) to fit 2000×2000. */
function fit2000(width: number, height: number): { width: number; height: number } {
  const scale = Math.min(1, 2000 / width, 2000 / height);
  return { width: Math.round(width * scale), height: Math.round(height * scale) };
}

function assertCloseSize(actual: { width: number; height: number }, expected: { width: number; height: number }, what: string): void {
  // ±1 px: rounding of the downscale
  assert.ok(
    Math.abs(actual.width - expected.width) <= 1 && Math.abs(actual.height - expected.height) <= 1,
    `${what}: ${actual.width}×${actual.height}, expected ${expected.width}×${expected.height}`,
  );
}

const totalArea = (quads: Quad[]) =>
  quads.reduce(
    (sum, q) =>
      sum +
      (Math.max(...q.map((p) => p[0])) - Math.min(...q.map((p) => p[0]))) *
        (Math.max(...q.map((p) => p[1])) - Math.min(...q.map((p) => p[1]))),
    0,
  );

const LINES = ['Invoice 2024-117, due 30 June.', 'Total amount: 1,250.00 EUR', 'Thank you for your order!'];

describe('/ocr with the built-in OCR pipeline', () => {
  let server: RunningServer;
  let fileServer: TestServer;
  let png: Uint8Array;
  let imageSize: { width: number; height: number };

  before(async () => {
    png = (await renderTextImage(LINES, { fontSize: 32 })).png;
    const meta = await sharp(png).metadata();
    imageSize = { width: meta.width!, height: meta.height! };
    server = await startServer({ pipelines: ['OCR'], workers: 2, fetchLimits: { allowPrivate: true } });
    fileServer = await startTestServer((req, res) => {
      if (req.url === '/scan.png') {
        res.setHeader('content-type', 'image/png');
        res.end(png);
      } else {
        res.setHeader('content-type', 'text/plain');
        res.end(LINES.join('\n'));
      }
    });
  });
  after(async () => {
    await server?.close();
    await fileServer?.close();
  });

  const ocr = (body: Record<string, unknown>) => postJson(`${server.url}/ocr`, body);

  test('image, visualize false: envelope, prunedResult and dataInfo as PaddleX', async () => {
    const result = assertSuccess(await ocr({ file: b64(png), fileType: 1, visualize: false }));
    assert.equal(result.ocrResults.length, 1);
    assert.deepEqual(Object.keys(result.ocrResults[0]), ['prunedResult']);
    const pruned = result.ocrResults[0].prunedResult;
    assertPrunedResult(pruned);
    assert.deepEqual(pruned.model_settings, { use_doc_preprocessor: false, use_textline_orientation: true });
    // the built-in YAML's detection settings and score threshold
    const yaml = YAML.parse(await readFile(path.join(REPO_ROOT, 'configs/OCR.yaml'), 'utf8')).SubModules;
    const { limit_side_len, limit_type, thresh, max_side_limit, box_thresh, unclip_ratio } = yaml.TextDetection;
    assert.deepEqual(pruned.text_det_params, { limit_side_len, limit_type, thresh, max_side_limit, box_thresh, unclip_ratio });
    assert.equal(pruned.text_rec_score_thresh, yaml.TextRecognition.score_thresh);
    assert.equal(pruned.dt_polys.length, LINES.length);
    assert.deepEqual(pruned.rec_polys, pruned.dt_polys, 'with threshold 0 every detected line is kept');
    assert.deepEqual(pruned.textline_orientation_angles, [0, 0, 0]);
    assert.ok(characterErrorRate(pruned.rec_texts.join(''), LINES.join('')) <= 0.05, JSON.stringify(pruned.rec_texts));
    assert.deepEqual(result.dataInfo, { width: imageSize.width, height: imageSize.height, type: 'image' });
    assert.deepEqual(Object.keys(result.dataInfo), ['width', 'height', 'type']);
  });

  test('image, visualize true: ocrImage (2× wide) and inputImage are JPEGs', async () => {
    const result = assertSuccess(await ocr({ file: b64(png), fileType: 1, visualize: true }));
    const page = result.ocrResults[0];
    assert.deepEqual(Object.keys(page), ['prunedResult', 'ocrImage', 'inputImage']);
    assertPrunedResult(page.prunedResult);
    assertCloseSize(await jpegSize(page.ocrImage), fit2000(2 * imageSize.width, imageSize.height), 'ocrImage');
    assertCloseSize(await jpegSize(page.inputImage), imageSize, 'inputImage');
  });

  test('visualize omitted follows Serving.visualize (True in the built-in YAML)', async () => {
    const result = assertSuccess(await ocr({ file: b64(png), fileType: 1 }));
    assert.deepEqual(Object.keys(result.ocrResults[0]), ['prunedResult', 'ocrImage', 'inputImage']);
  });

  test('PDF, visualize true and false: one result per page, rendered A4 sizes, text per page', async () => {
    const pages = [['First page of the report', 'Revenue grew 12% in 2023'], ['Second page: conclusions']];
    const pdf = b64(await makePdf(pages));
    for (const visualize of [false, true]) {
      const result = assertSuccess(await ocr({ file: pdf, fileType: 0, visualize }));
      assert.deepEqual(result.dataInfo, {
        numPages: 2,
        pages: [
          { width: 1190, height: 1684 },
          { width: 1190, height: 1684 },
        ],
        type: 'pdf',
      });
      assert.deepEqual(Object.keys(result.dataInfo), ['numPages', 'pages', 'type']);
      assert.equal(result.ocrResults.length, 2);
      for (const [i, page] of result.ocrResults.entries()) {
        assert.deepEqual(Object.keys(page), visualize ? ['prunedResult', 'ocrImage', 'inputImage'] : ['prunedResult']);
        assertPrunedResult(page.prunedResult);
        const cer = characterErrorRate(page.prunedResult.rec_texts.join(''), pages[i]!.join(''));
        assert.ok(cer <= 0.05, `page ${i + 1}: ${JSON.stringify(page.prunedResult.rec_texts)}`);
        if (visualize) {
          // 2 × 1190 = 2380 wide: scaled to fit 2000×2000
          assertCloseSize(await jpegSize(page.ocrImage), fit2000(2 * 1190, 1684), 'ocrImage');
          assertCloseSize(await jpegSize(page.inputImage), { width: 1190, height: 1684 }, 'inputImage');
        }
      }
    }
  });

  test('detection overrides show up in text_det_params and change the boxes', async () => {
    const request = { file: b64(png), fileType: 1, visualize: false };
    const base = assertSuccess(await ocr(request)).ocrResults[0].prunedResult;
    const withParams = async (params: Record<string, unknown>) => {
      const pruned = assertSuccess(await ocr({ ...request, ...params })).ocrResults[0].prunedResult;
      assertPrunedResult(pruned);
      return pruned;
    };

    const grown = await withParams({ textDetUnclipRatio: 3 });
    assert.deepEqual(grown.text_det_params, { ...base.text_det_params, unclip_ratio: 3 });
    assert.equal(grown.dt_polys.length, base.dt_polys.length);
    grown.dt_polys.forEach((quad: Quad, i: number) => assert.ok(totalArea([quad]) > totalArea([base.dt_polys[i]]), `box ${i} grows`));

    // upscaled so the short side is 1500 px, the detector separates words
    const upscaled = await withParams({ textDetLimitType: 'min', textDetLimitSideLen: 1500 });
    assert.deepEqual(upscaled.text_det_params, { ...base.text_det_params, limit_type: 'min', limit_side_len: 1500 });
    assert.ok(upscaled.dt_polys.length > base.dt_polys.length, `${upscaled.dt_polys.length} boxes vs ${base.dt_polys.length}`);

    const strictPixels = await withParams({ textDetThresh: 0.95 });
    assert.deepEqual(strictPixels.text_det_params, { ...base.text_det_params, thresh: 0.95 });
    assert.ok(totalArea(strictPixels.dt_polys) < totalArea(base.dt_polys), 'fewer pixels count as text');

    const strictBoxes = await withParams({ textDetBoxThresh: 0.95 });
    assert.deepEqual(strictBoxes.text_det_params, { ...base.text_det_params, box_thresh: 0.95 });
    assert.deepEqual(strictBoxes.dt_polys, [], 'no box is that confident');
    assert.deepEqual(strictBoxes.rec_texts, []);
  });

  test('textRecScoreThresh drops low-scoring lines from rec_* but not from dt_polys', async () => {
    const request = { file: b64(png), fileType: 1, visualize: false };
    const base = assertSuccess(await ocr(request)).ocrResults[0].prunedResult;
    const scores: number[] = base.rec_scores;
    const threshold = (Math.min(...scores) + Math.max(...scores)) / 2;
    const pruned = assertSuccess(await ocr({ ...request, textRecScoreThresh: threshold })).ocrResults[0].prunedResult;
    assertPrunedResult(pruned);
    assert.equal(pruned.text_rec_score_thresh, threshold);
    assert.deepEqual(pruned.dt_polys, base.dt_polys);
    const kept = scores.map((_, i) => i).filter((i) => scores[i]! >= threshold);
    assert.ok(kept.length > 0 && kept.length < scores.length, `scores ${scores}`);
    assert.deepEqual(
      pruned.rec_texts,
      kept.map((i) => base.rec_texts[i]),
    );
    assert.deepEqual(
      pruned.rec_polys,
      kept.map((i) => base.dt_polys[i]),
    );
  });

  test('useTextlineOrientation: false gives angles of -1', async () => {
    const pruned = assertSuccess(await ocr({ file: b64(png), fileType: 1, visualize: false, useTextlineOrientation: false })).ocrResults[0]
      .prunedResult;
    assertPrunedResult(pruned);
    assert.equal(pruned.model_settings.use_textline_orientation, false);
    assert.deepEqual(
      pruned.textline_orientation_angles,
      pruned.dt_polys.map(() => -1),
    );
  });

  test('an image URL without fileType: the type comes from the extension', async () => {
    const result = assertSuccess(await ocr({ file: `${fileServer.url}/scan.png`, visualize: false }));
    assert.deepEqual(result.dataInfo, { ...imageSize, type: 'image' });
    assert.equal(result.ocrResults[0].prunedResult.rec_texts.length, LINES.length);
  });

  test('file type errors', async () => {
    assert.match(assertErrorEnvelope(await ocr({ file: b64(png) }), 422), /^File type cannot be determined/);
    assert.match(assertErrorEnvelope(await ocr({ file: `${fileServer.url}/notes.txt` }), 422), /^Unsupported file type/);
    const errors = JSON.parse(assertErrorEnvelope(await ocr({ file: b64(png), fileType: 2 }), 422));
    assert.deepEqual(errors, [{ type: 'literal_error', loc: ['body', 'fileType'], msg: 'Input should be 0 or 1', input: 2 }]);
  });

  test('undecodable files are 422 with a reason', async () => {
    assert.match(assertErrorEnvelope(await ocr({ file: 'this is not base64!', fileType: 1 }), 422), /file: not valid Base64/);
    const text = b64(new TextEncoder().encode('plain text, not an image'));
    assert.match(assertErrorEnvelope(await ocr({ file: text, fileType: 1 }), 422), /file: not a decodable image/);
    assert.match(assertErrorEnvelope(await ocr({ file: text, fileType: 0 }), 422), /file: not a readable PDF/);
  });

  test('document preprocessing without its models: 422 naming what is missing', async () => {
    const orientation = assertErrorEnvelope(await ocr({ file: b64(png), fileType: 1, useDocOrientationClassify: true }), 422);
    assert.match(orientation, /^the input params for model settings are invalid!/);
    assert.match(orientation, /DocOrientationClassify/);
    assert.match(orientation, /PP-LCNet_x1_0_doc_ori/);
    const unwarping = assertErrorEnvelope(await ocr({ file: b64(png), fileType: 1, useDocUnwarping: true }), 422);
    assert.match(unwarping, /^the input params for model settings are invalid! Document unwarping was requested/);
    assert.match(unwarping, /SubPipelines\.DocPreprocessor\.SubModules\.DocUnwarping/);
    // both explicitly off is fine (PaddleX: doc preprocessor off)
    const off = assertSuccess(
      await ocr({ file: b64(png), fileType: 1, visualize: false, useDocOrientationClassify: false, useDocUnwarping: false }),
    );
    assert.equal(off.ocrResults[0].prunedResult.model_settings.use_doc_preprocessor, false);
  });
});

/**
 * A stand-in for PaddleX's PP-LCNet_x1_0_doc_ori export: x: f32[N,3,224,224] after resize_short 256,
 * CropImage 224 and ImageNet normalisation → f32[N,4] probabilities for '0', '90', '180', '270'.
 * Its rule fits left-aligned text: ink mostly in the left half means upright (0), mostly in the right
 * half upside down (180); 90 and 270 are never chosen (a large negative bias).
 */
function inkSideDocOrientationModel(): Uint8Array {
  const side = 224;
  const classes = 4;
  const weights = new Float32Array(side * side * classes);
  const halfCount = (side * side) / 2;
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      // darker (lower) normalised values raise the score of the half they are in
      weights[(y * side + x) * classes + (x < side / 2 ? 0 : 2)] = -10 / halfCount;
    }
  }
  return buildModel({
    inputs: [valueInfo('x', ['N', 3, side, side])],
    outputs: [valueInfo('softmax_0.tmp_0', ['N', classes])],
    initializers: [floatTensor('half_weights', [side * side, classes], weights), floatTensor('class_bias', [classes], [0, -1e4, 0, -1e4])],
    nodes: [
      node('ReduceMean', ['x'], ['grey'], { axes: { ints: [1] }, keepdims: { i: 1 } }),
      node('Flatten', ['grey'], ['pixels'], { axis: { i: 1 } }),
      node('MatMul', ['pixels', 'half_weights'], ['half_scores']),
      node('Add', ['half_scores', 'class_bias'], ['logits']),
      node('Softmax', ['logits'], ['softmax_0.tmp_0'], { axis: { i: 1 } }),
    ],
  });
}

describe('/ocr with a doc orientation model configured in the pipeline YAML', () => {
  const IMAGENET_NORMALIZE = {
    channel_num: 3,
    mean: [0.485, 0.456, 0.406],
    std: [0.229, 0.224, 0.225],
    scale: 0.00392156862745098,
    order: '',
  };
  // Short lines on a wide page: the ink sits in the left half.
  const PAGE_LINES = ['Shipping notice 4471', 'Parcel weight: 2.5 kg', 'Delivery on 18 May', 'Signed by the clerk'];
  let model: ModelDir;
  let yamlDir: string;
  let server: RunningServer;
  let upright: Uint8Array;

  before(async () => {
    model = await writeModelDir(inkSideDocOrientationModel(), {
      Global: { model_name: 'PP-LCNet_x1_0_doc_ori' },
      PreProcess: {
        transform_ops: [
          { ResizeImage: { resize_short: 256 } },
          { CropImage: { size: 224 } },
          { NormalizeImage: IMAGENET_NORMALIZE },
          { ToCHWImage: null },
        ],
      },
      PostProcess: { Topk: { topk: 1, label_list: ['0', '90', '180', '270'] } },
    });
    const config = YAML.parse(await readFile(path.join(REPO_ROOT, 'configs/OCR.yaml'), 'utf8'));
    config.use_doc_preprocessor = true;
    config.SubPipelines.DocPreprocessor.use_doc_unwarping = false;
    config.SubPipelines.DocPreprocessor.SubModules.DocOrientationClassify.model_dir = model.dir;
    yamlDir = await mkdtemp(path.join(os.tmpdir(), 'pipeserve-ocr-yaml-'));
    const yamlPath = path.join(yamlDir, 'OCR.yaml');
    await writeFile(yamlPath, YAML.stringify(config));
    server = await startServer({ pipelines: [yamlPath], workers: 1 });
    upright = (await renderTextImage(PAGE_LINES, { fontSize: 32, width: 900, lineSpacing: 3 })).png;
  });
  after(async () => {
    await server?.close();
    await model?.remove();
    if (yamlDir) await rm(yamlDir, { recursive: true, force: true });
  });

  test('a page turned 180° is classified, turned back and read', async () => {
    const turned = new Uint8Array(await sharp(upright).rotate(180).png().toBuffer());
    // Text-line orientation off: only turning the whole page back makes the lines readable.
    const result = assertSuccess(
      await postJson(`${server.url}/ocr`, { file: b64(turned), fileType: 1, visualize: true, useTextlineOrientation: false }),
    );
    const page = result.ocrResults[0];
    assert.deepEqual(Object.keys(page), ['prunedResult', 'ocrImage', 'docPreprocessingImage', 'inputImage']);
    assertPrunedResult(page.prunedResult, { docPreprocessor: true });
    assert.deepEqual(page.prunedResult.doc_preprocessor_res, {
      model_settings: { use_doc_orientation_classify: true, use_doc_unwarping: false },
      angle: 180,
    });
    assert.deepEqual(Object.keys(page.prunedResult.doc_preprocessor_res), ['model_settings', 'angle']);
    const cer = characterErrorRate(page.prunedResult.rec_texts.join(''), PAGE_LINES.join(''));
    assert.ok(cer <= 0.05, `read ${JSON.stringify(page.prunedResult.rec_texts)}`);
    const { width, height } = await sharp(upright).metadata();
    // boxes are in the turned-back page, where the left-aligned lines start on the left
    for (const [x1] of page.prunedResult.rec_boxes) assert.ok(x1 < width! / 4, `box starts at x ${x1}`);
    // PaddleX's preprocessed_img: the sent, rotated and unwarped pages side by side over a 25 px
    // caption strip, shrunk to fit 2000×2000; the rotated (middle) page is the upright one
    const scale = Math.min(1, 2000 / (3 * width!), 2000 / (height! + 25));
    const shownImage = Buffer.from(page.docPreprocessingImage, 'base64');
    assertCloseSize(
      await jpegSize(page.docPreprocessingImage),
      { width: 3 * width! * scale, height: (height! + 25) * scale },
      'docPreprocessingImage',
    );
    const panel = { left: Math.round(width! * scale), top: 0, width: Math.round(width! * scale), height: Math.round(height! * scale) };
    const grey = async (img: Uint8Array | Buffer) => (await sharp(img).greyscale().raw().toBuffer()) as Buffer;
    const shown = await grey(await sharp(shownImage).extract(panel).png().toBuffer());
    const meanDifference = async (other: Uint8Array) => {
      const pixels = await grey(await sharp(other).resize(panel.width, panel.height, { fit: 'fill' }).png().toBuffer());
      return shown.reduce((sum, v, i) => sum + Math.abs(v - pixels[i]!), 0) / shown.length;
    };
    const [toUpright, toTurned] = [await meanDifference(upright), await meanDifference(turned)];
    assert.ok(
      toUpright < 4 && toTurned > 2 * toUpright,
      `mean |difference| to the upright page ${toUpright}, to the turned one ${toTurned}`,
    );
    assert.deepEqual(result.dataInfo, { width, height, type: 'image' });
  });

  test('an upright page gets angle 0; both doc flags false switch the preprocessor off', async () => {
    const result = assertSuccess(await postJson(`${server.url}/ocr`, { file: b64(upright), fileType: 1, visualize: false }));
    assert.deepEqual(Object.keys(result.ocrResults[0]), ['prunedResult']);
    assert.equal(result.ocrResults[0].prunedResult.doc_preprocessor_res.angle, 0);

    const off = assertSuccess(
      await postJson(`${server.url}/ocr`, {
        file: b64(upright),
        fileType: 1,
        visualize: true,
        useDocOrientationClassify: false,
        useDocUnwarping: false,
      }),
    );
    assert.deepEqual(Object.keys(off.ocrResults[0]), ['prunedResult', 'ocrImage', 'inputImage']);
    assertPrunedResult(off.ocrResults[0].prunedResult);
  });
});

describe('/ocr with user-supplied PaddleX model dirs (PP-OCRv3 en det + height-32 rec)', () => {
  let server: RunningServer;
  let dir: string;
  before(async () => {
    const config = YAML.parse(await readFile(path.join(REPO_ROOT, 'configs/OCR.yaml'), 'utf8'));
    const models = path.join(REPO_ROOT, '../shared/models/PP-OCRv3_en');
    config.use_textline_orientation = false;
    config.SubModules.TextDetection = {
      module_name: 'text_detection',
      model_name: 'PP-OCRv3_mobile_det',
      model_dir: path.join(models, 'det'),
    };
    config.SubModules.TextRecognition = {
      module_name: 'text_recognition',
      model_name: 'en_number_mobile_v2.0_rec',
      model_dir: path.join(models, 'rec'),
    };
    dir = await mkdtemp(path.join(os.tmpdir(), 'pipeserve-ocr-v3-'));
    const yamlPath = path.join(dir, 'OCR.yaml');
    await writeFile(yamlPath, YAML.stringify(config));
    server = await startServer({ pipelines: [yamlPath], workers: 1 });
  });
  after(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('image shape, normalisation and character_dict come from each inference.yml', async () => {
    const lines = ['Invoice 2024-0117', 'Total due: 318.40 EUR', 'Pay by 30 June'];
    const { png } = await renderTextImage(lines, { fontFamily: 'DejaVu Sans', fontSize: 32 });
    const res = await postJson(`${server.url}/ocr`, { file: b64(png), fileType: 1, visualize: false });
    assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 300));
    const pruned = res.body.result.ocrResults[0].prunedResult;
    assert.deepEqual(pruned.model_settings, { use_doc_preprocessor: false, use_textline_orientation: false });
    const cer = characterErrorRate(pruned.rec_texts.join(''), lines.join(''));
    assert.ok(cer <= 0.01, `CER ${(cer * 100).toFixed(2)}%: ${JSON.stringify(pruned.rec_texts)}`);
  });
});
