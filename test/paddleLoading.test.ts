import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { resolveModel } from '../src/config/models.js';
import type { SubModuleConfig } from '../src/config/pipelineConfig.js';
import type { RgbImage } from '../src/io/image.js';
import { TextlineOrientationClassifier } from '../src/models/textlineOrientation.js';
import { convertPaddleDir, paddleModelFiles } from '../src/runtime/paddle/convert.js';
import { cpuRuntime } from './helpers/fixtures.js';
import { runCli } from './helpers/cli.js';
import { PADDLE_MODELS } from './helpers/paddleModels.js';
import { decodeToRgb, renderTextImage } from './helpers/textImages.js';

const TEXTLINE_ORI = path.join(PADDLE_MODELS, 'PP-LCNet_x0_25_textline_ori');

let home: string;
let previousHome: string | undefined;
before(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'pipeserve-home-'));
  previousHome = process.env.PIPESERVE_HOME;
  process.env.PIPESERVE_HOME = home;
});
after(async () => {
  if (previousHome === undefined) delete process.env.PIPESERVE_HOME;
  else process.env.PIPESERVE_HOME = previousHome;
  await rm(home, { recursive: true, force: true });
});

function textlineSub(modelDir: string): SubModuleConfig {
  return { module_name: 'textline_orientation', model_name: 'PP-LCNet_x0_25_textline_ori', model_dir: modelDir, batch_size: 6 };
}

describe('Paddle inference dirs as model_dir', () => {
  test('first load converts into $PIPESERVE_HOME/cache, the second uses the cache', async () => {
    const first = resolveModel(textlineSub(TEXTLINE_ORI), 'SubModules.TextLineOrientation');
    assert.match(first.source, /converted from Paddle format in \d+ ms/);
    assert.ok(first.onnxPath.startsWith(path.join(home, 'cache')), first.onnxPath);
    const second = resolveModel(textlineSub(TEXTLINE_ORI), 'SubModules.TextLineOrientation');
    assert.equal(second.source, `${TEXTLINE_ORI} (converted from Paddle format (cached))`);
    assert.equal(second.onnxPath, first.onnxPath);
    assert.equal(second.inferenceConfig.Global.model_name, 'PP-LCNet_x0_25_textline_ori');
    assert.deepEqual(
      (await readdir(path.join(home, 'cache'))).filter((f) => f.includes('partial')),
      [],
    );
  });

  test('changed weights miss the cache', async () => {
    const copy = await mkdtemp(path.join(os.tmpdir(), 'pipeserve-paddle-'));
    try {
      await cp(TEXTLINE_ORI, copy, { recursive: true });
      const params = await readFile(path.join(copy, 'inference.pdiparams'));
      params[params.length - 1] ^= 0x01; // last byte of the last tensor's data
      await writeFile(path.join(copy, 'inference.pdiparams'), params);
      const changed = resolveModel(textlineSub(copy), 'k');
      assert.match(changed.source, /converted from Paddle format in/);
      assert.notEqual(changed.onnxPath, resolveModel(textlineSub(TEXTLINE_ORI), 'k').onnxPath);
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  });

  test('a program whose ops the converter lacks stops resolution naming the op, the model and paddle2onnx', async () => {
    const copy = await mkdtemp(path.join(os.tmpdir(), 'pipeserve-paddle-'));
    try {
      // PP-DocLayoutV2's program with an empty weights file: the op check comes first
      await cp(path.join(PADDLE_MODELS, 'PP-DocLayoutV2'), copy, { recursive: true });
      await writeFile(path.join(copy, 'inference.pdiparams'), new Uint8Array());
      assert.throws(
        () =>
          resolveModel({ module_name: 'layout_detection', model_name: 'PP-DocLayoutV2', model_dir: copy }, 'SubModules.LayoutDetection'),
        (err: Error) =>
          err.message.includes('Model "PP-DocLayoutV2"') &&
          err.message.includes('einsum') &&
          err.message.includes(`paddlex --paddle2onnx --paddle_model_dir ${copy}`),
      );
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  });

  test('a Paddle dir without inference.yml (PaddleOCR 2.x export) is named as such', () => {
    const dir = path.join(PADDLE_MODELS, 'ch_PP-OCRv4_det_infer');
    assert.throws(
      () => resolveModel({ module_name: 'text_detection', model_name: 'PP-OCRv4_mobile_det', model_dir: dir }, 'SubModules.TextDetection'),
      new RegExp(`${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} holds a Paddle program but no inference\\.yml`),
    );
  });

  test('PP-LCNet_x0_25_textline_ori (PIR program) through the text-line orientation module: upright vs 180° lines', async () => {
    const sub = { ...textlineSub(TEXTLINE_ORI), resolved: resolveModel(textlineSub(TEXTLINE_ORI), 'SubModules.TextLineOrientation') };
    const classifier = await TextlineOrientationClassifier.load(sub, cpuRuntime(), 'SubModules.TextLineOrientation');
    const lines = [
      'Hello World 42',
      'Version 3.10.2 released!',
      'user@example.com',
      'Total: $1,234.56',
      '(555) 867-5309',
      'The quick brown fox jumps',
      'Meeting at 10:30 in room B',
      'Invoice No. 2024-0042',
      'Shipping address: 12 Main St',
      'Thank you for your order',
    ];
    const crops: RgbImage[] = [];
    const expected: number[] = [];
    for (const [i, line] of lines.entries()) {
      const fonts = ['DejaVu Sans', 'Liberation Serif'];
      for (const rotateDeg of [0, 180]) {
        crops.push(
          await decodeToRgb((await renderTextImage([line], { fontSize: 28, margin: 6, rotateDeg, fontFamily: fonts[i % 2] })).png),
        );
        expected.push(rotateDeg);
      }
    }
    const angles = (await classifier.predict(crops)).map((r) => r.angle);
    const correct = angles.filter((a, i) => a === expected[i]).length;
    assert.ok(correct / crops.length >= 0.95, `${correct} of ${crops.length} correct: ${JSON.stringify(angles)}`);
  });
});

describe('pipeserve --paddle2onnx', () => {
  test("writes inference.onnx (the converter's output) and copies inference.yml", async () => {
    const out = await mkdtemp(path.join(os.tmpdir(), 'pipeserve-p2o-'));
    try {
      const run = await runCli(['--paddle2onnx', '--paddle_model_dir', TEXTLINE_ORI, '--onnx_model_dir', out]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /saved to: .*inference\.onnx/);
      assert.deepEqual((await readdir(out)).sort(), ['inference.onnx', 'inference.yml']);
      const expected = convertPaddleDir(TEXTLINE_ORI, 'PP-LCNet_x0_25_textline_ori', paddleModelFiles(TEXTLINE_ORI)!);
      assert.ok(Buffer.from(expected).equals(await readFile(path.join(out, 'inference.onnx'))));
      assert.equal(
        await readFile(path.join(out, 'inference.yml'), 'utf8'),
        await readFile(path.join(TEXTLINE_ORI, 'inference.yml'), 'utf8'),
      );
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  test('without weights it fails with the reason', async () => {
    const run = await runCli([
      '--paddle2onnx',
      '--paddle_model_dir',
      path.join(PADDLE_MODELS, 'PP-OCRv5_server_det'),
      '--onnx_model_dir',
      os.tmpdir(),
    ]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /needs inference\.pdiparams/);
  });
});
