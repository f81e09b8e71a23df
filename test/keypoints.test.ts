import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeImage } from '../src/io/codec.js';
import { KeypointDetector } from '../src/models/keypointDetection.js';
import { personBox } from '../src/pipelines/human_keypoint_detection/worker.js';
import {
  assertDrawnAt,
  fixtureHeatmaps,
  HEATMAP_HEIGHT,
  HEATMAP_PEAKS,
  HEATMAP_WIDTH,
  keypointFixtureDir,
  keypointPipelineYaml,
} from './helpers/cvFixtures.js';
import { cpuRuntime, fixtureSubModule, readTestImage } from './helpers/fixtures.js';
import { OPENCV_DATA, SKIMAGE_DATA } from './helpers/paths.js';
import { postJson, type RunningServer, startServer } from './helpers/server.js';

const MESSI = path.join(OPENCV_DATA, 'messi5.jpg');
const ASTRONAUT = path.join(SKIMAGE_DATA, 'astronaut.png');
const KEY_PATH = 'SubModules.KeypointDetection';

type Box = [number, number, number, number];

/**
 * Where each fixture peak lands in the image, worked out from the box alone: PaddleX pads the box to
 * the 96:128 input aspect, grows it by 1.25 and maps the 24×32 heatmap onto it, heatmap centre on box
 * centre, one heatmap pixel = padded box width / 24 image pixels in both directions.
 */
function expectedPoints([x1, y1, x2, y2]: Box): Array<[number, number]> {
  let [w, h] = [x2 - x1, y2 - y1];
  if (w / h > 0.75) h = w / 0.75;
  else w = h * 0.75;
  const unit = (1.25 * w) / HEATMAP_WIDTH;
  const [cx, cy] = [(x1 + x2) / 2, (y1 + y2) / 2];
  return HEATMAP_PEAKS.map(([hx, hy]) => [cx + (hx - HEATMAP_WIDTH / 2) * unit, cy + (hy - HEATMAP_HEIGHT / 2) * unit]);
}

/** The score of each joint: the highest heatmap sample. */
function expectedScores(): number[] {
  const maps = fixtureHeatmaps();
  const plane = HEATMAP_WIDTH * HEATMAP_HEIGHT;
  return HEATMAP_PEAKS.map((_, j) => Math.max(...maps.subarray(j * plane, (j + 1) * plane)));
}

function assertWithinOnePixel(kpts: Array<[number, number, number]>, box: Box): void {
  const expected = expectedPoints(box);
  assert.equal(kpts.length, 17);
  kpts.forEach(([x, y], j) => {
    const [ex, ey] = expected[j]!;
    assert.ok(
      Math.hypot(x - ex, y - ey) < 1,
      `joint ${j}: (${x.toFixed(2)}, ${y.toFixed(2)}) vs expected (${ex.toFixed(2)}, ${ey.toFixed(2)})`,
    );
  });
}

describe('keypoint model (PP-TinyPose_128x96 fixture) on a fixed box of astronaut.png', () => {
  const BOX: Box = [182.5, 31.25, 341.75, 496.5];
  const load = async (params: Record<string, unknown> = {}, modelName?: string) =>
    KeypointDetector.load(
      await fixtureSubModule('keypoint_detection', await keypointFixtureDir(modelName), params),
      cpuRuntime(),
      KEY_PATH,
    );

  test('peaks land within 1 px of where the box maps them (argmax + DARK + inverse affine); scores are the peak values', async () => {
    const detector = await load();
    assert.deepEqual(detector.inputSize, [96, 128]);
    const [result] = await detector.predict(await readTestImage(ASTRONAUT), [personBox(BOX, detector.inputSize)]);
    assertWithinOnePixel(result!.keypoints, BOX);
    const scores = expectedScores();
    result!.keypoints.forEach(([, , score], j) => assert.ok(Math.abs(score - scores[j]!) < 1e-6));
    assert.ok(Math.abs(result!.kptScore - scores.reduce((a, b) => a + b) / 17) < 1e-6);
  });

  test('flip: the mirrored run, flipped back with left/right swapped and shifted a column (PP-TinyPose), agrees within 1 px', async () => {
    const detector = await load({ flip: true });
    const [result] = await detector.predict(await readTestImage(ASTRONAUT), [personBox(BOX, detector.inputSize)]);
    assertWithinOnePixel(result!.keypoints, BOX);
  });

  test('flip on a model PaddleX does not shift (not PP-TinyPose): the average sits half a heatmap column left', async () => {
    const plain = await load({}, 'HRNet-W32_keypoint');
    const flipped = await load({ flip: true }, 'HRNet-W32_keypoint');
    const img = await readTestImage(ASTRONAUT);
    const box = personBox(BOX, plain.inputSize);
    const [a] = await plain.predict(img, [box]);
    const [b] = await flipped.predict(img, [box]);
    const halfColumn = box.scale[0] / HEATMAP_WIDTH / 2;
    a!.keypoints.forEach(([x, y], j) => {
      const [fx, fy] = b!.keypoints[j]!;
      assert.ok(Math.abs(fx - (x - halfColumn)) < 1 && Math.abs(fy - y) < 1, `joint ${j}: ${fx} vs ${x} - ${halfColumn}`);
    });
  });

  test('use_udp from the pipeline YAML overrides the export and still decodes to the same points (the crop changes, not the heatmap mapping)', async () => {
    const detector = await load({ use_udp: true });
    const [result] = await detector.predict(await readTestImage(ASTRONAUT), [personBox(BOX, detector.inputSize)]);
    assertWithinOnePixel(result!.keypoints, BOX);
  });
});

