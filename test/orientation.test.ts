import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../src/errors.js';
import type { RgbImage } from '../src/io/image.js';
import { DocOrientationClassifier, type DocAngle } from '../src/models/docOrientation.js';
import { TextlineOrientationClassifier } from '../src/models/textlineOrientation.js';
import { rotateImage } from '../src/ops/quad.js';
import { cropImage } from '../src/ops/resize.js';
import { cpuRuntime, fixtureSubModule, resolveSubModule } from './helpers/fixtures.js';
import { buildModel, floatTensor, node, valueInfo, writeModelDir, type ModelDir } from './helpers/onnxBuilder.js';
import { decodeToRgb, findInkLines, renderTextImage } from './helpers/textImages.js';

const IMAGENET_NORMALIZE = {
  channel_num: 3,
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
  scale: 0.00392156862745098,
  order: '',
};

/**
 * A classifier whose class k is "region k is the darkest": the channel mean of the normalised
 * input, averaged over each region, times −10, then Softmax. Regions are given as pixel predicates.
 */
function regionDarknessModel(height: number, width: number, regions: Array<(x: number, y: number) => boolean>): Uint8Array {
  const classes = regions.length;
  const weights = new Float32Array(height * width * classes);
  regions.forEach((inRegion, k) => {
    let count = 0;
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) if (inRegion(x, y)) count++;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) if (inRegion(x, y)) weights[(y * width + x) * classes + k] = -10 / count;
    }
  });
  return buildModel({
    inputs: [valueInfo('x', ['N', 3, height, width])],
    outputs: [valueInfo('softmax_0.tmp_0', ['N', classes])],
    initializers: [floatTensor('region_weights', [height * width, classes], weights)],
    nodes: [
      node('ReduceMean', ['x'], ['grey'], { axes: { ints: [1] }, keepdims: { i: 1 } }),
      node('Flatten', ['grey'], ['pixels'], { axis: { i: 1 } }),
      node('MatMul', ['pixels', 'region_weights'], ['logits']),
      node('Softmax', ['logits'], ['softmax_0.tmp_0'], { axis: { i: 1 } }),
    ],
  });
}

/** Rendered lines, each cut out around its ink with a small margin. */
async function lineCrops(lines: string[], opts: { fontSize: number; rotateDeg?: number; extraRight?: number }): Promise<RgbImage[]> {
  const page = await decodeToRgb((await renderTextImage(lines, { fontSize: opts.fontSize, rotateDeg: opts.rotateDeg })).png);
  const boxes = findInkLines(page);
  assert.equal(boxes.length, lines.length);
  const margin = Math.round(opts.fontSize / 4);
  const extraRight = opts.extraRight ?? 0;
  // a 180° page has its slack on the left of each line
  const extraLeft = opts.rotateDeg === 180 ? extraRight : 0;
  return boxes.map((b) =>
    cropImage(page, b.x0 - margin - extraLeft, b.y0 - margin, b.x1 - b.x0 + 2 * margin + extraRight, b.y1 - b.y0 + 2 * margin),
  );
}

const LINES = ['Hello World 42', 'Version 3.10.2 released!', 'user@example.com', 'Total: $1,234.56', '(555) 867-5309'];

describe('TextlineOrientationClassifier', () => {
  test('PaddleOCR cls model (ch_ppocr_mobile_v2_0_cls): upright lines are 0, upside-down lines 180', async () => {
    const sub = resolveSubModule({ module_name: 'textline_orientation', model_name: 'ch_ppocr_mobile_v2_0_cls', batch_size: 4 });
    const classifier = await TextlineOrientationClassifier.load(sub, cpuRuntime(), 'SubModules.TextLineOrientation');
    const upright = await lineCrops(LINES, { fontSize: 28 });
    const upsideDown = await lineCrops(LINES, { fontSize: 28, rotateDeg: 180 });
    // interleaved, across two batches of 4 and one of 2
    const crops = upright.flatMap((crop, i) => [crop, upsideDown[i]!]);
    const results = await classifier.predict(crops);
    assert.deepEqual(
      results.map((r) => r.angle),
      crops.map((_, i) => (i % 2 === 0 ? 0 : 180)),
      JSON.stringify(results),
    );
    for (const r of results) assert.ok(r.score > 0.9 && r.score <= 1, `score ${r.score}`);
  });

  describe('PaddleX PP-LCNet_x1_0_textline_ori layout (self-made model)', () => {
    // Imitates PaddleX's PP-LCNet_x1_0_textline_ori export: x: f32[N,3,80,160] (ResizeImage size
    // [160, 80] = width, height; ImageNet normalisation, RGB) → f32[N,2] probabilities for
    // '0_degree', '180_degree'. Its rule: ink in the left half means upright, in the right half
    // upside down, which holds for left-aligned lines with slack on their right.
    let model: ModelDir;
    before(async () => {
      model = await writeModelDir(regionDarknessModel(80, 160, [(x) => x < 80, (x) => x >= 80]), {
        Global: { model_name: 'PP-LCNet_x1_0_textline_ori' },
        PreProcess: { transform_ops: [{ ResizeImage: { size: [160, 80] } }, { NormalizeImage: IMAGENET_NORMALIZE }, { ToCHWImage: null }] },
        PostProcess: { Topk: { topk: 1, label_list: ['0_degree', '180_degree'] } },
      });
    });
    after(() => model.remove());

    test('classifies lines with slack on one side, in batches', async () => {
      const sub = await fixtureSubModule('textline_orientation', model.dir, { batch_size: 6 });
      const classifier = await TextlineOrientationClassifier.load(sub, cpuRuntime(), 'SubModules.TextLineOrientation');
      assert.equal(classifier.batchSize, 6, 'batch_size of the YAML');
      const upright = await lineCrops(LINES, { fontSize: 24, extraRight: 400 });
      const upsideDown = await lineCrops(LINES, { fontSize: 24, rotateDeg: 180, extraRight: 400 });
      const crops = [...upright, ...upsideDown];
      const results = await classifier.predict(crops);
      assert.deepEqual(
        results.map((r) => r.angle),
        crops.map((_, i) => (i < upright.length ? 0 : 180)),
      );
      for (const r of results) assert.ok(r.score > 0.5 && r.score <= 1);
    });

    test('labels that are not 0/180 degrees are refused at load time', async () => {
      const sub = await fixtureSubModule('textline_orientation', model.dir);
      const cfg = sub.resolved.inferenceConfig;
      const relabelled = {
        ...sub,
        resolved: { ...sub.resolved, inferenceConfig: { ...cfg, PostProcess: { Topk: { label_list: ['up', 'down'] } } } },
      };
      await assert.rejects(
        TextlineOrientationClassifier.load(relabelled, cpuRuntime(), 'SubModules.TextLineOrientation'),
        (err: unknown) =>
          err instanceof ConfigError &&
          /SubModules\.TextLineOrientation .*label "up" does not name one of the angles 0, 180/.test(err.message),
      );
    });

    test('a preprocessing whose output size follows the line is refused at load time (lines run in batches)', async () => {
      const sub = await fixtureSubModule('textline_orientation', model.dir);
      const cfg = sub.resolved.inferenceConfig;
      const ops = [{ ResizeImage: { resize_short: 80 } }, ...cfg.PreProcess.transform_ops.slice(1)];
      const byShortSide = { ...sub, resolved: { ...sub.resolved, inferenceConfig: { ...cfg, PreProcess: { transform_ops: ops } } } };
      await assert.rejects(
        TextlineOrientationClassifier.load(byShortSide, cpuRuntime(), 'SubModules.TextLineOrientation'),
        (err: unknown) => err instanceof ConfigError && /ResizeImage needs `size`/.test(err.message),
      );
    });
  });
});

