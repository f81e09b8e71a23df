/**
 * Exact parity with PaddleX 3.x's OCR pipeline: every golden file of ../shared/golden/ocr (made by a
 * line-by-line port of PaddleX's OCR algorithm, see its README) must come back from `/ocr` with
 * identical dt_polys, rec_polys, rec_boxes, rec_texts and textline_orientation_angles, and rec_scores
 * within 1e-5. Set A: PaddleX 3.3's OCR.yaml values, text-line orientation off. Set B: the same with
 * the real PP-LCNet_x0_25_textline_ori export (a test fixture, via model_dir). Two instances serve,
 * and each request is alone, so its recognition (and orientation) batches are spread over both: the
 * goldens hold for the spread path, and the test checks that batches did run on the second instance.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { REPO_ROOT, SHARED_MODELS } from './helpers/paths.js';
import { postJson, startServer, type RunningServer } from './helpers/server.js';

const GOLDEN = path.resolve(REPO_ROOT, '../shared/golden/ocr');
const SCORE_TOLERANCE = 1e-5;

interface GoldenFile {
  image: string;
  image_sha256: string;
  prunedResult: Record<string, any>;
}

/** configs/OCR.yaml (PaddleX 3.3's values), adjusted by `edit`, written to a temp dir. */
async function writeOcrYaml(dir: string, edit: (config: any) => void): Promise<string> {
  const config = YAML.parse(await readFile(path.join(REPO_ROOT, 'configs/OCR.yaml'), 'utf8'));
  edit(config);
  const yamlPath = path.join(dir, 'OCR.yaml');
  await writeFile(yamlPath, YAML.stringify(config));
  return yamlPath;
}

function compareToGolden(name: string, actual: Record<string, any>, expected: Record<string, any>): void {
  for (const key of [
    'model_settings',
    'text_det_params',
    'text_type',
    'text_rec_score_thresh',
    'dt_polys',
    'textline_orientation_angles',
  ]) {
    assert.deepEqual(actual[key], expected[key], `${name}: ${key}`);
  }
  assert.deepEqual(actual.rec_texts, expected.rec_texts, `${name}: rec_texts`);
  assert.deepEqual(actual.rec_polys, expected.rec_polys, `${name}: rec_polys`);
  assert.deepEqual(actual.rec_boxes, expected.rec_boxes, `${name}: rec_boxes`);
  assert.equal(actual.rec_scores.length, expected.rec_scores.length, `${name}: rec_scores length`);
  actual.rec_scores.forEach((score: number, i: number) => {
    const diff = Math.abs(score - expected.rec_scores[i]);
    assert.ok(diff <= SCORE_TOLERANCE, `${name}: rec_scores[${i}] = ${score}, golden ${expected.rec_scores[i]} (diff ${diff})`);
  });
}

for (const [set, textline] of [
  ['set-A', false],
  ['set-B', true],
] as const) {
  describe(`golden OCR outputs, ${set} (text-line orientation ${textline ? 'PP-LCNet_x0_25_textline_ori' : 'off'})`, () => {
    let server: RunningServer;
    let dir: string;
    /** the operations the pool's instances ran */
    const executed: string[] = [];
    before(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), `pipeserve-golden-${set}-`));
      const yamlPath = await writeOcrYaml(dir, (config) => {
        config.use_textline_orientation = textline;
        if (textline) {
          config.SubModules.TextLineOrientation.model_name = 'PP-LCNet_x0_25_textline_ori';
          config.SubModules.TextLineOrientation.model_dir = path.join(SHARED_MODELS, 'PP-LCNet_x0_25_textline_ori');
        }
      });
      server = await startServer({ pipelines: [yamlPath], workers: 2 });
      server.service.pipelines[0]!.pool.on('taskDone', ({ op }) => executed.push(op));
    });
    after(async () => {
      await server?.close();
      await rm(dir, { recursive: true, force: true });
    });

    test('every golden file of the set', async () => {
      const files = (await readdir(path.join(GOLDEN, set))).filter((f) => f.endsWith('.json')).sort();
      assert.equal(files.length, 7, 'the golden set has 7 files');
      for (const file of files) {
        const golden = JSON.parse(await readFile(path.join(GOLDEN, set, file), 'utf8')) as GoldenFile;
        const png = await readFile(path.join(GOLDEN, golden.image));
        assert.equal(createHash('sha256').update(png).digest('hex'), golden.image_sha256, `${file}: image checksum`);
        const res = await postJson(`${server.url}/ocr`, { file: png.toString('base64'), fileType: 1, visualize: false });
        assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 300));
        compareToGolden(`${set}/${file}`, res.body.result.ocrResults[0].prunedResult, golden.prunedResult);
      }
      // batches lent to the idle instance run there as tasks of their spread operation
      assert.ok(executed.includes('SubModules.TextRecognition.recognizeBatch'), `executed: ${[...new Set(executed)].join(', ')}`);
      if (textline)
        assert.ok(executed.includes('SubModules.TextLineOrientation.scoreBatch'), `executed: ${[...new Set(executed)].join(', ')}`);
    });
  });
}
