/**
 * video_classification (PP-TSM) and video_detection (YOWO) on self-made fixtures imitating PaddleX's
 * exports (test/helpers/videoFixtures.ts states the I/O each imitates), on opencv-doc's .avi files
 * decoded by Debian's ffmpeg: frame sampling as PaddleX (decord's uniform segments), scaling and
 * cropping, top-k; per-frame detections with YOWO's region decoding, NMS and score threshold;
 * hostile videos answered with 422.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { uniformFrameIndices, scaledSize, VideoClassifier } from '../src/models/videoClassification.js';
import { VideoDetector } from '../src/models/videoDetection.js';
import { VIDEO_CLASSIFICATION_LIMITS } from '../src/pipelines/video_classification/worker.js';
import { VIDEO_DETECTION_LIMITS } from '../src/pipelines/video_detection/worker.js';
import { runCli } from './helpers/cli.js';
import { cpuRuntime, fixturePipelineYaml, fixtureSubModule } from './helpers/fixtures.js';
import { OPENCV_DATA, SKIMAGE_DATA } from './helpers/paths.js';
import { assertErrorEnvelope, postJson, type RunningServer, startServer } from './helpers/server.js';
import { COLOURS, ppTsmFixtureDir, UCF24, yowoFixtureDir } from './helpers/videoFixtures.js';

const MEGAMIND = path.join(OPENCV_DATA, 'Megamind.avi');
const TREE = path.join(OPENCV_DATA, 'tree.avi');

/** Frames `indices` of a video as ffmpeg decodes them (RGB, full size): the oracle's own reading. */
function ffmpegFrames(file: string, indices: number[], width: number, height: number): Uint8Array[] {
  const select = `select='${indices.map((i) => `eq(n\\,${i})`).join('+')}'`;
  const raw = execFileSync(
    'ffmpeg',
    ['-v', 'error', '-i', file, '-vf', select, '-fps_mode', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'],
    {
      maxBuffer: 1 << 28,
    },
  );
  const size = width * height * 3;
  return indices.map((_, k) => new Uint8Array(raw.subarray(k * size, (k + 1) * size)));
}

describe('PaddleX video pre-processing', () => {
  test("decord's uniform sampling: the middle frame of each of num_seg segments", () => {
    assert.deepEqual(uniformFrameIndices(270, 8, 1), [16, 49, 82, 115, 148, 181, 214, 247]);
    assert.deepEqual(uniformFrameIndices(68, 8, 1), [3, 11, 19, 27, 35, 43, 51, 59]);
    // fewer frames than segments: every frame in turn
    assert.deepEqual(uniformFrameIndices(5, 8, 1), [0, 1, 2, 3, 4, 0, 1, 2]);
    assert.deepEqual(uniformFrameIndices(16, 4, 3), [1, 2, 3, 5, 6, 7, 9, 10, 11, 13, 14, 15]);
  });

  test('Scale with fixed_ratio: short side to short_size, long side to 4/3 of it', () => {
    assert.deepEqual(scaledSize(720, 528, 256), { width: 341, height: 256 });
    assert.deepEqual(scaledSize(528, 720, 256), { width: 256, height: 341 });
    assert.deepEqual(scaledSize(400, 256, 256), { width: 400, height: 256 });
  });
});

describe('VideoClassifier (PP-TSM fixture)', () => {
  test("the clip's dominant colour, as the eight sampled frames show it", async () => {
    const classifier = await VideoClassifier.load(
      await fixtureSubModule('video_classification', await ppTsmFixtureDir()),
      cpuRuntime(),
      'SubModules.VideoClassification',
    );
    for (const [file, frames, width, height] of [
      [MEGAMIND, 270, 720, 528],
      [TREE, 68, 320, 240],
    ] as const) {
      const categories = await classifier.predict(file, VIDEO_CLASSIFICATION_LIMITS, 3);
      assert.deepEqual(categories.map((c) => c.name).sort(), [...COLOURS].sort());
      assert.ok(categories[0]!.score >= categories[1]!.score && categories[1]!.score >= categories[2]!.score);
      for (const c of categories) assert.equal(c.score, Math.fround(Number(c.score.toFixed(5))), 'scores are rounded to 5 decimals');
      // oracle: the mean normalised channel over the same frames, read by ffmpeg itself (uncropped)
      const sampled = ffmpegFrames(file, uniformFrameIndices(frames, 8, 1), width, height);
      const means = [0, 1, 2].map((c) => {
        let sum = 0;
        for (const frame of sampled) for (let i = c; i < frame.length; i += 3) sum += frame[i]!;
        const mean = [0.485, 0.456, 0.406][c]!;
        const std = [0.229, 0.224, 0.225][c]!;
        return (sum / ((sampled.length * frame0Length(sampled)) / 3) / 255 - mean) / std;
      });
      assert.equal(categories[0]!.name, COLOURS[means.indexOf(Math.max(...means))], `${path.basename(file)}: means ${means}`);
    }
    assert.equal((await classifier.predict(TREE, VIDEO_CLASSIFICATION_LIMITS, 1)).length, 1);
  });
});

function frame0Length(frames: Uint8Array[]): number {
  return frames[0]!.length;
}

/** sigmoid(8) × softmax of logit 10 among 24 (the fixture's peak), in float32 as PaddleX computes it */
const PEAK_SCORE = Math.fround(Math.fround(1 / (1 + Math.exp(-8))) * Math.fround(Math.exp(10) / (Math.exp(10) + 23)));

describe('VideoDetector (YOWO fixture)', () => {
  test('every frame: boxes of the brightest cells, anchor-sized, scaled to 320×240; NMS and score threshold apply', async () => {
    const detector = await VideoDetector.load(
      await fixtureSubModule('video_detection', await yowoFixtureDir()),
      cpuRuntime(),
      'SubModules.VideoDetection',
    );
    assert.deepEqual(detector.defaults, { nmsThresh: 0.5, scoreThresh: 0.4 });
    const frames = await detector.predict(TREE, VIDEO_DETECTION_LIMITS, { nmsThresh: 0.5, scoreThresh: 0.8 });
    assert.equal(frames.length, 68);
    const [first] = ffmpegFrames(TREE, [0], 320, 240);
    // oracle: the 7×7 cells' mean brightness of frame 0 read by ffmpeg
    const cells = Array.from({ length: 49 }, (_, k) => {
      const [cx, cy] = [k % 7, Math.floor(k / 7)];
      let sum = 0;
      let count = 0;
      for (let y = Math.floor((cy * 240) / 7); y < Math.floor(((cy + 1) * 240) / 7); y++)
        for (let x = Math.floor((cx * 320) / 7); x < Math.floor(((cx + 1) * 320) / 7); x++) {
          for (let c = 0; c < 3; c++) sum += first![(y * 320 + x) * 3 + c]!;
          count += 3;
        }
      return sum / count / 255;
    });
    for (const objects of frames) {
      assert.ok(objects.length >= 1);
      const best = objects.reduce((a, b) => (b.score > a.score ? b : a));
      assert.ok(Math.abs(best.score - PEAK_SCORE) < 1e-6, `peak score ${best.score}`);
      for (const o of objects) {
        assert.equal(o.categoryName, UCF24[0]);
        assert.ok(o.score > 0.8);
        const [x1, y1, x2, y2] = o.bbox;
        // anchor 0: 0.70458 × 1.18803 cells of 320/7 × 240/7
        assert.ok([32, 33].includes(x2 - x1) && [40, 41].includes(y2 - y1), JSON.stringify(o.bbox));
        for (const v of o.bbox) assert.ok(Number.isInteger(v));
      }
    }
    const top = frames[0]!.reduce((a, b) => (b.score > a.score ? b : a));
    const cell = Math.floor((((top.bbox[1] + top.bbox[3]) / 2) * 7) / 240) * 7 + Math.floor((((top.bbox[0] + top.bbox[2]) / 2) * 7) / 320);
    assert.ok(cells[cell]! > Math.max(...cells) - 0.01, `cell ${cell}: ${cells[cell]} vs brightest ${Math.max(...cells)}`);
    // stricter thresholds keep fewer objects: NMS by overlap, scores by value
    const suppressed = await detector.predict(TREE, VIDEO_DETECTION_LIMITS, { nmsThresh: 0.01, scoreThresh: 0.8 });
    const strict = await detector.predict(TREE, VIDEO_DETECTION_LIMITS, { nmsThresh: 0.5, scoreThresh: 0.998 });
    const count = (f: typeof frames) => f.reduce((n, objects) => n + objects.length, 0);
    assert.ok(count(suppressed) < count(frames), `${count(suppressed)} vs ${count(frames)}`);
    assert.ok(count(strict) < count(frames) && strict.every((objects) => objects.every((o) => o.score > 0.998)));
  });
});

describe('/video-classification and /video-detection over HTTP', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({
      pipelines: [
        await fixturePipelineYaml('video_classification', await ppTsmFixtureDir()),
        await fixturePipelineYaml('video_detection', await yowoFixtureDir()),
      ],
    });
  });
  after(() => server?.close());

  test('classification: categories as PaddleX answers them, topk from the request or the pipeline YAML', async () => {
    const video = (await readFile(MEGAMIND)).toString('base64');
    const res = await postJson(`${server.url}/video-classification`, { video, topk: 2 });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.result.categories.length, 2);
    assert.deepEqual(Object.keys(res.body.result.categories[0]), ['id', 'name', 'score']);
    assert.equal(res.body.result.categories[0].name, 'red');
    const byYaml = await postJson(`${server.url}/video-classification`, { video });
    assert.equal(byYaml.body.result.categories.length, 1, 'configs/video_classification.yaml: topk 1');
  });

  test('detection: one entry per frame, YAML thresholds (0.5 / 0.8) unless the request sets them', async () => {
    const video = (await readFile(TREE)).toString('base64');
    const res = await postJson(`${server.url}/video-detection`, { video });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const { frames } = res.body.result;
    assert.equal(frames.length, 68);
    assert.deepEqual(
      frames.map((f: { index: number }) => f.index),
      Array.from({ length: 68 }, (_, i) => i),
    );
    assert.deepEqual(Object.keys(frames[0].detectedObjects[0]), ['bbox', 'categoryName', 'score']);
    const strict = await postJson(`${server.url}/video-detection`, { video, scoreThresh: 0.998 });
    const count = (f: Array<{ detectedObjects: unknown[] }>) => f.reduce((n, x) => n + x.detectedObjects.length, 0);
    assert.ok(count(strict.body.result.frames) < count(frames));
  });

  test('videos that cannot be inferred or read → 422 envelopes', async () => {
    for (const endpoint of ['/video-classification', '/video-detection']) {
      const post = (video: string) => postJson(`${server.url}${endpoint}`, { video });
      assert.match(assertErrorEnvelope(await post('http://127.0.0.1:9/clip'), 422), /^File extension cannot be inferred: video/);
      assert.match(
        assertErrorEnvelope(await post(Buffer.from('not a video at all').toString('base64')), 422),
        /^File extension cannot be inferred/,
      );
      const png = await readFile(path.join(SKIMAGE_DATA, 'camera.png'));
      assert.match(assertErrorEnvelope(await post(png.toString('base64')), 422), /not a video file/);
      // an AVI cut inside its header
      const truncated = (await readFile(TREE)).subarray(0, 1000);
      assert.match(
        assertErrorEnvelope(await post(truncated.toString('base64')), 422),
        /video: the file cannot be read as a video|no video frames|no frame could be decoded/,
      );
    }
  });

  test('a video with more frames than the detection cap → 422 before any frame is decoded', async () => {
    // 61 s of a 64×48 test pattern at 30 frames/s: 1830 frames
    const long = path.join(path.dirname(await ppTsmFixtureDir()), 'long.avi');
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=30', '-t', '61', '-c:v', 'mpeg4', long]);
    const res = await postJson(`${server.url}/video-detection`, { video: (await readFile(long)).toString('base64') });
    assert.match(assertErrorEnvelope(res, 422), /^video: it has 1830 frames; at most 1800 are accepted/);
  });
});

test('--input classifies a video file locally', async () => {
  const yaml = await fixturePipelineYaml('video_classification', await ppTsmFixtureDir());
  const run = await runCli(['--pipeline', yaml, '--input', TREE, '--workers', '1']);
  assert.equal(run.code, 0, run.stderr);
  const result = JSON.parse(run.stdout);
  assert.equal(result.input_path, TREE);
  assert.equal(result.categories.length, 1);
  assert.equal(result.categories[0].name, 'green');
});
