import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { ConfigError } from '../src/errors.js';
import { ImageClassifier } from '../src/models/imageClassification.js';
import { imageClassificationPipeline } from '../src/pipelines/image_classification/pipeline.js';
import type { ClassificationTaskResult } from '../src/pipelines/image_classification/worker.js';
import type { OpsOf } from '../src/pipelines/define.js';
type ClassificationOps = OpsOf<typeof import('../src/pipelines/image_classification/worker.js').default>;
import type { PipelineConfig } from '../src/config/pipelineConfig.js';
import {
  classifierFixtureDir,
  cpuRuntime,
  fixturePipelineConfig,
  fixtureSubModule,
  createWorkerOps,
  inProcessContext,
  readTestImage,
} from './helpers/fixtures.js';
import { OPENCV_DATA, SKIMAGE_DATA } from './helpers/paths.js';

const KEY_PATH = 'SubModules.ImageClassification';
const CHELSEA = path.join(SKIMAGE_DATA, 'chelsea.png');
const COFFEE = path.join(SKIMAGE_DATA, 'coffee.png');
const ORANGE = path.join(OPENCV_DATA, 'orange.jpg');

let classifier: Promise<ImageClassifier> | undefined;
function sharedClassifier(): Promise<ImageClassifier> {
  classifier ??= classifierFixtureDir()
    .then((dir) => fixtureSubModule('image_classification', dir, { batch_size: 4 }))
    .then((sub) => ImageClassifier.load(sub, cpuRuntime(), KEY_PATH));
  return classifier;
}

async function classify(file: string, topk = 5) {
  const [result] = await (await sharedClassifier()).predict([await readTestImage(file)], { topk });
  return result!;
}

test('chelsea.png is a cat, with probability scores', async () => {
  const result = await classify(CHELSEA);
  assert.ok(['Egyptian cat', 'Tiger cat', 'Tabby'].includes(result.labelNames[0]!), `top-1 was ${result.labelNames[0]}`);
  assert.equal(result.classIds.length, 5);
  for (const score of result.scores) assert.ok(score > 0 && score <= 1, `score ${score} is not a probability`);
  // scores are rounded to 5 decimals, so their sum may pass 1 by a few 1e-5
  assert.ok(result.scores.reduce((a, b) => a + b, 0) <= 1 + 1e-4);
  const sorted = [...result.scores].sort((a, b) => b - a);
  assert.deepEqual(result.scores, sorted, 'scores are in descending order');
});

test('orange.jpg is an orange; coffee.png has espresso in the top 3', async () => {
  assert.equal((await classify(ORANGE)).labelNames[0], 'Orange');
  assert.ok((await classify(COFFEE, 3)).labelNames.includes('Espresso'));
});

test('topk is honoured and names come from label_list', async () => {
  const top2 = await classify(CHELSEA, 2);
  assert.equal(top2.classIds.length, 2);
  const top7 = await classify(CHELSEA, 7);
  assert.equal(top7.classIds.length, 7);
  assert.deepEqual(top7.classIds.slice(0, 2), top2.classIds);
  // ImageNet id 285 is "Egyptian cat" in the label_list of the fixture's inference.yml
  const egyptian = top7.classIds.indexOf(285);
  assert.ok(egyptian >= 0);
  assert.equal(top7.labelNames[egyptian], 'Egyptian cat');
  assert.equal((await (await sharedClassifier()).predict([await readTestImage(ORANGE)], { topk: 1000 }))[0]!.classIds.length, 1000);
});

test('a batch of 3 images gives the same results as 3 single runs', async () => {
  const images = await Promise.all([CHELSEA, ORANGE, COFFEE].map(readTestImage));
  const model = await sharedClassifier();
  const batched = await model.predict(images, { topk: 5 });
  assert.equal(batched.length, 3);
  for (const [i, img] of images.entries()) {
    const [single] = await model.predict([img], { topk: 5 });
    assert.deepEqual(batched[i]!.classIds, single!.classIds);
    batched[i]!.scores.forEach((s, k) => assert.ok(Math.abs(s - single!.scores[k]!) < 1e-4));
  }
});

