import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { PipelineConfig } from '../src/config/pipelineConfig.js';
import { ConfigError } from '../src/errors.js';
import type { RgbImage } from '../src/io/image.js';
import { ObjectDetector, type DetectedObject } from '../src/models/objectDetection.js';
import type { PipelineDescriptor } from '../src/pipelines/define.js';
import { objectDetectionPipeline } from '../src/pipelines/object_detection/pipeline.js';
import type { DetectedObjectResult, DetectionOps, DetectionTaskResult } from '../src/pipelines/shared/detectionWorker.js';
import { smallObjectDetectionPipeline } from '../src/pipelines/small_object_detection/pipeline.js';
import {
  cpuRuntime,
  detectorFixtureDir,
  fixturePipelineConfig,
  fixtureSubModule,
  createWorkerOps,
  inProcessContext,
  readTestImage,
} from './helpers/fixtures.js';
import { OPENCV_DATA, SHARED_MODELS } from './helpers/paths.js';

const KEY_PATH = 'SubModules.ObjectDetection';
const MESSI = path.join(OPENCV_DATA, 'messi5.jpg');
const BUS = path.join(SHARED_MODELS, 'PicoDet-XS', 'bus.jpg');
const PERSON = 0;
const BUS_CLASS = 5;
const SPORTS_BALL = 32;

async function detectorWith(edit?: (config: Record<string, any>) => void, batchSize = 1): Promise<ObjectDetector> {
  const sub = await fixtureSubModule('object_detection', detectorFixtureDir(), { batch_size: batchSize });
  if (edit) {
    const config = structuredClone(sub.resolved.inferenceConfig);
    edit(config);
    sub.resolved = { ...sub.resolved, inferenceConfig: config };
  }
  return ObjectDetector.load(sub, cpuRuntime(), KEY_PATH);
}

let detector: Promise<ObjectDetector> | undefined;
const sharedDetector = () => (detector ??= detectorWith());

async function detect(file: string, threshold?: number | Record<number, number>): Promise<{ img: RgbImage; objects: DetectedObject[] }> {
  const img = await readTestImage(file);
  const [objects] = await (await sharedDetector()).predict([img], { threshold });
  return { img, objects: objects! };
}

function assertInside(objects: DetectedObject[], img: RgbImage): void {
  for (const {
    coordinate: [x1, y1, x2, y2],
  } of objects) {
    assert.ok(
      x1 >= 0 && y1 >= 0 && x2 <= img.width && y2 <= img.height,
      `box ${[x1, y1, x2, y2]} leaves the ${img.width}x${img.height} image`,
    );
    assert.ok(x1 <= x2 && y1 <= y2);
  }
}

function iou(a: readonly number[], b: readonly number[]): number {
  const w = Math.max(0, Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!));
  const h = Math.max(0, Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!));
  const area = (r: readonly number[]) => (r[2]! - r[0]!) * (r[3]! - r[1]!);
  return (w * h) / (area(a) + area(b) - w * h);
}

test('messi5.jpg: a person (score >= 0.9) and a sports ball, with draw_threshold 0.5 by default', async () => {
  const { img, objects } = await detect(MESSI);
  const person = objects.find((o) => o.clsId === PERSON);
  assert.ok(person && person.score >= 0.9, JSON.stringify(objects));
  assert.equal(person.label, 'person');
  const ball = objects.find((o) => o.clsId === SPORTS_BALL);
  assert.ok(ball, 'a sports ball');
  assert.equal(ball.label, 'sports ball');
  // the ball is small and sits below the player's waist, in the right half of the frame
  const [bx1, by1, bx2, by2] = ball.coordinate;
  assert.ok(bx2 - bx1 < 100 && by2 - by1 < 100 && bx1 > img.width / 2 && by1 > img.height / 2, `ball at ${ball.coordinate}`);
  for (const o of objects) assert.ok(o.score > 0.5);
  assertInside(objects, img);
});

test('bus.jpg: a bus and persons, boxes inside the image', async () => {
  const { img, objects } = await detect(BUS);
  const bus = objects.find((o) => o.clsId === BUS_CLASS);
  assert.ok(bus, JSON.stringify(objects));
  assert.equal(bus.label, 'bus');
  // the bus spans most of the photo's width
  assert.ok(bus.coordinate[2] - bus.coordinate[0] > img.width * 0.7);
  assert.ok(objects.filter((o) => o.clsId === PERSON).length >= 2);
  assertInside(objects, img);
  // the person at the right edge runs off the picture: its box is clipped to the width
  assert.ok(objects.some((o) => o.coordinate[2] === img.width));
});

test('a numeric threshold keeps exactly the scores above it', async () => {
  const low = (await detect(BUS, 0.3)).objects;
  const high = (await detect(BUS, 0.85)).objects;
  for (const o of low) assert.ok(o.score > 0.3);
  for (const o of high) assert.ok(o.score > 0.85);
  assert.deepEqual(
    high,
    low.filter((o) => o.score > 0.85),
    'the same rows, in the same (model) order',
  );
  assert.ok(low.length > high.length);
});

