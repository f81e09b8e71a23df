import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { ConfigError } from '../src/errors.js';
import { InstanceSegmenter } from '../src/models/instanceSegmentation.js';
import { encodeCocoRle } from '../src/ops/cocoRle.js';
import { instanceSegmentationPipeline } from '../src/pipelines/instance_segmentation/pipeline.js';
import { COCO_LABELS, MASK_RTDETR_INSTANCES, maskRtDetrFixtureDir, type FixtureInstance } from './helpers/cvFixtures.js';
import {
  cpuRuntime,
  createWorkerOps,
  detectorFixtureDir,
  fixturePipelineConfig,
  fixturePipelineYaml,
  fixtureSubModule,
  inProcessContext,
  readTestImage,
} from './helpers/fixtures.js';
import { decodeCocoRle } from './helpers/cocoRle.js';
import { OPENCV_DATA } from './helpers/paths.js';
import { postJson, startServer, type RunningServer } from './helpers/server.js';

const MESSI = path.join(OPENCV_DATA, 'messi5.jpg');
const KEY_PATH = 'SubModules.InstanceSegmentation';

/** A row-major mask from its column-major pixel sequence (how COCO counts runs). */
function fromColumnMajor(sequence: number[], height: number, width: number): Uint8Array {
  return Uint8Array.from({ length: height * width }, (_, i) => sequence[(i % width) * height + Math.floor(i / width)]!);
}

describe('COCO compressed RLE (pycocotools mask.encode → counts)', () => {
  // python3-pycocotools is not packaged for this Debian, so the expected strings are worked by hand.
  test('hand-worked masks', () => {
    // 3×3 zeros: one run of 9 zeros → chr(48 + 9)
    assert.equal(encodeCocoRle(new Uint8Array(9), 3, 3), '9');
    // 2×2 ones: runs [0, 4]
    assert.equal(encodeCocoRle(new Uint8Array(4).fill(1), 2, 2), '04');
    // rows "0 1 1" / "0 1 0": columns (0,0), (1,1), (1,0) → runs [2, 3, 1]
    assert.equal(encodeCocoRle(Uint8Array.from([0, 1, 1, 0, 1, 0]), 3, 2), '231');
    // runs [5, 40, 3, 10] on 2×29: 40 = 8 + 1·32 → 'X' (8|0x20 + 48), '1'; the 4th count is written as
    // 10 − 40 = −30: low 5 bits 2 with "more" → 'R', then −1's low 5 bits 31 → 'O'
    const sequence = [...new Array(5).fill(0), ...new Array(40).fill(1), ...new Array(3).fill(0), ...new Array(10).fill(1)];
    assert.equal(encodeCocoRle(fromColumnMajor(sequence, 2, 29), 29, 2), '5X13RO');
    // an empty mask (a box narrower than a pixel) is one run of 0
    assert.equal(encodeCocoRle(new Uint8Array(0), 0, 5), '0');
  });

  test('round trip through an independent decoder on pseudo-random masks of many shapes', () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (const [width, height, density] of [
      [1, 1, 0.5],
      [17, 5, 0.5],
      [64, 48, 0.05],
      [64, 48, 0.95],
      [200, 3, 0.3],
      [3, 200, 0.7],
    ] as const) {
      // blobs: runs of equal values so counts grow beyond one 5-bit group
      let value = 0;
      const mask = Uint8Array.from({ length: width * height }, () => {
        if (random() < 0.1) value = random() < density ? 1 : 0;
        return value;
      });
      assert.deepEqual(decodeCocoRle(encodeCocoRle(mask, width, height), height, width), mask, `${width}×${height}`);
    }
  });
});

