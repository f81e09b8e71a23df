/**
 * face_recognition on real photos: the real BlazeFace (PaddleDetection export, ../shared/models)
 * finds the faces; the self-made MobileFaceNet fixture (test/helpers/recognitionFixtures.ts) gives
 * the features. A gallery made from one photo's face recognises that person in a mirrored and in a
 * cropped copy of the photo, and not the other person.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { OPENCV_DATA, SKIMAGE_DATA } from './helpers/paths.js';
import { recognitionYaml } from './helpers/recognitionFixtures.js';
import { postJson, startServer, type RunningServer } from './helpers/server.js';

const ASTRONAUT = path.join(SKIMAGE_DATA, 'astronaut.png');
const MESSI = path.join(OPENCV_DATA, 'messi5.jpg');
const CAT = path.join(SKIMAGE_DATA, 'chelsea.png');

type Face = { bbox: [number, number, number, number]; score: number; recResults: Array<{ label: string; score: number }> };

const b64 = (bytes: Buffer) => bytes.toString('base64');

describe('face_recognition with BlazeFace on real photos', () => {
  let server: RunningServer;
  let indexKey: string;
  const faceBoxes: Record<string, [number, number, number, number]> = {};

  async function faces(image: Buffer, fields: Record<string, unknown> = {}): Promise<Face[]> {
    const res = await postJson(`${server.url}/face-recognition-infer`, { image: b64(image), indexKey, visualize: false, ...fields });
    assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 300));
    assert.deepEqual(Object.keys(res.body.result), ['faces']);
    return res.body.result.faces;
  }

  /** The face region of a photo as BlazeFace found it, as a PNG (the gallery picture). */
  async function faceCrop(file: string, label: string): Promise<Buffer> {
    const [x1, y1, x2, y2] = faceBoxes[label]!.map(Math.trunc) as [number, number, number, number];
    return sharp(file)
      .extract({ left: x1, top: y1, width: x2 - x1, height: y2 - y1 })
      .png()
      .toBuffer();
  }

  before(async () => {
    server = await startServer({
      pipelines: [await recognitionYaml('face_recognition', { extra: { index_storage: { type: 'memory' } } })],
    });
    // an index is needed to infer at all: start with the cat, which is no face
    const build = await postJson(`${server.url}/face-recognition-index-build`, {
      imageLabelPairs: [{ image: b64(await readFile(CAT)), label: 'cat' }],
    });
    assert.equal(build.status, 200, JSON.stringify(build.body));
    indexKey = build.body.result.indexKey;
  });
  after(() => server?.close());

  test('BlazeFace finds the one face in each photo (det_threshold 0.5 of face_recognition.yaml), none on the cat', async () => {
    for (const [label, file, expected] of [
      ['astronaut', ASTRONAUT, [177, 61, 268, 174]],
      ['messi', MESSI, [223, 95, 262, 130]],
    ] as const) {
      const found = await faces(await readFile(file));
      assert.equal(found.length, 1, label);
      const face = found[0]!;
      assert.ok(face.score > 0.95, `${label} face score ${face.score}`);
      face.bbox.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 4, `${label} bbox ${face.bbox} ≈ ${expected}`));
      // the cat is in the index, but a face does not look like a cat picture
      assert.ok(!face.recResults.some((r) => r.label === 'cat' && r.score > 0.4), JSON.stringify(face.recResults));
      faceBoxes[label] = face.bbox;
    }
    assert.deepEqual(await faces(await readFile(CAT)), [], 'no face, no result (unlike ShiTu, no whole-image fallback)');
  });

  test('a gallery of one face recognises the person mirrored and cropped, and not the other person', async () => {
    const gallery = await postJson(`${server.url}/face-recognition-index-build`, {
      imageLabelPairs: [{ image: b64(await faceCrop(ASTRONAUT, 'astronaut')), label: 'Eileen Collins' }],
    });
    assert.equal(gallery.status, 200);
    indexKey = gallery.body.result.indexKey;

    const mirrored = await sharp(ASTRONAUT).flop().png().toBuffer();
    const cropped = await sharp(ASTRONAUT).extract({ left: 120, top: 20, width: 220, height: 220 }).png().toBuffer();
    const sameScores: number[] = [];
    for (const [what, image] of [
      ['mirrored', mirrored],
      ['cropped', cropped],
    ] as const) {
      const [face, ...others] = await faces(image);
      assert.equal(others.length, 0, what);
      assert.equal(face!.recResults[0]?.label, 'Eileen Collins', `${what}: ${JSON.stringify(face!.recResults)}`);
      sameScores.push(face!.recResults[0]!.score);
    }
    // the mirrored face sits mirrored in the photo: BlazeFace's box moved with it
    const [mirroredFace] = await faces(mirrored);
    assert.ok(Math.abs(mirroredFace!.bbox[0] - (512 - faceBoxes.astronaut![2])) < 4);

    // Messi is not recognised as her under face_recognition.yaml's rec_threshold (0.5) ...
    const [messi] = await faces(await readFile(MESSI));
    assert.deepEqual(messi!.recResults, []);
    // ... and his best score is far below hers (recThreshold -1 shows every score)
    const [messiScored] = await faces(await readFile(MESSI), { recThreshold: -1 });
    assert.ok(messiScored!.recResults[0]!.score < Math.min(...sameScores) - 0.3, `${messiScored!.recResults[0]!.score} vs ${sameScores}`);

    // with Messi's face added, each photo finds its own person first
    const add = await postJson(`${server.url}/face-recognition-index-add`, {
      indexKey,
      imageLabelPairs: [{ image: b64(await faceCrop(MESSI, 'messi')), label: 'Lionel Messi' }],
    });
    assert.deepEqual(add.body.result, { imageCount: 2 });
    assert.equal((await faces(await readFile(MESSI)))[0]!.recResults[0]!.label, 'Lionel Messi');
    assert.equal((await faces(mirrored))[0]!.recResults[0]!.label, 'Eileen Collins');
  });

  test('the visualized image shows the photo', async () => {
    const res = await postJson(`${server.url}/face-recognition-infer`, { image: b64(await readFile(MESSI)), indexKey, visualize: true });
    const meta = await sharp(Buffer.from(res.body.result.image, 'base64')).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 548, 342]);
  });
});
