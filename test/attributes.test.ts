import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeImage } from '../src/io/codec.js';
import { ObjectDetector } from '../src/models/objectDetection.js';
import { categoryColour } from '../src/vis/draw.js';
import {
  assertDrawnAt,
  attributePipelineYaml,
  PEDESTRIAN_LABELS,
  PEDESTRIAN_SCORES,
  VEHICLE_LABELS,
  VEHICLE_SCORES,
} from './helpers/cvFixtures.js';
import { cpuRuntime, detectorFixtureDir, fixtureSubModule, readTestImage } from './helpers/fixtures.js';
import { OPENCV_DATA, SHARED_MODELS } from './helpers/paths.js';
import { assertErrorEnvelope, postJson, type RunningServer, startServer } from './helpers/server.js';

const MESSI = path.join(OPENCV_DATA, 'messi5.jpg');
const BUS = path.join(SHARED_MODELS, 'PicoDet-XS', 'bus.jpg');

/** The attributes a fixture gives every crop above `min` (per class id), highest first. */
function expectedAttributes(scores: Readonly<Record<number, number>>, labels: string[], min: (classId: number) => number) {
  return Object.entries(scores)
    .map(([id, score]) => ({ id: Number(id), score }))
    .filter(({ id, score }) => score > min(id))
    .sort((a, b) => b.score - a.score)
    .map(({ id, score }) => ({ label: labels[id]!, score }));
}

/** The detector runs with another thread count in the server's worker: floats agree to a few ulps. */
function assertClose(actual: number[], expected: number[]): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-3, `[${actual}] vs [${expected}]`));
}

async function detections(file: string, threshold: number) {
  const sub = await fixtureSubModule('object_detection', detectorFixtureDir());
  const detector = await ObjectDetector.load(sub, cpuRuntime(), 'SubModules.Detection');
  const [found] = await detector.predict([await readTestImage(file)], { threshold });
  return found!;
}

