/**
 * The platform around the pipelines: Serving.extra checked against each pipeline's schema at
 * startup, model families chosen by model name (module_name is only a hint), the pre-processing
 * op registry and the batching helper.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import YAML from 'yaml';
import { ConfigError } from '../src/errors.js';
import { InferenceConfigReader, runInBatches } from '../src/models/common.js';
import { moduleOfModelName } from '../src/models/registry.js';
import { normalizeSpec, readPreprocessOps } from '../src/models/preprocessOps.js';
import { PipelineService } from '../src/serving/service.js';
import { REPO_ROOT } from './helpers/paths.js';
import { postJson, startServer } from './helpers/server.js';

async function ocrYaml(edit: (config: any) => void): Promise<string> {
  const config = YAML.parse(await readFile(path.join(REPO_ROOT, 'configs', 'OCR.yaml'), 'utf8'));
  edit(config);
  const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'pipeserve-platform-')), 'OCR.yaml');
  await writeFile(file, YAML.stringify(config));
  return file;
}

test('a bad Serving.extra value stops startup, naming the key path', async () => {
  const badSize = await ocrYaml((c) => (c.Serving.extra.max_output_img_size = [2000]));
  await assert.rejects(
    PipelineService.start({ pipelines: [badSize], workers: 1, log: () => {} }),
    (err: Error) => err instanceof ConfigError && /Serving\.extra\.max_output_img_size/.test(err.message),
  );
  const badPages = await ocrYaml((c) => (c.Serving.extra.max_num_input_imgs = 0));
  await assert.rejects(
    PipelineService.start({ pipelines: [badPages], workers: 1, log: () => {} }),
    (err: Error) => err instanceof ConfigError && /Serving\.extra\.max_num_input_imgs/.test(err.message),
  );
  const unsupported = await ocrYaml((c) => (c.Serving.extra.file_storage = { type: 'bos' }));
  await assert.rejects(
    PipelineService.start({ pipelines: [unsupported], workers: 1, log: () => {} }),
    (err: Error) => err instanceof ConfigError && /file_storage: not supported by pipeserve/.test(err.message),
  );
});

test('Serving.extra defaults are PaddleX’s and max_num_input_imgs: null is accepted', async () => {
  const unlimited = await ocrYaml((c) => {
    c.Serving.extra = { max_num_input_imgs: null };
  });
  const service = await PipelineService.start({ pipelines: [unlimited], workers: 1, log: () => {} });
  try {
    assert.deepEqual(service.pipelines[0]!.serving.extra, { max_num_input_imgs: null, max_output_img_size: [2000, 2000] });
  } finally {
    await service.close();
  }
});

test('PaddleX picks a model’s family by its name: a wrong module_name is only a hint', async () => {
  // PaddleX's own PP-ShiTuV2.yaml declares its detector as text_detection; here the OCR detector is
  // declared as a recogniser and the recogniser as a detector, and the pipeline still works.
  const swapped = await ocrYaml((c) => {
    c.SubModules.TextDetection.module_name = 'text_recognition';
    c.SubModules.TextRecognition.module_name = 'text_detection';
  });
  const server = await startServer({ pipelines: [swapped], workers: 1 });
  try {
    const image = (await readFile(path.join(REPO_ROOT, '..', 'shared', 'golden', 'ocr', 'images', 'street_sign.png'))).toString('base64');
    const res = await postJson(`${server.url}/ocr`, { file: image, fileType: 1, visualize: false });
    assert.equal(res.status, 200);
    assert.ok(res.body.result.ocrResults[0].prunedResult.rec_texts.length > 0);
  } finally {
    await server.close();
  }
});

test('a model of another family in a role is a startup error naming both', async () => {
  const wrong = await ocrYaml((c) => {
    c.SubModules.TextDetection.model_name = 'PP-OCRv4_mobile_rec';
  });
  await assert.rejects(
    PipelineService.start({ pipelines: [wrong], workers: 1, log: () => {} }),
    (err: Error) =>
      err instanceof ConfigError && /SubModules\.TextDetection: model PP-OCRv4_mobile_rec is a text_recognition model/.test(err.message),
  );
});

test('model names map to PaddleX modules, the specific suffixes first', () => {
  assert.equal(moduleOfModelName('PP-OCRv5_server_det'), 'text_detection');
  assert.equal(moduleOfModelName('PP-OCRv4_server_seal_det'), 'seal_text_detection');
  assert.equal(moduleOfModelName('en_PP-OCRv4_mobile_rec'), 'text_recognition');
  assert.equal(moduleOfModelName('PP-LCNet_x1_0_doc_ori'), 'doc_text_orientation');
  assert.equal(moduleOfModelName('PP-LCNet_x0_25_textline_ori'), 'textline_orientation');
  assert.equal(moduleOfModelName('PP-LCNet_x1_0'), 'image_classification');
  assert.equal(moduleOfModelName('PicoDet-S'), 'object_detection');
  assert.equal(moduleOfModelName('PP-DocLayout_plus-L'), 'layout_detection');
  // PP-ShiTuV2.yaml calls these text_detection / text_recognition; their names say otherwise
  assert.equal(moduleOfModelName('PP-ShiTuV2_det'), 'object_detection');
  assert.equal(moduleOfModelName('PP-ShiTuV2_rec'), 'image_feature');
  assert.equal(moduleOfModelName('a-model-nobody-knows'), undefined);
});

function reader(inferenceConfig: Record<string, unknown>): InferenceConfigReader {
  return new InferenceConfigReader(
    { module_name: 'x', model_name: 'm', resolved: { modelName: 'm', onnxPath: '/m.onnx', source: '/m', inferenceConfig } },
    'SubModules.X',
  );
}

test('pre-processing ops: both list formats, params checked, training-only ops skipped, unsupported ops named', () => {
  const ocr = readPreprocessOps(
    reader({
      PreProcess: {
        transform_ops: [
          { DecodeImage: { img_mode: 'BGR' } },
          { DetLabelEncode: null },
          { DetResizeForTest: { resize_long: 960 } },
          { NormalizeImage: { scale: '1./255.', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], order: 'hwc' } },
          { ToCHWImage: null },
          { KeepKeys: { keep_keys: ['image'] } },
        ],
      },
    }),
    ['DecodeImage', 'DetResizeForTest', 'NormalizeImage', 'ToCHWImage'],
  );
  assert.deepEqual(
    ocr.map((op) => op.name),
    ['DecodeImage', 'DetResizeForTest', 'NormalizeImage', 'ToCHWImage'],
  );
  const det = readPreprocessOps(
    reader({ Preprocess: [{ type: 'Resize', target_size: [320, 320], interp: 2, keep_ratio: false }, { type: 'Permute' }] }),
    ['Resize', 'Permute'],
  );
  assert.deepEqual(det[0], {
    name: 'Resize',
    params: { target_size: [320, 320], interp: 2, keep_ratio: false },
    setting: 'Preprocess[0] (Resize)',
  });
  assert.throws(
    () => readPreprocessOps(reader({ Preprocess: [{ type: 'WarpAffine' }] }), ['Resize']),
    /Preprocess\[0\] \(WarpAffine\): unsupported op \(supported: Resize\)/,
  );
  assert.throws(
    () => readPreprocessOps(reader({ PreProcess: { transform_ops: [{ RecResizeImg: { image_shape: [1, 48, 320] } }] } }), ['RecResizeImg']),
    /RecResizeImg.*image_shape/,
  );
});

test('NormalizeImage: one op, three spellings (PaddleClas, PaddleOCR, PaddleDetection)', () => {
  assert.deepEqual(normalizeSpec({ scale: 1 / 255, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] }, 'bgr'), {
    scale: 1 / 255,
    mean: [0.5, 0.5, 0.5],
    std: [0.5, 0.5, 0.5],
    channelOrder: 'bgr',
  });
  assert.deepEqual(normalizeSpec({ is_scale: true, norm_type: 'none', mean: [0, 0, 0], std: [1, 1, 1] }, 'rgb'), {
    scale: 1 / 255,
    mean: [0, 0, 0],
    std: [1, 1, 1],
    channelOrder: 'rgb',
  });
  assert.equal(normalizeSpec({ is_scale: false }, 'rgb').scale, 1);
  assert.deepEqual(normalizeSpec(undefined, 'rgb').mean, [0.485, 0.456, 0.406]);
});

test('batching: batch_size at a time, in order, one session run per run of equal shapes', async () => {
  const runs: number[][] = [];
  const results = await runInBatches([1, 2, 3, 4, 5], 2, {
    prepare: (n) => n * 10,
    shapeOf: (n) => (n === 30 ? 'odd' : 'even'),
    run: async (prepared) => {
      runs.push(prepared);
      return prepared.map((p) => p + 1);
    },
  });
  assert.deepEqual(results, [11, 21, 31, 41, 51]);
  assert.deepEqual(runs, [[10, 20], [30], [40], [50]]);
});