test('label names fall back to the class id when inference.yml has no label_list', async () => {
  const sub = await fixtureSubModule('image_classification', await classifierFixtureDir());
  const { label_list: _dropped, ...topk } = sub.resolved.inferenceConfig.PostProcess.Topk;
  sub.resolved = { ...sub.resolved, inferenceConfig: { ...sub.resolved.inferenceConfig, PostProcess: { Topk: topk } } };
  const noLabels = await ImageClassifier.load(sub, cpuRuntime(), KEY_PATH);
  const [result] = await noLabels.predict([await readTestImage(ORANGE)], { topk: 2 });
  assert.deepEqual(result!.labelNames, result!.classIds.map(String));
});

/** The fixture's sub-module with `transform_ops` edited. */
async function withTransformOps(edit: (ops: any[]) => any[]) {
  const sub = await fixtureSubModule('image_classification', await classifierFixtureDir());
  const config = structuredClone(sub.resolved.inferenceConfig);
  config.PreProcess.transform_ops = edit(config.PreProcess.transform_ops);
  sub.resolved = { ...sub.resolved, inferenceConfig: config };
  return sub;
}

test('unknown ops and bad parameters are ConfigErrors naming the op, key path and model dir', async () => {
  const unknown = await withTransformOps((ops) => [{ RandomFlip: null }, ...ops]);
  await assert.rejects(ImageClassifier.load(unknown, cpuRuntime(), KEY_PATH), (err: Error) => {
    assert.ok(err instanceof ConfigError);
    for (const part of ['RandomFlip', 'transform_ops[0]', KEY_PATH, unknown.resolved.source])
      assert.ok(err.message.includes(part), err.message);
    return true;
  });
  const badCrop = await withTransformOps((ops) => ops.map((op) => ('CropImage' in op ? { CropImage: { size: -3 } } : op)));
  await assert.rejects(ImageClassifier.load(badCrop, cpuRuntime(), KEY_PATH), (err: Error) => {
    assert.ok(err instanceof ConfigError);
    for (const part of ['CropImage', 'size', KEY_PATH, badCrop.resolved.source]) assert.ok(err.message.includes(part), err.message);
    return true;
  });
  const badInterp = await withTransformOps((ops) =>
    ops.map((op) => ('ResizeImage' in op ? { ResizeImage: { resize_short: 256, interpolation: 'WOBBLY' } } : op)),
  );
  await assert.rejects(ImageClassifier.load(badInterp, cpuRuntime(), KEY_PATH), /ResizeImage.*interpolation/);
  const noNormalize = await withTransformOps((ops) => ops.filter((op) => !('NormalizeImage' in op)));
  await assert.rejects(ImageClassifier.load(noNormalize, cpuRuntime(), KEY_PATH), /no NormalizeImage/);
});

test('ResizeImage size [w, h] without a crop feeds the model that size', async () => {
  const sub = await withTransformOps((ops) => [
    { ResizeImage: { size: [224, 224], interpolation: 'bilinear', backend: 'pil' } },
    ...ops.filter((op) => !('ResizeImage' in op) && !('CropImage' in op)),
  ]);
  const model = await ImageClassifier.load(sub, cpuRuntime(), KEY_PATH);
  const [result] = await model.predict([await readTestImage(ORANGE)], { topk: 1 });
  assert.equal(result!.labelNames[0], 'Orange');
});

// ------------------------------------------------------------------------------------------------
// The pipeline: worker op and endpoint handler

let pipeline: Promise<{ config: PipelineConfig; instance: Awaited<ReturnType<typeof createWorkerOps<ClassificationOps>>> }> | undefined;
function sharedPipeline(): Promise<{ config: PipelineConfig; instance: Awaited<ReturnType<typeof createWorkerOps<ClassificationOps>>> }> {
  pipeline ??= classifierFixtureDir()
    .then((dir) => fixturePipelineConfig('image_classification', dir, { topk: 3 }))
    .then(async (config) => ({ config, instance: await createWorkerOps(imageClassificationPipeline, config) }));
  return pipeline;
}

async function jpegSize(bytes: Uint8Array): Promise<{ width?: number; height?: number; format?: string }> {
  const { width, height, format } = await sharp(bytes).metadata();
  return { width, height, format };
}