test('a per-class threshold map: listed classes use their value, others draw_threshold', async () => {
  const strictBall = (await detect(MESSI, { [SPORTS_BALL]: 0.95 })).objects;
  assert.ok(
    strictBall.some((o) => o.clsId === PERSON),
    'person keeps draw_threshold 0.5',
  );
  assert.ok(!strictBall.some((o) => o.clsId === SPORTS_BALL), 'ball (0.81) is below its 0.95');

  const lenientPerson = (await detect(BUS, { [PERSON]: 0.1 })).objects;
  const defaults = (await detect(BUS)).objects;
  assert.ok(lenientPerson.filter((o) => o.clsId === PERSON).length > defaults.filter((o) => o.clsId === PERSON).length);
  for (const o of lenientPerson.filter((o) => o.clsId !== PERSON)) assert.ok(o.score > 0.5);
  // PaddleX filters a map class by class, so the result is grouped by ascending class id
  const ids = lenientPerson.map((o) => o.clsId);
  assert.deepEqual(
    ids,
    [...ids].sort((a, b) => a - b),
  );
});

test('batch_size 4 on a model with a fixed batch of 1 (scale_factor [1, 2]) runs image by image', async () => {
  const images = await Promise.all([MESSI, BUS].map(readTestImage));
  const batched = await (await detectorWith(undefined, 4)).predict(images);
  const singles = await Promise.all(images.map(async (img) => (await (await sharedDetector()).predict([img]))[0]));
  assert.deepEqual(batched, singles);
});

