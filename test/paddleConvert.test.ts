import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import onnxProto from 'onnx-proto';
import protobuf from 'protobufjs';
import { convertPaddleDir, convertProgram, paddleModelFiles, parseProgram } from '../src/runtime/paddle/convert.js';
import { readPdiparams, type ParamTensor } from '../src/runtime/paddle/pdiparams.js';
import { ort } from '../src/runtime/session.js';
import { GUTENYE_ASSETS, imageTensor, maxAbsDiff, PADDLE_MODELS, syntheticWeights } from './helpers/paddleModels.js';
import { OPENCV_DATA, SKIMAGE_DATA } from './helpers/paths.js';
import { renderTextImage } from './helpers/textImages.js';

const TOLERANCE = 1e-4;
const HALF = [0.5, 0.5, 0.5];
const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];

function converted(dirName: string): Uint8Array {
  const dir = path.join(PADDLE_MODELS, dirName);
  return convertPaddleDir(dir, dirName, paddleModelFiles(dir)!);
}

async function textLine(text: string): Promise<Uint8Array> {
  return (await renderTextImage([text], { fontSize: 32, margin: 8 })).png;
}

/** Real inputs: rendered text and photos, at the model's input size. */
async function realInputs(width: number, height: number, mean: number[], std: number[]): Promise<ort.Tensor[]> {
  const sources = [
    await textLine('Invoice 2024-07: total 1,234.56 EUR'),
    (await renderTextImage(['PaddleOCR reads text', 'in two lines 0123'], { fontSize: 40 })).png,
    path.join(OPENCV_DATA, 'messi5.jpg'),
    path.join(SKIMAGE_DATA, 'astronaut.png'),
    path.join(PADDLE_MODELS, 'test.jpg'),
  ];
  return Promise.all(sources.map((s) => imageTensor(s, width, height, mean, std)));
}

async function assertSameOutputs(ours: Uint8Array, referenceFile: string, inputs: ort.Tensor[]): Promise<void> {
  const mine = await ort.InferenceSession.create(ours, { intraOpNumThreads: 1 });
  const theirs = await ort.InferenceSession.create(path.join(GUTENYE_ASSETS, referenceFile), { intraOpNumThreads: 1 });
  assert.deepEqual(mine.inputNames, theirs.inputNames);
  for (const input of inputs) {
    const a = (await mine.run({ [mine.inputNames[0]!]: input }))[mine.outputNames[0]!]!;
    const b = (await theirs.run({ [theirs.inputNames[0]!]: input }))[theirs.outputNames[0]!]!;
    assert.deepEqual(a.dims, b.dims);
    const diff = maxAbsDiff(a, b);
    assert.ok(diff <= TOLERANCE, `max abs diff ${diff} on input ${input.dims}`);
  }
}

