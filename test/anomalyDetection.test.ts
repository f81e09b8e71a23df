import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { AnomalyDetector } from '../src/models/anomalyDetection.js';
import { anomalyDetectionPipeline } from '../src/pipelines/anomaly_detection/pipeline.js';
import { resizedWithCv2Linear, STFPM_MEAN, STFPM_STD, stfpmFixtureDir } from './helpers/cvFixtures.js';
import {
  cpuRuntime,
  createWorkerOps,
  fixturePipelineConfig,
  fixturePipelineYaml,
  fixtureSubModule,
  inProcessContext,
  readTestImage,
} from './helpers/fixtures.js';
import { OPENCV_DATA } from './helpers/paths.js';
import { postJson, startServer, type RunningServer } from './helpers/server.js';

const FRUITS = path.join(OPENCV_DATA, 'fruits.jpg');
const KEY_PATH = 'SubModules.AnomalyDetection';

/** The fixture's raw 0/255 mask before the opening: normalized red − normalized green > 0.01, in float32 as the model computes it. */
async function thresholdedScores(file: string): Promise<Uint8Array> {
  const fed = await resizedWithCv2Linear(await readTestImage(file), 256, 256);
  const normalized = (v: number, c: number) => Math.fround(v * (1 / 255 / STFPM_STD[c]!) + -STFPM_MEAN[c]! / STFPM_STD[c]!);
  return Uint8Array.from({ length: 256 * 256 }, (_, i) =>
    Math.fround(normalized(fed.data[i * 3]!, 0) - normalized(fed.data[i * 3 + 1]!, 1)) > 0.01 ? 255 : 0,
  );
}

/** skimage.morphology.opening(mask, disk(4)), exactly what PaddleX's MapToMask calls, run by Debian's python3-skimage. */
async function skimageOpening(mask: Uint8Array, width: number, height: number): Promise<number[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pipeserve-opening-'));
  const input = path.join(dir, 'mask.u8');
  await writeFile(input, mask);
  const script = [
    'import sys, numpy as np',
    'from skimage import morphology',
    `m = np.fromfile(sys.argv[1], dtype=np.uint8).reshape(${height}, ${width}).astype(np.float32)`,
    'sys.stdout.buffer.write(morphology.opening(m, morphology.disk(4)).astype(np.uint8).tobytes())',
  ].join('\n');
  const { stdout } = await promisify(execFile)('/usr/bin/python3', ['-c', script, input], { encoding: 'buffer', maxBuffer: 1 << 24 });
  return Array.from(stdout as Buffer);
}

describe('STFPM-shaped fixture: score map → 0/255 mask as PaddleX MapToMask', () => {
  test('fruits.jpg: threshold 0.01 then opening with disk(4), equal to skimage’s, at the model’s 256×256', async () => {
    const model = await AnomalyDetector.load(await fixtureSubModule('anomaly_detection', await stfpmFixtureDir()), cpuRuntime(), KEY_PATH);
    const [map] = await model.predict([await readTestImage(FRUITS)]);
    assert.deepEqual([map!.width, map!.height], [256, 256], 'PaddleX keeps the model resolution');
    const raw = await thresholdedScores(FRUITS);
    const expected = await skimageOpening(raw, 256, 256);
    assert.deepEqual(Array.from(map!.data), expected);
    const anomalous = expected.filter((v) => v === 255).length;
    assert.ok(anomalous > 2000 && anomalous < 60000, `${anomalous} anomalous pixels (the red fruit)`);
    assert.ok(raw.filter((v) => v === 255).length > anomalous, 'the opening removed specks the threshold let through');
  });

  test('inference.yml without a Resize is a ConfigError (PaddleX needs one)', async () => {
    const sub = await fixtureSubModule('anomaly_detection', await stfpmFixtureDir());
    sub.resolved = {
      ...sub.resolved,
      inferenceConfig: { ...sub.resolved.inferenceConfig, Deploy: { transforms: [{ type: 'Normalize' }] } },
    };
    await assert.rejects(AnomalyDetector.load(sub, cpuRuntime(), KEY_PATH), /SubModules\.AnomalyDetection.*Deploy\.transforms.*Resize/);
  });
});

describe('/image-anomaly-detection', () => {
  test('handler: labelMap of 0/255 row-major, size [256, 256]; the image draws 255 as (0, 0, 32), 0 as (128, 0, 0)', async () => {
    const config = await fixturePipelineConfig('anomaly_detection', await stfpmFixtureDir());
    const ops = await createWorkerOps(anomalyDetectionPipeline, config);
    const endpoint = anomalyDetectionPipeline.endpoints[0]!;
    assert.equal(endpoint.path, '/image-anomaly-detection');
    const image = (await readFile(FRUITS)).toString('base64');
    const plain = await endpoint.handle(
      endpoint.request.parse({ image, visualize: false }),
      inProcessContext(anomalyDetectionPipeline, ops, config, true),
    );
    assert.deepEqual(Object.keys(plain), ['labelMap', 'size']);
    assert.deepEqual(plain.size, [256, 256]);
    assert.ok(plain.labelMap.every((v: number) => v === 0 || v === 255));

    const drawn = await endpoint.handle(endpoint.request.parse({ image }), inProcessContext(anomalyDetectionPipeline, ops, config, true));
    assert.deepEqual(drawn.labelMap, plain.labelMap);
    const { data, info } = await sharp(Buffer.from(drawn.image as string, 'base64'))
      .raw()
      .toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height], [256, 256]);
    const colour = { 255: [0, 0, 32], 0: [128, 0, 0] } as Record<number, number[]>;
    let matching = 0;
    plain.labelMap.forEach((label: number, i: number) => {
      if (colour[label]!.every((v, c) => Math.abs(v - data[i * 3 + c]!) <= 40)) matching++;
    });
    assert.ok(matching / plain.labelMap.length > 0.97, `${matching} pixels in their label's colour`);
  });

  describe('over HTTP', () => {
    let server: RunningServer;
    after(() => server?.close());
    test('POST /image-anomaly-detection on a real photo', async () => {
      server = await startServer({ pipelines: [await fixturePipelineYaml('anomaly_detection', await stfpmFixtureDir())] });
      const res = await postJson(`${server.url}/image-anomaly-detection`, { image: (await readFile(FRUITS)).toString('base64') });
      assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 300));
      assert.deepEqual(Object.keys(res.body.result), ['labelMap', 'size', 'image']);
      assert.equal(res.body.result.labelMap.length, 256 * 256);
      const broken = await postJson(`${server.url}/image-anomaly-detection`, { image: 'bm90IGFuIGltYWdl' });
      assert.equal(broken.status, 422);
    });
  });
});
