import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { MultiLabelClassifier, type MultiLabelThreshold } from '../src/models/multilabelClassification.js';
import { imageMultilabelClassificationPipeline } from '../src/pipelines/image_multilabel_classification/pipeline.js';
import {
  COCO_LABELS,
  MULTILABEL_FIXED_SCORES,
  MULTILABEL_GAIN,
  multilabelFixtureDir,
  resizedWithSharpLinear,
} from './helpers/cvFixtures.js';
import {
  cpuRuntime,
  createWorkerOps,
  fixturePipelineConfig,
  fixturePipelineYaml,
  fixtureSubModule,
  inProcessContext,
  readTestImage,
} from './helpers/fixtures.js';
import { OPENCV_DATA, SKIMAGE_DATA } from './helpers/paths.js';
import { postJson, startServer, type RunningServer } from './helpers/server.js';

const KEY_PATH = 'SubModules.ImageMultiLabelClassification';
const FRUITS = path.join(OPENCV_DATA, 'fruits.jpg');
const CHELSEA = path.join(SKIMAGE_DATA, 'chelsea.png');
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

/** Every class score the fixture gives a photo, computed from the photo resized to 448×448. */
async function expectedScores(file: string): Promise<number[]> {
  const fed = await resizedWithSharpLinear(await readTestImage(file), 448, 448);
  const sums = [0, 0, 0];
  for (let i = 0; i < 448 * 448; i++) for (let c = 0; c < 3; c++) sums[c]! += fed.data[i * 3 + c]!;
  const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
  return COCO_LABELS.map((_, k) =>
    k < 3 ? sigmoid((MULTILABEL_GAIN * (sums[k]! / (448 * 448) / 255 - MEAN[k]!)) / STD[k]!) : (MULTILABEL_FIXED_SCORES[k] ?? 0.1),
  );
}

/** Ids above their threshold, best first: PaddleX's MultiLabelThreshOutput written out for the test. */
function expectedIds(scores: number[], thresholds: number[]): number[] {
  return scores
    .map((s, k) => [s, k] as const)
    .filter(([s, k]) => s > thresholds[k]!)
    .sort((a, b) => b[0] - a[0])
    .map(([, k]) => k);
}

let shared: Promise<MultiLabelClassifier> | undefined;
function classifier(): Promise<MultiLabelClassifier> {
  shared ??= multilabelFixtureDir()
    .then((dir) => fixtureSubModule('image_multilabel_classification', dir))
    .then((sub) => MultiLabelClassifier.load(sub, cpuRuntime(), KEY_PATH));
  return shared;
}

async function classify(file: string, threshold?: MultiLabelThreshold) {
  const [result] = await (await classifier()).predict([await readTestImage(file)], { threshold });
  return result!;
}

describe('PP-HGNetV2-B6_ML-shaped fixture: MultiLabelThreshOutput', () => {
  test('default threshold 0.5 of inference.yml: every class above it, best first, names from label_list', async () => {
    for (const file of [FRUITS, CHELSEA]) {
      const scores = await expectedScores(file);
      const result = await classify(file);
      assert.deepEqual(result.classIds, expectedIds(scores, new Array(80).fill(0.5)), file);
      assert.deepEqual(
        result.labelNames,
        result.classIds.map((k) => COCO_LABELS[k]),
      );
      result.classIds.forEach((k, i) => assert.ok(Math.abs(result.scores[i]! - scores[k]!) < 1e-4, `${file} class ${k}`));
      assert.ok(result.classIds.includes(15) && result.classIds.includes(16) && result.classIds.includes(56));
      assert.ok(!result.classIds.includes(62), 'tvmonitor (0.45) is under 0.5');
    }
  });

  test('threshold forms: a number, {default, id: n} (ids as strings), one number per class', async () => {
    const scores = await expectedScores(FRUITS);
    assert.deepEqual((await classify(FRUITS, 0.7)).classIds, expectedIds(scores, new Array(80).fill(0.7)));
    const map = { default: 0.5, '16': 0.8, '62': 0.4 };
    const mapThresholds = new Array(80).fill(0.5);
    mapThresholds[16] = 0.8;
    mapThresholds[62] = 0.4;
    const byMap = await classify(FRUITS, map);
    assert.deepEqual(byMap.classIds, expectedIds(scores, mapThresholds));
    assert.ok(!byMap.classIds.includes(16) && byMap.classIds.includes(62));
    const list = Array.from({ length: 80 }, (_, k) => (k === 15 ? 0.95 : 0.05));
    const byList = await classify(FRUITS, list);
    assert.deepEqual(byList.classIds, expectedIds(scores, list));
    assert.ok(!byList.classIds.includes(15) && byList.classIds.includes(79));
  });

  test('threshold mistakes are 422s that say what is wrong', async () => {
    await assert.rejects(classify(FRUITS, { '3': 0.2 }), { status: 422, message: /"default"/ });
    await assert.rejects(classify(FRUITS, { default: 0.5, '80': 0.2 }), { status: 422, message: /class id 80 .* 80 classes/ });
    await assert.rejects(classify(FRUITS, [0.5, 0.5]), { status: 422, message: /one value per class \(80\), got 2/ });
  });

  test('inference.yml without MultiLabelThreshOutput is a ConfigError', async () => {
    const sub = await fixtureSubModule('image_multilabel_classification', await multilabelFixtureDir());
    sub.resolved = { ...sub.resolved, inferenceConfig: { ...sub.resolved.inferenceConfig, PostProcess: { Topk: { topk: 5 } } } };
    await assert.rejects(MultiLabelClassifier.load(sub, cpuRuntime(), KEY_PATH), /PostProcess.*MultiLabelThreshOutput/);
  });
});