describe('Paddle → ONNX converter: same outputs as the paddle2onnx exports of the same weights', () => {
  test('ch_ppocr_mobile_v2.0_cls_infer (ProgramDesc, Paddle 2.3)', async () => {
    await assertSameOutputs(
      converted('ch_ppocr_mobile_v2.0_cls_infer'),
      'ch_ppocr_mobile_v2.0_cls_infer.onnx',
      await realInputs(192, 48, HALF, HALF),
    );
  });

  test('ch_ppocr_mobile_v2.0_cls_infer, older export (ProgramDesc version 0, matmul v1 + scale, 32×100 input)', async () => {
    await assertSameOutputs(
      converted('ch_ppocr_mobile_v2.0_cls_infer.raoyutian'),
      'ch_ppocr_mobile_v2.0_cls_infer.onnx',
      await realInputs(100, 32, HALF, HALF),
    );
  });

  test('ch_PP-OCRv4_det_infer (ProgramDesc, dynamic H×W)', async () => {
    const inputs = [
      ...(await realInputs(480, 320, IMAGENET_MEAN, IMAGENET_STD)).slice(2),
      await imageTensor(path.join(OPENCV_DATA, 'fruits.jpg'), 256, 192, IMAGENET_MEAN, IMAGENET_STD),
    ];
    await assertSameOutputs(converted('ch_PP-OCRv4_det_infer'), 'ch_PP-OCRv4_det_infer.onnx', inputs);
  });

  test('ch_PP-OCRv4_rec_infer (ProgramDesc, dynamic width)', async () => {
    const inputs = [...(await realInputs(320, 48, HALF, HALF)), await imageTensor(await textLine('短文本 OK'), 160, 48, HALF, HALF)];
    await assertSameOutputs(converted('ch_PP-OCRv4_rec_infer'), 'ch_PP-OCRv4_rec_infer.onnx', inputs);
  });

  test("the converted weights are the .pdiparams tensors bit for bit, under the export's names", async () => {
    const ours = onnxProto.onnx.ModelProto.decode(converted('ch_ppocr_mobile_v2.0_cls_infer'));
    const theirs = onnxProto.onnx.ModelProto.decode(await readFile(path.join(GUTENYE_ASSETS, 'ch_ppocr_mobile_v2.0_cls_infer.onnx')));
    const hex = (t: onnxProto.onnx.ITensorProto) => Buffer.from(t.rawData!).toString('hex');
    const mine = new Map(ours.graph!.initializer!.map((t) => [t.name!, hex(t)]));
    // this paddle2onnx export (opset 9) stores the weights as Constant nodes
    const reference = theirs.graph!.node!.filter((n) => n.opType === 'Constant' && mine.has(n.output![0]!));
    assert.ok(reference.length >= 213, `${reference.length} shared tensors`);
    for (const n of reference) assert.equal(mine.get(n.output![0]!), hex(n.attribute![0]!.t!), n.output![0]!);
  });
});

describe('Paddle format readers', () => {
  test('.pdiparams holds tensors sorted by name: every stored shape matches the declared one', async () => {
    const dir = path.join(PADDLE_MODELS, 'PP-LCNet_x0_25_textline_ori');
    const program = parseProgram(path.join(dir, 'inference.json'));
    const params = readPdiparams(await readFile(path.join(dir, 'inference.pdiparams')), program.parameters, dir);
    assert.equal(params.size, 145);
    for (const [name, t] of params) assert.deepEqual(t.shape, program.values.get(name)!.shape, name);
  });

  test('weights that belong to another program are refused with the reason', async () => {
    const dir = path.join(PADDLE_MODELS, 'ch_PP-OCRv4_det_infer');
    const files = {
      programPath: path.join(dir, 'inference.pdmodel'),
      paramsPath: path.join(PADDLE_MODELS, 'ch_PP-OCRv4_rec_infer', 'inference.pdiparams'),
    };
    assert.throws(() => convertPaddleDir(dir, 'mixed', files), /belong to another program|truncated/);
  });

  test('a truncated .pdiparams is refused', async () => {
    const dir = path.join(PADDLE_MODELS, 'ch_ppocr_mobile_v2.0_cls_infer');
    const program = parseProgram(path.join(dir, 'inference.pdmodel'));
    const bytes = await readFile(path.join(dir, 'inference.pdiparams'));
    assert.throws(
      () => readPdiparams(bytes.subarray(0, bytes.length - 100), program.parameters, 'cut.pdiparams'),
      /cut\.pdiparams: ends inside/,
    );
  });

  test('a file that is not a program is refused', () => {
    assert.throws(() => parseProgram('inference.json', Buffer.from('{"base_code":{"magic":"nope"}}')), /not a PIR program/);
    assert.throws(() => parseProgram('inference.pdmodel', Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])), /not a Paddle ProgramDesc/);
  });
});