describe('DocOrientationClassifier (self-made PP-LCNet_x1_0_doc_ori)', () => {
  // Imitates PaddleX's PP-LCNet_x1_0_doc_ori export: x: f32[N,3,224,224] after ResizeImage
  // resize_short 256, CropImage 224, ImageNet normalisation (RGB) → f32[N,4] probabilities for
  // '0', '90', '180', '270'. Its rule follows a page with a dark header bar: the bar at the top is
  // 0; content turned 90° clockwise puts it on the right (90), then the bottom (180), the left (270).
  const BAND = 28;
  let model: ModelDir;
  let classifier: DocOrientationClassifier;
  before(async () => {
    model = await writeModelDir(
      regionDarknessModel(224, 224, [(_x, y) => y < BAND, (x) => x >= 224 - BAND, (_x, y) => y >= 224 - BAND, (x) => x < BAND]),
      {
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
      },
    );
    const sub = await fixtureSubModule('doc_text_orientation', model.dir);
    classifier = await DocOrientationClassifier.load(sub, cpuRuntime(), 'SubPipelines.DocPreprocessor.SubModules.DocOrientationClassify');
  });
  after(() => model.remove());

  /** A 360×480 portrait page: a dark header bar over the top quarter, grey "text" stripes below. */
  function markedPage(): RgbImage {
    const width = 360;
    const height = 480;
    const data = new Uint8Array(width * height * 3).fill(255);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const header = y < 120;
        const textStripe = y >= 160 && y < 440 && x >= 40 && x < 320 && Math.floor(y / 12) % 2 === 0;
        if (header || textStripe) data.fill(header ? 30 : 110, (y * width + x) * 3, (y * width + x) * 3 + 3);
      }
    }
    return { width, height, data };
  }

  /** The page with its content turned clockwise by `angle` (rotateImage turns counter-clockwise). */
  function turnedClockwise(page: RgbImage, angle: DocAngle): RgbImage {
    return angle === 0 ? page : rotateImage(page, (360 - angle) as 90 | 180 | 270);
  }

  test('names how far the page is turned clockwise; turning it back counter-clockwise restores it', async () => {
    const page = markedPage();
    for (const angle of [0, 90, 180, 270] as const) {
      const turned = turnedClockwise(page, angle);
      const result = await classifier.predict(turned);
      assert.equal(result.angle, angle, `page turned ${angle}°: ${JSON.stringify(result)}`);
      assert.ok(result.score > 0.9 && result.score <= 1, `score ${result.score}`);
      if (angle !== 0) {
        // what the doc preprocessor does with the answer (PaddleX: scipy rotate by +angle)
        const restored = rotateImage(turned, angle);
        assert.deepEqual(restored, page);
        assert.equal((await classifier.predict(restored)).angle, 0);
      }
    }
  });

  test('an unsupported preprocessing op is refused at load time', async () => {
    const sub = await fixtureSubModule('doc_text_orientation', model.dir);
    const cfg = sub.resolved.inferenceConfig;
    const withUnknownOp = {
      ...sub,
      resolved: {
        ...sub.resolved,
        inferenceConfig: { ...cfg, PreProcess: { transform_ops: [{ RandomFlip: { prob: 0.5 } }, ...cfg.PreProcess.transform_ops] } },
      },
    };
    await assert.rejects(
      DocOrientationClassifier.load(withUnknownOp, cpuRuntime(), 'SubModules.DocOrientationClassify'),
      (err: unknown) => err instanceof ConfigError && /PreProcess\.transform_ops\[0\] \(RandomFlip\): unsupported op/.test(err.message),
    );
  });
});