/** What the fixture must return for a width × height photo: boxes, and each mask cut to its rounded box. */
function expectedInstance(instance: FixtureInstance, width: number, height: number) {
  const f = Math.fround;
  const scale = [width, height, width, height];
  const bbox = instance.box.map((frac, k) => f(f(frac) * scale[k]!));
  const [x1, y1, x2, y2] = bbox.map((v) => Math.round(v)) as [number, number, number, number]; // no .5 ties for these boxes
  const [bx1, by1, bx2, by2] = instance.box;
  const cx = f(f((bx1 + bx2) / 2) * width);
  const cy = f(f((by1 + by2) / 2) * height);
  const rx = f(f((bx2 - bx1) / 2) * width);
  const ry = f(f((by2 - by1) / 2) * height);
  const mask = new Uint8Array((x2 - x1) * (y2 - y1));
  for (let y = y1; y < y2; y++) {
    for (let x = x1; x < x2; x++) {
      const dx = f(f(x + 0.5 - cx) / rx);
      const dy = f(f(y + 0.5 - cy) / ry);
      mask[(y - y1) * (x2 - x1) + (x - x1)] = f(f(dx * dx) + f(dy * dy)) < 1 ? 1 : 0;
    }
  }
  return { bbox, size: [y2 - y1, x2 - x1] as [number, number], mask, categoryId: instance.classId, score: instance.score };
}

describe('Mask-RT-DETR-S-shaped fixture on a real photo', () => {
  test('threshold 0.5 (YAML): two instances, boxes in original pixels, masks cut to the box, RLE as pycocotools', async () => {
    const config = await fixturePipelineConfig('instance_segmentation', await maskRtDetrFixtureDir());
    const ops = await createWorkerOps(instanceSegmentationPipeline, config);
    const photo = await readTestImage(MESSI);
    const result = await ops.predict({ image: new Uint8Array(await readFile(MESSI)), visualize: false });
    const expected = MASK_RTDETR_INSTANCES.filter((i) => i.score > 0.5).map((i) => expectedInstance(i, photo.width, photo.height));
    assert.equal(result.instances.length, 2);
    result.instances.forEach((got, k) => {
      const want = expected[k]!;
      assert.deepEqual(Object.keys(got), ['bbox', 'categoryId', 'categoryName', 'score', 'mask']);
      assert.equal(got.categoryId, want.categoryId);
      assert.equal(got.categoryName, COCO_LABELS[want.categoryId]);
      assert.ok(Math.abs(got.score - want.score) < 1e-6);
      got.bbox.forEach((v, c) => assert.ok(Math.abs(v - want.bbox[c]!) < 1e-3, `bbox ${got.bbox} vs ${want.bbox}`));
      assert.deepEqual(got.mask.size, want.size);
      assert.equal(got.mask.rleResult, encodeCocoRle(want.mask, want.size[1], want.size[0]));
      assert.deepEqual(decodeCocoRle(got.mask.rleResult, ...want.size), want.mask);
      const filled = want.mask.reduce((a, b) => a + b, 0) / want.mask.length;
      assert.ok(filled > 0.7 && filled < 0.85, `an inscribed ellipse fills π/4 of its box (${filled})`);
    });
  });

  test('threshold: a request value wins over the YAML; the draw_threshold of inference.yml applies without either', async () => {
    const config = await fixturePipelineConfig('instance_segmentation', await maskRtDetrFixtureDir(), { threshold: 0.8 });
    const ops = await createWorkerOps(instanceSegmentationPipeline, config);
    const image = new Uint8Array(await readFile(MESSI));
    assert.deepEqual(
      (await ops.predict({ image, visualize: false })).instances.map((i) => i.categoryName),
      ['person'],
    );
    assert.equal((await ops.predict({ image, threshold: 0.2, visualize: false })).instances.length, 3);
    const model = await InstanceSegmenter.load(
      await fixtureSubModule('instance_segmentation', await maskRtDetrFixtureDir()),
      cpuRuntime(),
      KEY_PATH,
    );
    assert.equal(model.drawThreshold, 0.5);
    assert.equal((await model.predict([await readTestImage(MESSI)]))[0]!.length, 2);
  });

  test('visualization: mask pixels tinted in the class colour, pixels outside every box untouched', async () => {
    const config = await fixturePipelineConfig('instance_segmentation', await maskRtDetrFixtureDir());
    const ops = await createWorkerOps(instanceSegmentationPipeline, config);
    const photo = await readTestImage(MESSI);
    const result = await ops.predict({ image: new Uint8Array(await readFile(MESSI)), visualize: true });
    const { data, info } = await sharp(result.image!).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height], [photo.width, photo.height]);
    const at = (buf: Uint8Array, x: number, y: number) => [0, 1, 2].map((c) => buf[(y * photo.width + x) * 3 + c]!);
    for (const instance of result.instances) {
      // the centre of the ellipse: 30 % of the photo + 70 % of the whitened class colour
      const [x1, y1, x2, y2] = instance.bbox;
      const [cx, cy] = [Math.round((x1 + x2) / 2), Math.round((y1 + y2) / 2)];
      const before = at(photo.data, cx, cy);
      const after = at(data, cx, cy);
      const diff = before.reduce((sum, v, c) => sum + Math.abs(v - after[c]!), 0);
      assert.ok(diff > 60, `pixel (${cx}, ${cy}) of ${instance.categoryName} is tinted: ${before} → ${after}`);
    }
    // far from both boxes (bottom-right corner region) the photo is unchanged but for JPEG noise
    const outside = at(photo.data, photo.width - 10, 10);
    const drawn = at(data, photo.width - 10, 10);
    assert.ok(
      outside.every((v, c) => Math.abs(v - drawn[c]!) < 25),
      `${outside} vs ${drawn}`,
    );
  });

  test('a detector without a mask output is a ConfigError', async () => {
    const sub = await fixtureSubModule('instance_segmentation', detectorFixtureDir());
    await assert.rejects(
      InstanceSegmenter.load(sub, cpuRuntime(), KEY_PATH),
      (err: Error) => err instanceof ConfigError && /no mask output/.test(err.message),
    );
  });
});