/** Declared output shape with -1 as a wildcard. */
function assertShape(actual: readonly number[], declared: number[], what: string): void {
  assert.equal(actual.length, declared.length, `${what}: rank of ${JSON.stringify(actual)} vs declared ${JSON.stringify(declared)}`);
  declared.forEach((d, i) =>
    assert.ok(d < 0 || d === actual[i], `${what}: ${JSON.stringify(actual)} vs declared ${JSON.stringify(declared)}`),
  );
}

/**
 * PaddleX program-only dirs (weights too large to ship): converted with synthetic weights of the
 * declared shapes, then run at a realistic input size. Those the converter cannot handle yet must
 * fail naming the missing ops, the model and the paddle2onnx fallback.
 */
const PROGRAM_ONLY: Array<{ dir: string; inputs?: Record<string, number[]>; missing?: string[] }> = [
  { dir: 'PP-LCNet_x1_0_doc_ori', inputs: { x: [2, 3, 224, 224] } },
  { dir: 'PP-LCNet_x1_0_textline_ori', inputs: { x: [2, 3, 80, 160] } },
  { dir: 'PP-OCRv4_server_det', inputs: { x: [1, 3, 320, 256] } },
  { dir: 'PP-OCRv4_server_seal_det', inputs: { x: [1, 3, 256, 320] } },
  { dir: 'PP-OCRv5_server_det', inputs: { x: [1, 3, 320, 320] } },
  { dir: 'PP-OCRv4_server_rec_doc', inputs: { x: [2, 3, 48, 320] } },
  { dir: 'PP-OCRv5_server_rec', inputs: { x: [1, 3, 48, 480] } },
  { dir: 'picodet_lcnet_x1_0_fgd_layout_infer', inputs: { image: [1, 3, 800, 608] } },
  { dir: 'UVDoc', inputs: { image: [1, 3, 600, 400] } },
  { dir: 'SLANet_plus', inputs: { x: [1, 3, 488, 488] } },
  { dir: 'ch_ppstructure_mobile_v2.0_SLANet_infer', inputs: { x: [1, 3, 488, 488] } },
  { dir: 'RT-DETR-H_layout_3cls', inputs: { im_shape: [1, 2], image: [1, 3, 640, 640], scale_factor: [1, 2] } },
  { dir: 'PP-DocLayoutV2', missing: ['einsum', 'index_put', 'take_along_axis'] },
];

describe('PaddleX program-only dirs: convert with synthetic weights and run, or name the missing ops', () => {
  for (const { dir: dirName, inputs, missing } of PROGRAM_ONLY) {
    test(dirName, async () => {
      const dir = path.join(PADDLE_MODELS, dirName);
      const program = parseProgram(paddleModelFiles(dir)!.programPath);
      const params = syntheticWeights(program);
      if (missing) {
        const err = (() => {
          try {
            convertProgram(program, params, dirName, dir);
          } catch (e) {
            return e as Error;
          }
          assert.fail(`${dirName} converted, but was expected to lack ${missing.join(', ')}`);
        })();
        assert.match(err.message, new RegExp(`Model "${dirName}" \\(${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)`));
        for (const op of missing) assert.ok(err.message.includes(op), `${op} not named in: ${err.message}`);
        assert.match(err.message, /paddlex --paddle2onnx --paddle_model_dir \S+ --onnx_model_dir/);
        return;
      }
      const session = await ort.InferenceSession.create(convertProgram(program, params, dirName, dir), { intraOpNumThreads: 1 });
      assert.deepEqual(session.inputNames, program.inputs);
      const feeds = Object.fromEntries(
        Object.entries(inputs!).map(([name, dims]) => [
          name,
          new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(0.5), dims),
        ]),
      );
      const outputs = await session.run(feeds);
      program.outputs.forEach((name, i) =>
        assertShape(outputs[session.outputNames[i]!]!.dims, program.values.get(name)!.shape, `${dirName} ${name}`),
      );
    });
  }
});