test('Resize keep_ratio + Pad (before NormalizeImage) + PadStride: boxes still map to original coordinates', async () => {
  // The letterbox preprocessing of e.g. YOLOX exports: keep the aspect ratio, pad to the square input.
  const letterboxed = await detectorWith((config) => {
    config.Preprocess = [
      { type: 'Resize', target_size: [320, 320], keep_ratio: true, interp: 2 },
      { type: 'Pad', size: [320, 320], fill_value: [114, 114, 114] },
      { type: 'NormalizeImage', is_scale: true, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
      { type: 'Permute' },
      { type: 'PadStride', stride: 32 },
    ];
  });
  const img = await readTestImage(MESSI);
  const [objects] = await letterboxed.predict([img]);
  // The model sees an undistorted picture now, so the large, articulated person box may change; the
  // small ball must land where the stretched input put it if scale_factor maps the boxes back right.
  const reference = (await detect(MESSI)).objects.find((o) => o.clsId === SPORTS_BALL)!;
  const ball = objects!.find((o) => o.clsId === SPORTS_BALL);
  assert.ok(ball, JSON.stringify(objects));
  assert.ok(iou(ball.coordinate, reference.coordinate) > 0.9, `${ball.coordinate} vs ${reference.coordinate}`);
  assert.ok(objects!.some((o) => o.clsId === PERSON && o.score > 0.8));
  assertInside(objects!, img);
});

test('unsupported ops, a missing Permute and bad parameters are ConfigErrors naming op, key path and model dir', async () => {
  const source = path.join(SHARED_MODELS, 'PicoDet-XS');
  await assert.rejects(
    detectorWith((config) => config.Preprocess.splice(1, 0, { type: 'WarpAffine', keep_res: true })),
    (err: Error) => {
      assert.ok(err instanceof ConfigError);
      for (const part of ['WarpAffine', 'Preprocess[1]', KEY_PATH, source]) assert.ok(err.message.includes(part), err.message);
      return true;
    },
  );
  await assert.rejects(
    detectorWith((config) => config.Preprocess.pop()),
    (err: Error) => err instanceof ConfigError && /no Permute/.test(err.message),
  );
  await assert.rejects(
    detectorWith((config) => (config.Preprocess[0].target_size = [320, 'wide'])),
    (err: Error) => err instanceof ConfigError && /Preprocess\[0\] \(Resize\).*target_size/.test(err.message),
  );
  await assert.rejects(
    detectorWith((config) => (config.NMS = { keep_top_k: 100 })),
    (err: Error) => err instanceof ConfigError && /without post-process/.test(err.message),
  );
});

// ------------------------------------------------------------------------------------------------
// The pipelines: worker op and endpoint handler

type Loaded = { config: PipelineConfig; instance: DetectionOps };
const loadedPipelines = new Map<string, Promise<Loaded>>();
function loadPipeline(definition: PipelineDescriptor<DetectionOps>, moduleParams: Record<string, unknown> = {}): Promise<Loaded> {
  const key = `${definition.pipelineName} ${JSON.stringify(moduleParams)}`;
  if (!loadedPipelines.has(key)) {
    loadedPipelines.set(
      key,
      fixturePipelineConfig(
        definition.pipelineName as 'object_detection' | 'small_object_detection',
        detectorFixtureDir(),
        moduleParams,
      ).then(async (config) => ({ config, instance: await createWorkerOps(definition, config) })),
    );
  }
  return loadedPipelines.get(key)!;
}

test('both pipelines: predict op returns detectedObjects and, when visualizing, a JPEG of the input size', async () => {
  const bytes = new Uint8Array(await readFile(MESSI));
  for (const definition of [objectDetectionPipeline, smallObjectDetectionPipeline]) {
    const { instance } = await loadPipeline(definition);
    const result = (await instance.predict({ image: bytes, threshold: null, visualize: true })) as DetectionTaskResult;
    const person = result.detectedObjects.find((o) => o.categoryId === PERSON);
    assert.ok(person && person.categoryName === 'person' && person.score >= 0.9, definition.pipelineName);
    assert.equal(person.bbox.length, 4);
    const { format, width, height } = await sharp(result.image!).metadata();
    assert.deepEqual({ format, width, height }, { format: 'jpeg', width: 548, height: 342 });
    const plain = (await instance.predict({ image: bytes, visualize: false })) as DetectionTaskResult;
    assert.equal(plain.image, undefined);
    assert.deepEqual(plain.detectedObjects, result.detectedObjects);
  }
  assert.equal(objectDetectionPipeline.endpoints[0]!.path, '/object-detection');
  assert.equal(smallObjectDetectionPipeline.endpoints[0]!.path, '/small-object-detection');
  assert.equal(smallObjectDetectionPipeline.pipelineName, 'small_object_detection');
});

test('the YAML threshold applies when the request gives none; the request one wins', async () => {
  const bytes = new Uint8Array(await readFile(MESSI));
  const { instance } = await loadPipeline(objectDetectionPipeline, { threshold: 0.9 });
  const byYaml = (await instance.predict({ image: bytes, visualize: false })) as DetectionTaskResult;
  assert.deepEqual(
    byYaml.detectedObjects.map((o) => o.categoryId),
    [PERSON],
  );
  const byRequest = (await instance.predict({ image: bytes, threshold: 0.5, visualize: false })) as DetectionTaskResult;
  assert.ok(byRequest.detectedObjects.some((o) => o.categoryId === SPORTS_BALL));

  const perClassYaml = await loadPipeline(objectDetectionPipeline, { threshold: { [SPORTS_BALL]: 0.95 } });
  const filtered = (await perClassYaml.instance.predict({ image: bytes, visualize: false })) as DetectionTaskResult;
  assert.deepEqual(
    filtered.detectedObjects.map((o) => o.categoryId),
    [PERSON],
  );
});

test('endpoint: threshold map with string class ids; image only when visualizing', async () => {
  const endpoint = objectDetectionPipeline.endpoints[0]!;
  const { config, instance } = await loadPipeline(objectDetectionPipeline);
  const image = (await readFile(MESSI)).toString('base64');

  const strictBall = await endpoint.handle(
    endpoint.request.parse({ image, threshold: { '32': 0.95 }, visualize: false }),
    inProcessContext(objectDetectionPipeline, instance, config, true),
  );
  assert.deepEqual(Object.keys(strictBall), ['detectedObjects']);
  const objects = strictBall.detectedObjects as DetectedObjectResult[];
  assert.deepEqual(
    objects.map((o) => o.categoryId),
    [PERSON],
  );
  assert.deepEqual(Object.keys(objects[0]!), ['bbox', 'categoryId', 'categoryName', 'score']);

  const visual = await endpoint.handle(
    endpoint.request.parse({ image }),
    inProcessContext(objectDetectionPipeline, instance, config, true),
  );
  assert.deepEqual(Object.keys(visual), ['detectedObjects', 'image']);
  assert.equal((await sharp(Buffer.from(visual.image as string, 'base64')).metadata()).format, 'jpeg');
});

test('endpoint request schema: threshold is a number or {integer id >= 0: value in [0, 1]}', () => {
  const schema = objectDetectionPipeline.endpoints[0]!.request;
  assert.equal(schema.safeParse({ image: 'x', threshold: 0.4 }).success, true);
  assert.equal(schema.safeParse({ image: 'x', threshold: { '0': 0.4, '12': 1 } }).success, true);
  assert.equal(schema.safeParse({ image: 'x', threshold: null, visualize: null }).success, true);
  assert.equal(schema.safeParse({ image: 'x', threshold: { '-1': 0.4 } }).success, false);
  assert.equal(schema.safeParse({ image: 'x', threshold: { person: 0.4 } }).success, false);
  assert.equal(schema.safeParse({ image: 'x', threshold: { '0': 1.5 } }).success, false);
  assert.equal(schema.safeParse({ image: 'x', threshold: 'high' }).success, false);
  assert.equal(schema.safeParse({ threshold: 0.4 }).success, false);
});
