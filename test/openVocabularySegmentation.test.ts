import { describe, test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { decodeImage } from '../src/io/codec.js';
import { samResizeShape } from '../src/models/openVocabularySegmentation.js';
import { encodeCocoRle } from '../src/ops/cocoRle.js';
import { resizeBilinear } from '../src/ops/bilinear.js';
import { openVocabularySegmentationPipeline } from '../src/pipelines/open_vocabulary_segmentation/pipeline.js';
import { runCli } from './helpers/cli.js';
import { decodeCocoRle } from './helpers/cocoRle.js';
import { multiModelPipelineYaml } from './helpers/cvFixtures.js';
import { createWorkerOps, readTestImage } from './helpers/fixtures.js';
import { SAM_POINT_HALF_SIDE, samFixtureDir } from './helpers/openVocabularyFixtures.js';
import { SKIMAGE_DATA } from './helpers/paths.js';
import { assertErrorEnvelope, postJson, startServer, type RunningServer } from './helpers/server.js';
import { parsePipelineConfig } from '../src/config/pipelineConfig.js';
import { resolvePipelineModels } from '../src/config/models.js';

// The fixtures imitate PaddleX's SAM-H_box and SAM-H_point exports (see samFixtureDir).
const CHELSEA = path.join(SKIMAGE_DATA, 'chelsea.png');
const BOXES = [
  [120, 40, 300, 220],
  [20, 150, 90, 280],
];
const POINT = [225, 150];

async function samYaml(): Promise<string> {
  return multiModelPipelineYaml('open_vocabulary_segmentation', {
    BoxPromptSegmentation: { modelDir: await samFixtureDir('box') },
    PointPromptSegmentation: { modelDir: await samFixtureDir('point') },
  });
}

/** A width × height mask of the pixels whose centre passes `inside`. */
function maskOf(width: number, height: number, inside: (cx: number, cy: number) => boolean): Uint8Array {
  return Uint8Array.from({ length: width * height }, (_, i) => (inside((i % width) + 0.5, Math.floor(i / width) + 0.5) ? 1 : 0));
}

describe('SAM pre- and post-processing (PaddleX SAMProcessor)', () => {
  test('resize: the longer side becomes 1024, each side rounded half up', () => {
    assert.deepEqual(samResizeShape(451, 300, 1024), [681, 1024]);
    assert.deepEqual(samResizeShape(300, 451, 1024), [1024, 681]);
    assert.deepEqual(samResizeShape(2048, 2048, 1024), [1024, 1024]);
  });

  test('bilinear as paddle F.interpolate(align_corners=False): half-pixel centres, clamped edges, cropped corner', () => {
    const src = Float32Array.from([0, 10, 20, 30]); // 2 × 2
    // 2 → 4 per axis: source x = (d + 0.5)/2 − 0.5 → −0.25 (clamped 0), 0.25, 0.75, 1.25 (upper index clamped)
    const up = resizeBilinear(src, 2, 2, 4, 4);
    assert.deepEqual(Array.from(up.subarray(0, 4)), [0, 2.5, 7.5, 10]);
    assert.deepEqual(Array.from(up.subarray(12, 16)), [20, 22.5, 27.5, 30]);
    assert.deepEqual(Array.from(resizeBilinear(src, 2, 2, 4, 4, 2, 1)), [0, 2.5]);
  });
});

describe('SAM-H-shaped fixtures on a real photo', () => {
  test('box prompts: one full-image mask each, the pixels inside the box, RLE as pycocotools', async () => {
    const config = resolvePipelineModels(parsePipelineConfig(await readFile(await samYaml(), 'utf8'), 'sam.yaml'));
    const ops = await createWorkerOps(openVocabularySegmentationPipeline, config);
    const photo = await readTestImage(CHELSEA);
    const image = new Uint8Array(await readFile(CHELSEA));
    const result = await ops.predict({ image, prompt: BOXES, promptType: 'box', visualize: false });
    assert.deepEqual(result.maskInfos, [
      { label: 'box_prompt', prompt: BOXES[0] },
      { label: 'box_prompt', prompt: BOXES[1] },
    ]);
    assert.equal(result.masks.length, 2);
    result.masks.forEach((mask, k) => {
      const [x1, y1, x2, y2] = BOXES[k]!;
      const want = maskOf(photo.width, photo.height, (x, y) => x > x1! && x < x2! && y > y1! && y < y2!);
      assert.deepEqual(mask.size, [photo.height, photo.width]);
      assert.equal(mask.rleResult, encodeCocoRle(want, photo.width, photo.height), `box ${k}`);
      assert.deepEqual(decodeCocoRle(mask.rleResult, photo.height, photo.width), want);
    });
  });

  test('a point prompt: the point model, one mask around the point', async () => {
    const config = resolvePipelineModels(parsePipelineConfig(await readFile(await samYaml(), 'utf8'), 'sam.yaml'));
    const ops = await createWorkerOps(openVocabularySegmentationPipeline, config);
    const photo = await readTestImage(CHELSEA);
    const result = await ops.predict({
      image: new Uint8Array(await readFile(CHELSEA)),
      prompt: [POINT],
      promptType: 'point',
      visualize: true,
    });
    assert.deepEqual(result.maskInfos, [{ label: 'point_prompt', prompt: POINT }]);
    const [height, width] = samResizeShape(photo.width, photo.height, 1024);
    const [sx, sy] = [width / photo.width, height / photo.height];
    const want = maskOf(
      photo.width,
      photo.height,
      (x, y) => Math.max(Math.abs(x - POINT[0]!) * sx, Math.abs(y - POINT[1]!) * sy) < SAM_POINT_HALF_SIDE,
    );
    assert.equal(result.masks[0]!.rleResult, encodeCocoRle(want, photo.width, photo.height));
    const drawn = await decodeImage(result.image!, 'drawn');
    assert.deepEqual([drawn.width, drawn.height], [photo.width, photo.height]);
  });
});

describe('/open-vocabulary-segmentation', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ pipelines: [await samYaml()] });
  });
  after(() => server?.close());

  test('POST: masks, maskInfos and the drawing (Serving.visualize)', async () => {
    const image = (await readFile(CHELSEA)).toString('base64');
    const res = await postJson(`${server.url}/open-vocabulary-segmentation`, { image, prompt: BOXES, promptType: 'box' });
    assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 300));
    assert.deepEqual(Object.keys(res.body.result), ['masks', 'maskInfos', 'image']);
    assert.deepEqual(res.body.result.masks[0].size, [300, 451]);
    assert.deepEqual(Object.keys(res.body.result.masks[0]), ['rleResult', 'size']);
  });

  test('bad prompts are 422 envelopes naming the problem', async () => {
    const image = (await readFile(CHELSEA)).toString('base64');
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ image, prompt: BOXES }, /promptType/],
      [{ image, promptType: 'box' }, /prompt/],
      [{ image, prompt: BOXES, promptType: 'mask' }, /promptType must be .*box.* or .*point.*, got .*mask/],
      [{ image, prompt: [], promptType: 'box' }, /prompt is empty/],
      [{ image, prompt: [[1, 2, 3]], promptType: 'box' }, /prompt\[0\] has 3 numbers/],
      [
        {
          image,
          prompt: [
            [1, 2],
            [3, 4],
          ],
          promptType: 'point',
        },
        /one point/,
      ],
      [{ image, prompt: [[1, 2, 3]], promptType: 'point' }, /one point/],
      [{ image, prompt: Array.from({ length: 33 }, () => [0, 0, 10, 10]), promptType: 'box' }, /33 boxes; at most 32/],
      [{ image, prompt: [['a', 2, 3, 4]], promptType: 'box' }, /prompt/],
      [{ image, prompt: '[[1, 2, 3, 4]]', promptType: 'box' }, /prompt/],
    ];
    for (const [body, message] of bad) {
      const res = await postJson(`${server.url}/open-vocabulary-segmentation`, body);
      assert.match(assertErrorEnvelope(res, 422), message, JSON.stringify(body).slice(0, 80));
    }
  });
});

describe('--input', () => {
  test('--prompt (JSON) and --prompt_type reach the request', async () => {
    const out = await mkdtemp(path.join(os.tmpdir(), 'pipeserve-ovs-input-'));
    const run = await runCli([
      '--pipeline',
      await samYaml(),
      '--input',
      CHELSEA,
      '--save_path',
      out,
      '--prompt',
      JSON.stringify(BOXES),
      '--prompt_type',
      'box',
      '--workers',
      '1',
    ]);
    assert.equal(run.code, 0, run.stderr);
    const saved = JSON.parse(await readFile(path.join(out, 'chelsea_res.json'), 'utf8'));
    assert.equal(saved.masks.length, 2);
    assert.deepEqual(saved.maskInfos[1], { label: 'box_prompt', prompt: BOXES[1] });
    assert.ok((await readdir(out)).some((name) => name.endsWith('.jpg')));
    const badJson = await runCli([
      '--pipeline',
      await samYaml(),
      '--input',
      CHELSEA,
      '--prompt',
      '[[1, 2',
      '--prompt_type',
      'box',
      '--workers',
      '1',
    ]);
    assert.notEqual(badJson.code, 0);
    assert.match(badJson.stderr, /--prompt \[\[1, 2: expected JSON/);
  });
});