/** Runs a program with synthetic weights (some overridden) on a constant 488×488 image; outputs in fetch order. */
async function runSynthetic(dirName: string, override: (params: Map<string, ParamTensor>) => void = () => {}): Promise<ort.Tensor[]> {
  const dir = path.join(PADDLE_MODELS, dirName);
  const program = parseProgram(paddleModelFiles(dir)!.programPath);
  const params = syntheticWeights(program);
  override(params);
  const session = await ort.InferenceSession.create(convertProgram(program, params, dirName, dir), { intraOpNumThreads: 1 });
  const dims = [1, 3, 488, 488];
  const image = new ort.Tensor(
    'float32',
    Float32Array.from({ length: 3 * 488 * 488 }, (_, i) => (i % 97) / 97),
    dims,
  );
  const outputs = await session.run({ [session.inputNames[0]!]: image });
  return session.outputNames.map((name) => outputs[name]!);
}

/** SLANet's structure head: class 49 is the end token; this bias makes it win every step. */
function endTokenAlways(params: Map<string, ParamTensor>): void {
  const bias = params.get('linear_4.b_0')!;
  const values = new Float32Array(bias.data.slice().buffer);
  values[49] = 100;
  params.set('linear_4.b_0', { ...bias, data: new Uint8Array(values.buffer) });
}

/**
 * A ProgramDesc as Paddle 2.x lowers `y = paddle.static.nn.cond(flag, lambda: 2 * x, lambda: -x)`:
 * two conditional_blocks (Cond = flag, then its negation), each defining its own output, and a
 * select_input picking by the flag cast to int32.
 */
function condProgramDesc(): Uint8Array {
  const root = new protobuf.Root().loadSync(fileURLToPath(new URL('../src/runtime/paddle/programDesc.proto', import.meta.url)), {
    keepCase: true,
  });
  const ProgramDesc = root.lookupType('paddle.framework.proto.ProgramDesc');
  const tensor = (name: string, dataType: number, dims: number[]) => ({
    name,
    type: { type: 7, lod_tensor: { tensor: { data_type: dataType, dims } } },
  });
  const slot = (parameter: string, ...args: string[]) => ({ parameter, arguments: args });
  const FLOAT = 5;
  const BOOL = 0;
  const INT32 = 2;
  const scale = (out: string, factor: number) => ({
    type: 'scale',
    inputs: [slot('X', 'x')],
    outputs: [slot('Out', out)],
    attrs: [
      { name: 'scale', type: 1, f: factor },
      { name: 'bias', type: 1, f: 0 },
      { name: 'bias_after_scale', type: 6, b: true },
    ],
  });
  const conditional = (cond: string, out: string, block: number) => ({
    type: 'conditional_block',
    inputs: [slot('Cond', cond), slot('Input', 'x')],
    outputs: [slot('Out', out), slot('Scope', 'scope')],
    attrs: [
      { name: 'sub_block', type: 8, block_idx: block },
      { name: 'is_scalar_condition', type: 6, b: true },
    ],
  });
  return ProgramDesc.encode(
    ProgramDesc.fromObject({
      blocks: [
        {
          idx: 0,
          parent_idx: -1,
          vars: [
            tensor('x', FLOAT, [-1, 3]),
            tensor('flag', BOOL, [1]),
            tensor('not_flag', BOOL, [1]),
            tensor('doubled', FLOAT, [-1, 3]),
            tensor('negated', FLOAT, [-1, 3]),
            tensor('mask', INT32, [1]),
            tensor('y', FLOAT, [-1, 3]),
          ],
          ops: [
            { type: 'feed', inputs: [slot('X', 'feed')], outputs: [slot('Out', 'x')], attrs: [{ name: 'col', type: 0, i: 0 }] },
            { type: 'feed', inputs: [slot('X', 'feed')], outputs: [slot('Out', 'flag')], attrs: [{ name: 'col', type: 0, i: 1 }] },
            conditional('flag', 'doubled', 1),
            { type: 'logical_not', inputs: [slot('X', 'flag')], outputs: [slot('Out', 'not_flag')], attrs: [] },
            conditional('not_flag', 'negated', 2),
            {
              type: 'cast',
              inputs: [slot('X', 'flag')],
              outputs: [slot('Out', 'mask')],
              attrs: [
                { name: 'in_dtype', type: 0, i: BOOL },
                { name: 'out_dtype', type: 0, i: INT32 },
              ],
            },
            {
              type: 'select_input',
              inputs: [slot('X', 'negated', 'doubled'), slot('Mask', 'mask')],
              outputs: [slot('Out', 'y')],
              attrs: [],
            },
            { type: 'fetch', inputs: [slot('X', 'y')], outputs: [slot('Out', 'fetch')], attrs: [{ name: 'col', type: 0, i: 0 }] },
          ],
        },
        { idx: 1, parent_idx: 0, vars: [], ops: [scale('doubled', 2)] },
        { idx: 2, parent_idx: 0, vars: [], ops: [scale('negated', -1)] },
      ],
    }),
  ).finish();
}