describe('attribute recognition over HTTP (PicoDet-XS detector, PP-LCNet attribute fixtures)', () => {
  let server: RunningServer;
  let messi: string;
  let bus: string;
  before(async () => {
    server = await startServer({ pipelines: [await attributePipelineYaml('pedestrian'), await attributePipelineYaml('vehicle')] });
    messi = (await readFile(MESSI)).toString('base64');
    bus = (await readFile(BUS)).toString('base64');
  });
  after(() => server?.close());

  const post = (endpoint: string, body: Record<string, unknown>) => postJson(`${server.url}${endpoint}`, body);

  test('pedestrians: every detection above 0.5 with its box and score, attributes above 0.7 by descending score', async () => {
    const res = await post('/pedestrian-attribute-recognition', { image: messi, visualize: false });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(Object.keys(res.body.result), ['pedestrians']);
    const expectedBoxes = await detections(MESSI, 0.5);
    const pedestrians = res.body.result.pedestrians;
    assert.equal(pedestrians.length, expectedBoxes.length);
    pedestrians.forEach((p: any, i: number) => {
      assert.deepEqual(Object.keys(p), ['bbox', 'attributes', 'score']);
      assertClose(p.bbox, expectedBoxes[i]!.coordinate);
      assertClose([p.score], [expectedBoxes[i]!.score]);
      assert.deepEqual(
        p.attributes,
        expectedAttributes(PEDESTRIAN_SCORES, PEDESTRIAN_LABELS, () => 0.7),
      );
    });
    // the player is among them
    assert.ok(expectedBoxes.some((d) => d.label === 'person' && d.score > 0.9));
  });

  test('detThreshold filters the detections', async () => {
    const res = await post('/pedestrian-attribute-recognition', { image: messi, detThreshold: 0.85, visualize: false });
    const expected = await detections(MESSI, 0.85);
    assert.ok(expected.length >= 1 && expected.length < (await detections(MESSI, 0.5)).length);
    assertClose(
      res.body.result.pedestrians.flatMap((p: any) => p.bbox),
      expected.flatMap((d) => d.coordinate),
    );
  });

  test('clsThreshold: a number, {"default", "<class id>"} map, or one value per class', async () => {
    const attributes = async (clsThreshold: unknown) =>
      (await post('/pedestrian-attribute-recognition', { image: messi, detThreshold: 0.85, clsThreshold, visualize: false })).body.result
        .pedestrians[0].attributes;
    assert.deepEqual(
      await attributes(0.5),
      expectedAttributes(PEDESTRIAN_SCORES, PEDESTRIAN_LABELS, () => 0.5),
    );
    assert.deepEqual(
      await attributes({ default: 0.8, '20': 0.7 }),
      expectedAttributes(PEDESTRIAN_SCORES, PEDESTRIAN_LABELS, (id) => (id === 20 ? 0.7 : 0.8)),
    );
    const perClass = PEDESTRIAN_LABELS.map((_, id) => (id === 5 ? 0.2 : 0.9));
    assert.deepEqual(await attributes(perClass), [
      { label: 'Hat', score: 0.95 },
      { label: 'UpperLogo', score: 0.3 },
    ]);
  });

  test('clsThreshold mistakes are 422s saying what is wrong', async () => {
    const refused = async (clsThreshold: unknown, pattern: RegExp) => {
      const res = await post('/pedestrian-attribute-recognition', { image: messi, clsThreshold });
      assert.match(assertErrorEnvelope(res, 422), pattern);
    };
    await refused({ '3': 0.5 }, /default/);
    await refused({ default: 0.5, hat: 0.2 }, /default.*class id/);
    await refused([0.5, 0.5], /clsThreshold: a list needs one value per class \(26\), got 2/);
    await refused({ default: 0.5, '26': 0.2 }, /clsThreshold: class id 26 is not one of the model's 26 classes/);
    await refused('high', /./);
    const detNull = await post('/pedestrian-attribute-recognition', {
      image: messi,
      detThreshold: null,
      clsThreshold: null,
      visualize: false,
    });
    assert.equal(detNull.status, 200);
  });

  test('vehicles: same shape under `vehicles`, the vehicle model’s labels', async () => {
    const res = await post('/vehicle-attribute-recognition', { image: bus, visualize: false });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(Object.keys(res.body.result), ['vehicles']);
    const expectedBoxes = await detections(BUS, 0.5);
    assert.ok(expectedBoxes.some((d) => d.label === 'bus'));
    assertClose(
      res.body.result.vehicles.flatMap((v: any) => [...v.bbox, v.score]),
      expectedBoxes.flatMap((d) => [...d.coordinate, d.score]),
    );
    for (const v of res.body.result.vehicles) {
      assert.deepEqual(
        v.attributes,
        expectedAttributes(VEHICLE_SCORES, VEHICLE_LABELS, () => 0.7),
      );
    }
    assert.deepEqual(
      res.body.result.vehicles[0].attributes.map((a: any) => a.label),
      ['white(白色)', 'bus(公共汽车)'],
    );
  });

  test('visualize: each box outlined in its own colour where the result puts it, labels inside the box', async () => {
    const res = await post('/pedestrian-attribute-recognition', { image: messi, detThreshold: 0.85, visualize: true });
    const drawn = await decodeImage(Buffer.from(res.body.result.image, 'base64'), 'result image');
    const photo = await readTestImage(MESSI);
    assert.deepEqual([drawn.width, drawn.height], [photo.width, photo.height]);
    const [x1, y1, x2, y2] = res.body.result.pedestrians[0].bbox.map(Math.round);
    const colour = categoryColour(0);
    // the middle of the left, right and bottom edges
    assertDrawnAt(drawn, photo, x1, (y1 + y2) / 2, colour, 'left edge');
    assertDrawnAt(drawn, photo, Math.min(x2, drawn.width - 1), (y1 + y2) / 2, colour, 'right edge');
    assertDrawnAt(drawn, photo, (x1 + x2) / 2, Math.min(y2, drawn.height - 1), colour, 'bottom edge');
    // text lines (coloured, with a black shadow) start at the box's top-left corner
    const change = (x: number, y: number) => {
      const at = (y * photo.width + x) * 3;
      return Math.hypot(...[0, 1, 2].map((c) => drawn.data[at + c]! - photo.data[at + c]!));
    };
    let changed = 0;
    for (let y = y1 + 3; y < y1 + 50; y++) for (let x = x1 + 5; x < x1 + 60; x++) if (change(x, y) > 60) changed++;
    assert.ok(changed > 20, `label text in the box's top-left corner (${changed} pixels)`);
  });
});

test('YAML thresholds: Detection.threshold replaces 0.5; Classification.threshold null falls back to the model’s inference.yml (0.5)', async () => {
  const yaml = await attributePipelineYaml('pedestrian', { Detection: { threshold: 0.85 }, Classification: { threshold: null } });
  const server = await startServer({ pipelines: [yaml] });
  try {
    const image = (await readFile(MESSI)).toString('base64');
    const res = await postJson(`${server.url}/pedestrian-attribute-recognition`, { image, visualize: false });
    const pedestrians = res.body.result.pedestrians;
    assert.equal(pedestrians.length, (await detections(MESSI, 0.85)).length);
    for (const p of pedestrians) {
      assert.deepEqual(
        p.attributes,
        expectedAttributes(PEDESTRIAN_SCORES, PEDESTRIAN_LABELS, () => 0.5),
      );
    }
  } finally {
    await server.close();
  }
});
