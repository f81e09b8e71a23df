/**
 * 3d_bev_detection (BEVFusion) on a self-made fixture with the I/O of PaddleX's BEVFusion export
 * (test/helpers/bevFixtures.ts states which export it imitates and the answer it encodes), on a
 * hand-built sample tar laid out as PaddleX's demo sample: the tar and its nuscenes_infos_val.pkl read
 * safely, points, sweeps, images and lidar→image matrices prepared as PaddleX's processors do (the
 * oracle is PaddleX's own numpy formulas), the result fields as PaddleX's serving app; hostile tars
 * and pickles answered with 422 envelopes while the server stays healthy.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { readBevSample } from '../src/io/bevSample.js';
import { readSafeTar } from '../src/io/safeTar.js';
import { BevDetector, rescaledSize } from '../src/models/bevDetection.js';
import {
  BEVFUSION_INFERENCE_YML,
  bevFusionFixtureDir,
  bevSampleTar,
  CAMERAS,
  expectedDetections,
  type RawMember,
  rawTar,
} from './helpers/bevFixtures.js';
import YAML from 'yaml';
import { runCli } from './helpers/cli.js';
import { cpuRuntime, fixturePipelineYaml, fixtureSubModule } from './helpers/fixtures.js';
import { assertErrorEnvelope, postJson, type RunningServer, startServer } from './helpers/server.js';

type Detection = { bbox: number[]; categoryId: number; score: number };

function assertDetections(actual: Detection[], expected: Detection[]): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((got, v) => {
    const want = expected[v]!;
    assert.equal(got.bbox.length, 9);
    got.bbox.forEach((value, k) => {
      const tolerance = 2e-5 * Math.max(1, Math.abs(want.bbox[k]!));
      assert.ok(Math.abs(value - want.bbox[k]!) <= tolerance, `${CAMERAS[v]} bbox[${k}]: ${value} vs ${want.bbox[k]}`);
    });
    assert.equal(got.categoryId, want.categoryId, `${CAMERAS[v]} category`);
    assert.ok(Math.abs(got.score - want.score) < 1e-6, `${CAMERAS[v]} score ${got.score} vs ${want.score}`);
  });
}

async function loadDetector(): Promise<BevDetector> {
  return BevDetector.load(
    await fixtureSubModule('3d_bev_detection', await bevFusionFixtureDir()),
    cpuRuntime(),
    'SubModules.3DBEVDetection',
  );
}

describe('PaddleX BEVFusion pre-processing', () => {
  test("ResizeImage's keep-ratio size: nuScenes' 1600×900 cameras become 796×448 (then padded to 800×448)", () => {
    assert.deepEqual(rescaledSize(1600, 900, [800, 448]), { width: 796, height: 448 });
    assert.deepEqual(rescaledSize(900, 1600, [800, 448]), { width: 448, height: 796 });
    assert.deepEqual(rescaledSize(800, 450, [800, 448]), { width: 796, height: 448 });
  });

  test('the sample of the earliest info, its two sweeps and six cameras, from pickles of protocols 2, 4 and 5', async () => {
    const detector = await loadDetector();
    for (const protocol of [2, 4, 5]) {
      const { file, oracle } = bevSampleTar({ protocol });
      const sample = await readBevSample(await readFile(file), 'tar');
      // infos are [later, first]: sorted by timestamp, the first one is used
      assert.equal(sample.token, 'first');
      assert.equal(sample.lidarPath, 'sample/samples/LIDAR_TOP/key.pcd.bin');
      assert.deepEqual(
        sample.sweeps.map((s) => s.path),
        ['sample/sweeps/LIDAR_TOP/sweep0.pcd.bin', 'sample/sweeps/LIDAR_TOP/sweep1.pcd.bin'],
      );
      assert.deepEqual(
        sample.cameras.map((c) => c.name),
        CAMERAS,
      );
      const points = detector.pointCloud(sample);
      assert.equal(points.dims, 4);
      assert.equal(points.data.length / 4, oracle.pointCount, `protocol ${protocol}: points`);
      const { boxes, labels, scores } = await detector.predict(sample);
      assertDetections(
        boxes.map((bbox, i) => ({ bbox, categoryId: labels[i]!, score: scores[i]! })),
        expectedDetections(oracle),
      );
    }
  });

  test('sweeps_num caps the sweeps used (the first ones, as test_mode)', async () => {
    const { file } = bevSampleTar({ sweeps: 12 });
    const sample = await readBevSample(await readFile(file), 'tar');
    assert.equal(sample.sweeps.length, 12);
    // the key frame's 64 points and sweeps_num (10) sweeps of 32
    assert.equal((await loadDetector()).pointCloud(sample).data.length / 4, 64 + 10 * 32);
  });

  test('camera images of another size do not fit the export: a clear 422', async () => {
    const sample = await readBevSample(await readFile(bevSampleTar({ imageSize: [640, 480] }).file), 'tar');
    await assert.rejects((await loadDetector()).predict(sample), (err: Error & { status?: number }) => {
      assert.equal(err.status, 422);
      assert.match(err.message, /the camera images are 608×448 after resizing and padding; the model takes 800×448/);
      return true;
    });
  });

  test('an inference.yml without a needed transform stops loading with the setting named', async () => {
    const dir = await bevFusionFixtureDir();
    const ops = BEVFUSION_INFERENCE_YML.PreProcess.transform_ops.filter((op) => !('ResizeImage' in op));
    await writeFile(path.join(dir, 'inference.yml'), YAML.stringify({ ...BEVFUSION_INFERENCE_YML, PreProcess: { transform_ops: ops } }));
    await assert.rejects(
      BevDetector.load(await fixtureSubModule('3d_bev_detection', dir), cpuRuntime(), 'SubModules.3DBEVDetection'),
      /SubModules\.3DBEVDetection \(model BEVFusion from .*\): inference\.yml PreProcess\.transform_ops: has no ResizeImage/,
    );
  });
});

const EVIL_PICKLE = Buffer.from("cos\nsystem\n(S'touch /tmp/pipeserve-bev-pwned'\ntR.", 'latin1');
const file = (name: string, data: Uint8Array | string = 'x'): RawMember => ({
  name,
  data: typeof data === 'string' ? Buffer.from(data) : data,
});

describe('/bev-3d-object-detection over HTTP', () => {
  let server: RunningServer;
  let good: Buffer;
  before(async () => {
    server = await startServer({ pipelines: [await fixturePipelineYaml('3d_bev_detection', await bevFusionFixtureDir())] });
    good = await readFile(bevSampleTar().file);
  });
  after(() => server?.close());

  test('detectedObjects as PaddleX answers them: bbox of 9 numbers, categoryId, score', async () => {
    const res = await postJson(`${server.url}/bev-3d-object-detection`, { tar: good.toString('base64') });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(Object.keys(res.body), ['logId', 'result', 'errorCode', 'errorMsg']);
    assert.deepEqual(Object.keys(res.body.result), ['detectedObjects']);
    const objects: Detection[] = res.body.result.detectedObjects;
    assert.deepEqual(Object.keys(objects[0]!), ['bbox', 'categoryId', 'score']);
    assert.ok(objects.every((o) => Number.isInteger(o.categoryId)));
    assertDetections(objects, expectedDetections(bevSampleTar().oracle));
  });

  test('hostile archives and info files → 422 envelopes naming the problem; the server stays healthy', async () => {
    const pkl = await readFile(path.join(path.dirname(bevSampleTar().file), 'sample', 'nuscenes_infos_val.pkl'));
    const cases: Array<[string, Buffer, RegExp]> = [
      ['path traversal', rawTar([file('sample/nuscenes_infos_val.pkl', pkl), file('sample/../../evil.sh')]), /climbs out of the archive/],
      ['absolute path', rawTar([file('/etc/cron.d/evil')]), /has an absolute path/],
      ['symbolic link', rawTar([{ name: 'sample/link', type: '2', linkName: '/etc/passwd' }]), /is a symbolic link; links are refused/],
      ['hard link', rawTar([{ name: 'sample/hard', type: '1', linkName: 'sample/other' }]), /is a hard link; links are refused/],
      ['tar bomb by size', rawTar([{ name: 'sample/huge.bin', size: 2 ** 33 - 1 }]), /at most 64 MB per file are accepted/],
      [
        'tar bomb by entry count',
        rawTar(Array.from({ length: 1001 }, (_, i) => ({ name: `sample/d${i}/`, type: '5' }))),
        /more than 1000 members/,
      ],
      ['truncated tar', good.subarray(0, Math.floor(good.length / 2)), /not a readable tar archive \(Truncated input/],
      ['not a tar', Buffer.from('%PDF-1.7 this is no archive'.repeat(40)), /not a readable tar archive/],
      ['gzip', gzipSync(good), /gzip-compressed; send the plain \.tar/],
      [
        'two base directories',
        rawTar([file('a/nuscenes_infos_val.pkl', pkl), file('b/x')]),
        /Only one base directory is allowed for 3d bev dataset/,
      ],
      ['no info file', rawTar([file('sample/readme.txt')]), /has no sample\/nuscenes_infos_val\.pkl/],
      ['pickle calling os.system', rawTar([file('sample/nuscenes_infos_val.pkl', EVIL_PICKLE)]), /cannot be read: refuses os\.system/],
      [
        'info naming missing files',
        rawTar([file('sample/nuscenes_infos_val.pkl', pkl)]),
        /lidar_path names .*which the archive does not hold/,
      ],
    ];
    for (const [name, body, message] of cases) {
      const res = await postJson(`${server.url}/bev-3d-object-detection`, { tar: body.toString('base64') });
      assert.match(assertErrorEnvelope(res, 422), message, name);
    }
    assert.equal(existsSync('/tmp/pipeserve-bev-pwned'), false);
    assert.equal((await fetch(`${server.url}/health`)).status, 200);
    const again = await postJson(`${server.url}/bev-3d-object-detection`, { tar: good.toString('base64') });
    assert.equal(again.status, 200, 'a good sample still works');
  });

  test('a missing tar field is a 422 validation error', async () => {
    assertErrorEnvelope(await postJson(`${server.url}/bev-3d-object-detection`, {}), 422);
  });
});

test('readSafeTar keeps regular files under their normalised names', async () => {
  const files = await readSafeTar(
    rawTar([{ name: './s/', type: '5' }, file('./s/a.txt', 'hello'), file('s//sub/./b', 'bytes')]),
    { maxEntries: 10, maxFileBytes: 100, maxTotalBytes: 100 },
    'tar',
  );
  assert.deepEqual([...files.keys()], ['s/a.txt', 's/sub/b']);
  assert.equal(Buffer.from(files.get('s/a.txt')!).toString(), 'hello');
  await assert.rejects(
    readSafeTar(
      rawTar([file('s/a', 'x'.repeat(60)), file('s/b', 'y'.repeat(60))]),
      { maxEntries: 10, maxFileBytes: 100, maxTotalBytes: 100 },
      'tar',
    ),
    /add up to more than/,
  );
  await assert.rejects(
    readSafeTar(rawTar([file('s/a'), file('s/a')]), { maxEntries: 10, maxFileBytes: 100, maxTotalBytes: 100 }, 'tar'),
    /twice/,
  );
});

test('--input detects objects in a sample tar locally', async () => {
  const yaml = await fixturePipelineYaml('3d_bev_detection', await bevFusionFixtureDir());
  const { file: tarFile, oracle } = bevSampleTar();
  const run = await runCli(['--pipeline', yaml, '--input', tarFile, '--workers', '1']);
  assert.equal(run.code, 0, run.stderr);
  const result = JSON.parse(run.stdout);
  assert.equal(result.input_path, tarFile);
  assertDetections(result.detectedObjects, expectedDetections(oracle));
});