describe('/human-keypoint-detection over HTTP (PicoDet-XS person detector, keypoint fixture)', () => {
  let server: RunningServer;
  let image: string;
  before(async () => {
    server = await startServer({ pipelines: [await keypointPipelineYaml()] });
    image = (await readFile(MESSI)).toString('base64');
  });
  after(() => server?.close());

  test('persons: bbox, kpts [x, y, score] × 17 within 1 px of the fixture peaks mapped through each box, detScore, kptScore', async () => {
    const res = await postJson(`${server.url}/human-keypoint-detection`, { image, visualize: false });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(Object.keys(res.body.result), ['persons']);
    const persons = res.body.result.persons;
    assert.ok(persons.length >= 1);
    assert.ok(
      persons.some((p: any) => p.detScore > 0.9),
      'the player',
    );
    for (const p of persons) {
      assert.deepEqual(Object.keys(p), ['bbox', 'kpts', 'detScore', 'kptScore']);
      assertWithinOnePixel(p.kpts, p.bbox);
      assert.ok(p.detScore > 0.5);
      assert.ok(Math.abs(p.kptScore - expectedScores().reduce((a, b) => a + b) / 17) < 1e-5);
    }
  });

  test('detThreshold filters the persons', async () => {
    const all = (await postJson(`${server.url}/human-keypoint-detection`, { image, visualize: false })).body.result.persons;
    const strict = (await postJson(`${server.url}/human-keypoint-detection`, { image, detThreshold: 0.85, visualize: false })).body.result
      .persons;
    assert.ok(strict.length >= 1 && strict.length < all.length);
    for (const p of strict) assert.ok(p.detScore > 0.85);
  });

  test('visualize: limbs drawn (blended at 60 %) between the returned keypoints', async () => {
    const res = await postJson(`${server.url}/human-keypoint-detection`, { image, detThreshold: 0.85, visualize: true });
    const drawn = await decodeImage(Buffer.from(res.body.result.image, 'base64'), 'result image');
    const photo = await readTestImage(MESSI);
    const kpts: Array<[number, number, number]> = res.body.result.persons[0].kpts;
    // limb 16 joins the hips (11, 12) in PaddleX's colour [255, 0, 170]; limb 6 the left shoulder and elbow (5, 7) in [0, 255, 0]
    for (const [limb, a, b, colour] of [
      [16, 11, 12, [255, 0, 170]],
      [6, 5, 7, [0, 255, 0]],
    ] as const) {
      const [x, y] = [(kpts[a]![0] + kpts[b]![0]) / 2, (kpts[a]![1] + kpts[b]![1]) / 2];
      const at = (Math.round(y) * photo.width + Math.round(x)) * 3;
      const blended = [0, 1, 2].map((c) => 0.6 * colour[c]! + 0.4 * photo.data[at + c]!);
      assertDrawnAt(drawn, photo, x, y, blended, `limb ${limb}`);
    }
    const plain = await postJson(`${server.url}/human-keypoint-detection`, { image, visualize: false });
    assert.equal(plain.body.result.image, undefined);
  });
});
