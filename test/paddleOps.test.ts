import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { convertProgram } from '../src/runtime/paddle/convert.js';
import type { AttrValue, PaddleOp, PaddleProgram, TensorInfo } from '../src/runtime/paddle/program.js';
import { ort } from '../src/runtime/session.js';

/**
 * Op semantics the real models exercise only with weights we do not have: small hand-made
 * programs, converted and run, against values worked out by hand from Paddle's definitions.
 */

type Feed = { dims: number[]; data: number[]; type?: 'float32' | 'int64' };

function op(type: string, inputs: string[][], outputs: string[], attrs: Record<string, AttrValue> = {}, slots?: string[]): PaddleOp {
  const names = slots ?? inputs.map((_, i) => String(i));
  return {
    type,
    inputs: Object.fromEntries(inputs.map((v, i) => [names[i]!, v])),
    outputs: Object.fromEntries(outputs.map((v, i) => [slots ? (i === 0 ? 'Out' : `Out${i}`) : String(i), [v]])),
    attrs,
  };
}

async function run(
  format: PaddleProgram['format'],
  ops: PaddleOp[],
  values: Record<string, TensorInfo>,
  feeds: Record<string, Feed>,
  outputs: string[],
): Promise<Record<string, { dims: readonly number[]; data: number[] }>> {
  const program: PaddleProgram = {
    format,
    ops,
    values: new Map(Object.entries(values)),
    inputs: Object.keys(feeds),
    outputs,
    parameters: [],
  };
  const session = await ort.InferenceSession.create(convertProgram(program, new Map(), 'ops-test', '/nowhere'));
  const tensors = Object.fromEntries(
    Object.entries(feeds).map(([name, f]) => [
      name,
      f.type === 'int64'
        ? new ort.Tensor('int64', BigInt64Array.from(f.data.map(BigInt)), f.dims)
        : new ort.Tensor('float32', Float32Array.from(f.data), f.dims),
    ]),
  );
  const result = await session.run(tensors);
  return Object.fromEntries(
    outputs.map((name) => [name, { dims: result[name]!.dims, data: Array.from(result[name]!.data as ArrayLike<number | bigint>, Number) }]),
  );
}

const f32 = (shape: number[]): TensorInfo => ({ dtype: 'float32', shape });
const i64 = (shape: number[]): TensorInfo => ({ dtype: 'int64', shape });
const intArray = (name: string, value: number[]) => op('full_int_array', [], [name], { value, dtype: 'int64' });

describe('op semantics (PIR)', () => {
  test('floor_divide and remainder follow Python on negative integers', async () => {
    const a = [7, -7, 7, -7, 6, -6];
    const b = [2, 2, -2, -2, 3, 3];
    const out = await run(
      'pir',
      [op('floor_divide', [['a'], ['b']], ['q']), op('remainder', [['a'], ['b']], ['r'])],
      { a: i64([6]), b: i64([6]), q: i64([6]), r: i64([6]) },
      { a: { dims: [6], data: a, type: 'int64' }, b: { dims: [6], data: b, type: 'int64' } },
      ['q', 'r'],
    );
    assert.deepEqual(out.q!.data, [3, -4, -4, 3, 2, -2]);
    assert.deepEqual(out.r!.data, [1, 1, -1, -1, 0, 0]);
  });

  test('flip, tile raising the rank, topk', async () => {
    const out = await run(
      'pir',
      [
        op('flip', [['x']], ['flipped'], { axis: [1] }),
        intArray('reps', [2, 1, 2]),
        op('tile', [['x'], ['reps']], ['tiled']),
        op('full', [], ['k'], { shape: [1], value: 2, dtype: 'int32' }),
        op('topk', [['x'], ['k']], ['values', 'indices'], { axis: 1, largest: true, sorted: true }),
      ],
      { x: f32([2, 3]), flipped: f32([2, 3]), tiled: f32([2, 2, 6]), values: f32([2, 2]), indices: i64([2, 2]) },
      { x: { dims: [2, 3], data: [1, 5, 3, 6, 4, 2] } },
      ['flipped', 'tiled', 'values', 'indices'],
    );
    assert.deepEqual(out.flipped!.data, [3, 5, 1, 2, 4, 6]);
    assert.deepEqual(out.tiled!.dims, [2, 2, 6]);
    assert.deepEqual(out.tiled!.data.slice(0, 12), [1, 5, 3, 1, 5, 3, 6, 4, 2, 6, 4, 2]);
    assert.deepEqual(out.values!.data, [5, 3, 6, 4]);
    assert.deepEqual(out.indices!.data, [1, 2, 0, 1]);
  });

  test('pad3d reflect pads W and H as [left, right, top, bottom, front, back]', async () => {
    const out = await run(
      'pir',
      [
        intArray('pads', [1, 0, 0, 1, 0, 0]),
        op('pad3d', [['x'], ['pads']], ['y'], { mode: 'reflect', pad_value: 0, data_format: 'NCDHW' }),
      ],
      { x: f32([1, 1, 1, 2, 3]), y: f32([1, 1, 1, 3, 4]) },
      { x: { dims: [1, 1, 1, 2, 3], data: [1, 2, 3, 4, 5, 6] } },
      ['y'],
    );
    // one column on the left (reflecting column 1), one row at the bottom (reflecting row 0)
    assert.deepEqual(out.y!.data, [2, 1, 2, 3, 5, 4, 5, 6, 2, 1, 2, 3]);
  });

  test('prelu per channel', async () => {
    const out = await run(
      'pir',
      [
        op('full', [], ['alpha'], { shape: [2], value: 0.5, dtype: 'float32' }),
        op('prelu', [['x'], ['alpha']], ['y'], { mode: 'channel', data_format: 'NCHW' }),
      ],
      { x: f32([1, 2, 1, 2]), y: f32([1, 2, 1, 2]) },
      { x: { dims: [1, 2, 1, 2], data: [-2, 2, -4, 4] } },
      ['y'],
    );
    assert.deepEqual(out.y!.data, [-1, 2, -2, 4]);
  });
});

describe('op semantics (ProgramDesc)', () => {
  test('elementwise_add aligns Y at `axis`', async () => {
    const out = await run(
      'programDesc',
      [
        op('fill_constant', [], ['bias'], { shape: [2], value: 10, dtype: 5 }, []),
        op('elementwise_add', [['x'], ['bias']], ['y'], { axis: 1 }, ['X', 'Y']),
      ],
      { x: f32([1, 2, 1, 2]), bias: f32([2]), y: f32([1, 2, 1, 2]) },
      { x: { dims: [1, 2, 1, 2], data: [1, 2, 3, 4] } },
      ['y'],
    );
    assert.deepEqual(out.y!.data, [11, 12, 13, 14]);
  });

  test("slice with decrease_axis keeps Paddle 2.x's [1] result", async () => {
    const out = await run(
      'programDesc',
      [op('slice', [['x']], ['y'], { axes: [0], starts: [1], ends: [2], decrease_axis: [0] }, ['Input'])],
      { x: f32([3]), y: f32([1]) },
      { x: { dims: [3], data: [4, 5, 6] } },
      ['y'],
    );
    assert.deepEqual(out.y, { dims: [1], data: [5] });
  });
});