describe('/instance-segmentation', () => {
  test('request schema: threshold is a number or null (no per-class map, as PaddleX)', () => {
    const schema = instanceSegmentationPipeline.endpoints[0]!.request;
    for (const threshold of [0.5, 0, null, undefined]) assert.ok(schema.safeParse({ image: 'x', threshold }).success);
    for (const threshold of ['0.5', { 0: 0.5 }, [0.5]]) assert.equal(schema.safeParse({ image: 'x', threshold }).success, false);
  });

  test('handler: image only when visualizing', async () => {
    const config = await fixturePipelineConfig('instance_segmentation', await maskRtDetrFixtureDir());
    const ops = await createWorkerOps(instanceSegmentationPipeline, config);
    const endpoint = instanceSegmentationPipeline.endpoints[0]!;
    const image = (await readFile(MESSI)).toString('base64');
    const ctx = inProcessContext(instanceSegmentationPipeline, ops, config, true);
    assert.deepEqual(Object.keys(await endpoint.handle(endpoint.request.parse({ image, visualize: false }), ctx)), ['instances']);
    assert.deepEqual(Object.keys(await endpoint.handle(endpoint.request.parse({ image }), ctx)), ['instances', 'image']);
  });

  describe('over HTTP', () => {
    let server: RunningServer;
    after(() => server?.close());
    test('POST /instance-segmentation: masks decode to their boxes’ sizes', async () => {
      server = await startServer({ pipelines: [await fixturePipelineYaml('instance_segmentation', await maskRtDetrFixtureDir())] });
      const res = await postJson(`${server.url}/instance-segmentation`, {
        image: (await readFile(MESSI)).toString('base64'),
        threshold: 0.2,
      });
      assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 300));
      assert.equal(res.body.result.instances.length, 3);
      for (const instance of res.body.result.instances) {
        const [h, w] = instance.mask.size;
        assert.equal(decodeCocoRle(instance.mask.rleResult, h, w).length, h * w);
      }
      assert.equal(typeof res.body.result.image, 'string');
      const bad = await postJson(`${server.url}/instance-segmentation`, { image: 'x', threshold: { 0: 0.5 } });
      assert.equal(bad.status, 422);
    });
  });
});