describe('control flow: while → Loop, if → If', () => {
  test('ProgramDesc conditional_block + select_input (Paddle 2.x cond) → If: each flag runs its branch', async () => {
    const program = parseProgram('inference.pdmodel', condProgramDesc());
    const session = await ort.InferenceSession.create(convertProgram(program, new Map(), 'cond', 'cond-dir'), { intraOpNumThreads: 1 });
    const x = new ort.Tensor('float32', Float32Array.from([1, -2, 3, 0.5, 4, -6]), [2, 3]);
    for (const flag of [true, false]) {
      const out = await session.run({ x, flag: new ort.Tensor('bool', Uint8Array.from([flag ? 1 : 0]), [1]) });
      const y = Array.from(out[session.outputNames[0]!]!.data as Float32Array);
      assert.deepEqual(
        y,
        [1, -2, 3, 0.5, 4, -6].map((v) => (flag ? 2 * v : -v)),
        `flag ${flag}`,
      );
    }
  });

  test('SLANet as ProgramDesc (in-place while body) and as PIR (while with if) compute the same decoding', async () => {
    const [locDesc, structureDesc] = await runSynthetic('ch_ppstructure_mobile_v2.0_SLANet_infer');
    const [locPir, structurePir] = await runSynthetic('SLANet_plus');
    // 500 decoding steps + the start: every step's row is written by set_value
    assert.deepEqual(structureDesc!.dims, [1, 501, 50]);
    assert.deepEqual(locDesc!.dims, [1, 501, 8]);
    const loc = locDesc!.data as Float32Array;
    for (let row = 0; row < 501; row++) assert.ok(loc[row * 8]! > 0, `row ${row} was never written`);
    assert.deepEqual(structurePir!.dims, structureDesc!.dims);
    assert.ok(maxAbsDiff(structurePir!, structureDesc!) <= 1e-5, `structure diff ${maxAbsDiff(structurePir!, structureDesc!)}`);
    assert.ok(maxAbsDiff(locPir!, locDesc!) <= 1e-5, `location diff ${maxAbsDiff(locPir!, locDesc!)}`);
  });

  test("SLANet_plus stops at the end token (its if sets the loop's done flag); the older SLANet has no early stop", async () => {
    const [loc, structure] = await runSynthetic('SLANet_plus', endTokenAlways);
    // step 0 writes row 0 and ends the loop; the program then keeps rows [0, step + 1] = 2 rows
    assert.deepEqual(structure!.dims, [1, 2, 50]);
    assert.deepEqual(loc!.dims, [1, 2, 8]);
    const [, fullLength] = await runSynthetic('ch_ppstructure_mobile_v2.0_SLANet_infer', endTokenAlways);
    assert.deepEqual(fullLength!.dims, [1, 501, 50]);
  });
});
