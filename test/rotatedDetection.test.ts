import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeImage } from '../src/io/codec.js';
import type { RgbImage } from '../src/io/image.js';
import { ObjectDetector } from '../src/models/objectDetection.js';
import { categoryColour } from '../src/vis/draw.js';
import { assertDrawnAt, DOTA_LABELS, multiModelPipelineYaml, ROTATED_ROWS, rotatedDetectorFixtureDir } from './helpers/cvFixtures.js';
import { cpuRuntime, fixtureSubModule, readTestImage } from './helpers/fixtures.js';
import { OPENCV_DATA } from './helpers/paths.js';
import { assertErrorEnvelope, postJson, type RunningServer, startServer } from './helpers/server.js';

// An aerial photo, 640×480, as PP-YOLOE-R's DOTA pictures are.
const AERIAL = path.join(OPENCV_DATA, 'aero3.jpg');
const KEY_PATH = 'SubModules.RotatedObjectDetection';

/** Each corner of a fixture row clamped into the 640×480 photo, as PaddleX's restructured_rotated_boxes does. */
function expectedCorners(row: readonly number[]): number[] {
  return row.slice(2).map((v, i) => Math.min(Math.max(0, v), i % 2 === 0 ? 640 : 480));
}

function assertCloseArray(actual: readonly number[], expected: readonly number[], tolerance = 1e-3): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) <= tolerance, `[${actual}] vs [${expected}]`));
}

async function loadDetector(): Promise<ObjectDetector> {
  const sub = await fixtureSubModule('rotated_object_detection', await rotatedDetectorFixtureDir());
  return ObjectDetector.load(sub, cpuRuntime(), KEY_PATH);
}

describe('rotated detector (PP-YOLOE-R-L fixture)', () => {
  let detector: ObjectDetector;
  let photo: RgbImage;
  before(async () => {
    detector = await loadDetector();
    photo = await readTestImage(AERIAL);
  });

  test('8-point boxes in original pixels, corners clamped, padding rows and scores <= draw_threshold dropped', async () => {
    const [objects] = await detector.predictRotated([photo]);
    assert.deepEqual(
      objects!.map((o) => [o.clsId, o.label]),
      [
        [0, 'plane'],
        [4, 'small-vehicle'],
      ],
    );
    assertCloseArray(objects![0]!.coordinate, expectedCorners(ROTATED_ROWS[0]!));
    // the second box runs off the picture: x 700 → 640, y 500 → 480
    assertCloseArray(objects![1]!.coordinate, [600, 400, 640, 420, 640, 480, 590, 480]);
    assert.ok(Math.abs(objects![0]!.score - 0.92) < 1e-6);
  });

  test('threshold forms: a number, or a per-class map (others keep draw_threshold), grouped by class id', async () => {
    const [low] = await detector.predictRotated([photo], { threshold: 0.3 });
    assert.deepEqual(
      low!.map((o) => o.label),
      ['plane', 'small-vehicle', 'ship'],
    );
    const [strict] = await detector.predictRotated([photo], { threshold: 0.7 });
    assert.deepEqual(
      strict!.map((o) => o.label),
      ['plane'],
    );
    const [perClass] = await detector.predictRotated([photo], { threshold: { 6: 0.4, 4: 0.7 } });
    assert.deepEqual(
      perClass!.map((o) => o.clsId),
      [0, 6],
    );
  });

  test('a rotated model is refused by the axis-aligned detection path, with the pipeline to use', async () => {
    await assert.rejects(detector.predict([photo]), /rows of 10 values.*rotated_object_detection pipeline/);
  });
});

describe('/rotated-object-detection over HTTP', () => {
  let server: RunningServer;
  let image: string;
  before(async () => {
    const yaml = await multiModelPipelineYaml('rotated_object_detection', {
      RotatedObjectDetection: { modelDir: await rotatedDetectorFixtureDir() },
    });
    server = await startServer({ pipelines: [yaml] });
    image = (await readFile(AERIAL)).toString('base64');
  });
  after(() => server?.close());

  test('detectedObjects with RotatedBoundingBox, categoryId, categoryName, score; the YAML threshold 0.5', async () => {
    const res = await postJson(`${server.url}/rotated-object-detection`, { image, visualize: false });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(Object.keys(res.body.result), ['detectedObjects']);
    const objects = res.body.result.detectedObjects;
    assert.deepEqual(
      objects.map((o: any) => Object.keys(o)),
      [
        ['bbox', 'categoryId', 'categoryName', 'score'],
        ['bbox', 'categoryId', 'categoryName', 'score'],
      ],
    );
    assert.deepEqual(
      objects.map((o: any) => [o.categoryId, o.categoryName]),
      [
        [0, DOTA_LABELS[0]],
        [4, DOTA_LABELS[4]],
      ],
    );
    assertCloseArray(objects[0].bbox, expectedCorners(ROTATED_ROWS[0]!));
  });

  test('request threshold: a number, or {"classId": number}; anything else is a 422', async () => {
    const low = await postJson(`${server.url}/rotated-object-detection`, { image, threshold: 0.3, visualize: false });
    assert.equal(low.body.result.detectedObjects.length, 3);
    const map = await postJson(`${server.url}/rotated-object-detection`, { image, threshold: { '0': 0.95 }, visualize: false });
    assert.deepEqual(
      map.body.result.detectedObjects.map((o: any) => o.categoryId),
      [4],
    );
    assertErrorEnvelope(await postJson(`${server.url}/rotated-object-detection`, { image, threshold: { plane: 0.3 } }), 422);
  });

  test('visualize draws each rotated outline in its category colour along the returned corners', async () => {
    const res = await postJson(`${server.url}/rotated-object-detection`, { image, visualize: true });
    const drawn = await decodeImage(Buffer.from(res.body.result.image, 'base64'), 'result image');
    const original = await readTestImage(AERIAL);
    assert.deepEqual([drawn.width, drawn.height], [original.width, original.height]);
    const [first] = res.body.result.detectedObjects;
    const c: number[] = first.bbox;
    // the midpoint of each edge of the diamond
    for (let k = 0; k < 4; k++) {
      const x = (c[2 * k]! + c[(2 * k + 2) % 8]!) / 2;
      const y = (c[2 * k + 1]! + c[(2 * k + 3) % 8]!) / 2;
      assertDrawnAt(drawn, original, x, y, categoryColour(first.categoryId), `edge ${k}`);
    }
    const pixel = (img: RgbImage, x: number, y: number) =>
      Array.from(img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3));
    // the centre of the diamond is left alone (JPEG noise only)
    const centre = pixel(drawn, 320, 240);
    const before = pixel(original, 320, 240);
    assert.ok(Math.hypot(...centre.map((v, i) => v - before[i]!)) < 30, `${centre} vs ${before}`);
  });
});