describe('/multilabel-image-classification', () => {
  test('the YAML threshold applies when the request has none; the image gains a label band below the photo', async () => {
    const config = await fixturePipelineConfig('image_multilabel_classification', await multilabelFixtureDir(), { threshold: 0.8 });
    const ops = await createWorkerOps(imageMultilabelClassificationPipeline, config);
    const endpoint = imageMultilabelClassificationPipeline.endpoints[0]!;
    const image = (await readFile(CHELSEA)).toString('base64');
    const ctx = inProcessContext(imageMultilabelClassificationPipeline, ops, config, true);
    const scores = await expectedScores(CHELSEA);

    const plain = await endpoint.handle(endpoint.request.parse({ image, visualize: false }), ctx);
    assert.deepEqual(Object.keys(plain), ['categories']);
    assert.deepEqual(
      plain.categories.map((c: { id: number }) => c.id),
      expectedIds(scores, new Array(80).fill(0.8)),
    );
    for (const c of plain.categories) assert.deepEqual(Object.keys(c), ['id', 'name', 'score']);

    const drawn = await endpoint.handle(endpoint.request.parse({ image, threshold: { default: 0.5 } }), ctx);
    assert.deepEqual(Object.keys(drawn), ['categories', 'image']);
    const photo = await readTestImage(CHELSEA);
    const { data, info } = await sharp(Buffer.from(drawn.image as string, 'base64'))
      .raw()
      .toBuffer({ resolveWithObject: true });
    assert.equal(info.width, photo.width);
    assert.ok(info.height > photo.height, 'a band is added below the photo');
    // the photo part is unchanged (up to JPEG), the band is the band colour with text on it
    let photoDiff = 0;
    for (let i = 0; i < photo.width * photo.height * 3; i++) photoDiff += Math.abs(data[i]! - photo.data[i]!);
    assert.ok(photoDiff / (photo.width * photo.height * 3) < 6, `mean photo difference ${photoDiff / (photo.width * photo.height * 3)}`);
    const band = data.subarray(photo.width * photo.height * 3);
    const bright = band.filter((_, i) => i % 3 === 0 && band[i]! > 200 && band[i + 1]! > 200 && band[i + 2]! > 200).length;
    assert.ok(bright > 50, 'white text is written in the band');
  });

  test('request schema: threshold is a number, {"default" | id: number} or number[]', () => {
    const schema = imageMultilabelClassificationPipeline.endpoints[0]!.request;
    for (const threshold of [0.5, { default: 0.5 }, { default: 0.5, '3': 0.2 }, [0.1, 0.2], null]) {
      assert.ok(schema.safeParse({ image: 'x', threshold }).success, JSON.stringify(threshold));
    }
    for (const threshold of ['0.5', { cat: 0.2 }, { '-1': 0.2 }, [true]]) {
      assert.equal(schema.safeParse({ image: 'x', threshold }).success, false, JSON.stringify(threshold));
    }
  });

  describe('over HTTP', () => {
    let server: RunningServer;
    after(() => server?.close());
    test('POST /multilabel-image-classification with a per-class map; a map without default is a 422', async () => {
      server = await startServer({
        pipelines: [await fixturePipelineYaml('image_multilabel_classification', await multilabelFixtureDir())],
      });
      const image = (await readFile(FRUITS)).toString('base64');
      const res = await postJson(`${server.url}/multilabel-image-classification`, {
        image,
        threshold: { default: 0.5, 15: 0.95 },
        visualize: false,
      });
      assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 300));
      const names = res.body.result.categories.map((c: { name: string }) => c.name);
      assert.ok(names.includes('dog') && names.includes('chair') && !names.includes('cat'), names.join(', '));
      const bad = await postJson(`${server.url}/multilabel-image-classification`, { image, threshold: { 15: 0.95 } });
      assert.equal(bad.status, 422);
      assert.match(bad.body.errorMsg, /default/);
    });
  });
});