test('pipeline predict op: decodes, classifies with the YAML topk, draws when asked', async () => {
  const { instance } = await sharedPipeline();
  const bytes = new Uint8Array(await readFile(CHELSEA));
  const plain = (await instance.predict({ image: bytes, topk: null, visualize: false })) as ClassificationTaskResult;
  assert.equal(plain.categories.length, 3, 'SubModules.ImageClassification.topk of the YAML applies');
  assert.ok(['Egyptian cat', 'Tiger cat', 'Tabby'].includes(plain.categories[0]!.name));
  assert.equal(plain.image, undefined);
  const top = plain.categories[0]!;
  assert.equal(typeof top.id, 'number');
  assert.equal(typeof top.score, 'number');

  const drawn = (await instance.predict({ image: bytes, topk: 1, visualize: true })) as ClassificationTaskResult;
  assert.equal(drawn.categories.length, 1);
  assert.deepEqual(await jpegSize(drawn.image!), { width: 451, height: 300, format: 'jpeg' });
});

test('pipeline predict op: undecodable bytes are a 422', async () => {
  const { instance } = await sharedPipeline();
  await assert.rejects(instance.predict({ image: new Uint8Array([1, 2, 3, 4]), visualize: false }), { status: 422 });
});

test('endpoint: Base64 JPEG image when visualizing (Serving.visualize default), none otherwise', async () => {
  const [endpoint] = imageClassificationPipeline.endpoints;
  assert.equal(endpoint!.path, '/image-classification');
  assert.equal(endpoint!.operationId, 'infer');
  const { config, instance } = await sharedPipeline();
  const image = (await readFile(ORANGE)).toString('base64');

  const req = endpoint!.request.parse({ image, topk: 2, visualize: null, unknownField: 1 });
  assert.equal('unknownField' in req, false, 'unknown keys are dropped');
  const visual = await endpoint!.handle(req, inProcessContext(imageClassificationPipeline, instance, config, true));
  assert.deepEqual(Object.keys(visual), ['categories', 'image']);
  assert.equal((visual.categories as Array<{ name: string }>)[0]!.name, 'Orange');
  const { format, width, height } = await jpegSize(Buffer.from(visual.image as string, 'base64'));
  const original = await readTestImage(ORANGE);
  assert.deepEqual({ format, width, height }, { format: 'jpeg', width: original.width, height: original.height });

  const plain = await endpoint!.handle(
    endpoint!.request.parse({ image, visualize: false }),
    inProcessContext(imageClassificationPipeline, instance, config, true),
  );
  assert.deepEqual(Object.keys(plain), ['categories']);
  assert.equal((plain.categories as unknown[]).length, 3);
  const byServingDefault = await endpoint!.handle(
    endpoint!.request.parse({ image }),
    inProcessContext(imageClassificationPipeline, instance, config, false),
  );
  assert.deepEqual(Object.keys(byServingDefault), ['categories']);
});

test('endpoint request schema: image required, topk an integer > 0 or null', () => {
  const schema = imageClassificationPipeline.endpoints[0]!.request;
  assert.equal(schema.safeParse({ topk: 3 }).success, false);
  assert.equal(schema.safeParse({ image: 'x', topk: 0 }).success, false);
  assert.equal(schema.safeParse({ image: 'x', topk: 2.5 }).success, false);
  assert.equal(schema.safeParse({ image: 'x', visualize: 'yes' }).success, false);
  assert.equal(schema.safeParse({ image: 'x', topk: null, visualize: null }).success, true);
});

test('a missing sub-module or a bad YAML topk is a ConfigError', async () => {
  const dir = await classifierFixtureDir();
  const config = await fixturePipelineConfig('image_classification', dir);
  await assert.rejects(
    createWorkerOps(imageClassificationPipeline, { ...config, SubModules: {} }),
    /SubModules\.ImageClassification is missing/,
  );
  const badTopk = await fixturePipelineConfig('image_classification', dir, { topk: 'five' });
  await assert.rejects(
    createWorkerOps(imageClassificationPipeline, badTopk),
    (err: Error) => err instanceof ConfigError && /SubModules\.ImageClassification\.topk/.test(err.message),
  );
});
