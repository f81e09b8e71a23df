import {
  dtypeFromName,
  numAttr,
  numsAttr,
  ONNX_ELEMENT_TYPES,
  operand,
  operands,
  result,
  UnsupportedOpForm,
  attr,
  type ConvertContext,
  type MapperTables,
} from '../context.js';
import type { ElementType, PaddleOp } from '../program.js';

/** A [1]-shaped or 0-d constant operand as a 0-d tensor (ONNX Range and Clip want scalars). */
function scalarOperand(ctx: ConvertContext, op: PaddleOp, slot: string, dtype: ElementType): string {
  const name = operand(op, slot);
  const known = ctx.constantValues(name);
  if (known) return ctx.constant([known[0]!], dtype, []);
  const info = ctx.info(name)!;
  const asType = info.dtype === dtype ? name : ctx.tmp('Cast', [name], { dtype, shape: info.shape }, { to: ONNX_ELEMENT_TYPES[dtype] });
  return info.shape.length === 0 ? asType : ctx.tmp('Reshape', [asType, ctx.constant([], 'int64', [0])], { dtype, shape: [] });
}

/** Paddle flip over `axes`: ONNX has no Flip, a Slice with step −1 per axis does it. */
function flip(ctx: ConvertContext, x: string, out: string, axes: number[]): void {
  const n = axes.length;
  const big = Number.MAX_SAFE_INTEGER;
  ctx.node(
    'Slice',
    [
      x,
      ctx.constant(Array(n).fill(-1), 'int64'),
      ctx.constant(Array(n).fill(-big), 'int64'),
      ctx.constant(axes, 'int64'),
      ctx.constant(Array(n).fill(-1), 'int64'),
    ],
    [out],
  );
}

/** One-hot rows of float32 0/1, as Paddle's one_hot gives (depth = number of classes). */
function oneHot(ctx: ConvertContext, indices: string, depth: string, out: string): void {
  // int64 indices and depth: the type combination onnxruntime implements for float output
  ctx.node('OneHot', [ctx.int64(indices), depth, ctx.constant([0, 1], 'float32')], [out], { axis: -1 });
}

interface SliceWrite {
  x: string;
  value: string;
  /** int64 1-D, one entry per axis */
  starts: string;
  ends: string;
  /** known step values (only 1 is mapped) */
  steps: number[] | undefined;
  out: string;
}

/**
 * set_value: `x[starts:ends] = value` on `axes` (steps 1), `value` broadcast to the slice after its
 * `decrease_axes` are put back. ONNX has no slice assignment: the value is expanded to the slice,
 * padded to x's shape, and chosen where a mask of the slice's positions is true.
 */
function setSlice(ctx: ConvertContext, op: PaddleOp, { x, value, starts, ends, steps, out }: SliceWrite): void {
  const axes = numsAttr(op, 'axes');
  if (!steps || steps.some((s) => s !== 1)) throw new UnsupportedOpForm('set_value with steps other than 1');
  const { dtype, shape } = ctx.info(x)!;
  const rank = shape.length;
  const normalized = axes.map((a) => (a < 0 ? a + rank : a));
  const xShape = ctx.tmp('Shape', [x], { dtype: 'int64', shape: [rank] });
  const scalar = (tensor: string, i: number) => ctx.tmp('Gather', [tensor, ctx.constant([i], 'int64', [])], { dtype: 'int64', shape: [] });
  const zero = ctx.constant([0], 'int64', []);
  let mask: string | undefined;
  const before: string[] = Array(rank).fill(zero);
  const after: string[] = Array(rank).fill(zero);
  normalized.forEach((axis, i) => {
    const dim = scalar(xShape, axis);
    // Paddle's index rules: negative counts from the end, then clamped to [0, dim]
    const bound = (tensor: string) => {
      const raw = scalar(tensor, i);
      const negative = ctx.tmp('Less', [raw, zero], { dtype: 'bool', shape: [] });
      const wrapped = ctx.tmp('Where', [negative, ctx.tmp('Add', [raw, dim], { dtype: 'int64', shape: [] }), raw], {
        dtype: 'int64',
        shape: [],
      });
      return ctx.tmp('Min', [ctx.tmp('Max', [wrapped, zero], { dtype: 'int64', shape: [] }), dim], { dtype: 'int64', shape: [] });
    };
    const start = bound(starts);
    const end = ctx.tmp('Max', [bound(ends), start], { dtype: 'int64', shape: [] });
    const positions = ctx.tmp('Range', [zero, dim, ctx.constant([1], 'int64', [])], { dtype: 'int64', shape: [-1] });
    const inside = ctx.tmp(
      'And',
      [
        ctx.tmp('GreaterOrEqual', [positions, start], { dtype: 'bool', shape: [-1] }),
        ctx.tmp('Less', [positions, end], { dtype: 'bool', shape: [-1] }),
      ],
      { dtype: 'bool', shape: [-1] },
    );
    const alongAxis = Array.from({ length: rank }, (_, d) => (d === axis ? -1 : 1));
    const placed = ctx.tmp('Reshape', [inside, ctx.constant(alongAxis, 'int64')], { dtype: 'bool', shape: alongAxis });
    mask = mask ? ctx.tmp('And', [mask, placed], { dtype: 'bool', shape: shape.map(() => -1) }) : placed;
    before[axis] = start;
    after[axis] = ctx.tmp('Sub', [dim, end], { dtype: 'int64', shape: [] });
  });
  const decrease = numsAttr(op, 'decrease_axes');
  const valueType = ctx.info(value)!;
  let filled = decrease.length
    ? ctx.tmp('Unsqueeze', [value, ctx.constant(decrease, 'int64')], { dtype: valueType.dtype, shape: shape.map(() => -1) })
    : value;
  if (valueType.dtype !== dtype)
    filled = ctx.tmp('Cast', [filled], { dtype, shape: shape.map(() => -1) }, { to: ONNX_ELEMENT_TYPES[dtype] });
  const sliceShape = ctx.tmp(
    'Shape',
    [ctx.tmp('Slice', [x, starts, ends, ctx.constant(normalized, 'int64')], { dtype, shape: shape.map(() => -1) })],
    { dtype: 'int64', shape: [rank] },
  );
  const expanded = ctx.tmp('Expand', [filled, sliceShape], { dtype, shape: shape.map(() => -1) });
  const pads = ctx.int64List([...before, ...after]);
  const padded = ctx.tmp('Pad', [expanded, pads], { dtype, shape: shape.map(() => -1) });
  ctx.node('Where', [mask!, padded, x], [out]);
}

export const indexingMappers: MapperTables = {
  programDesc: {
    one_hot_v2: (op, ctx) => {
      const depth = op.inputs.depth_tensor?.[0];
      const count = depth ? ctx.int64(depth) : ctx.constant([numAttr(op, 'depth', 0)], 'int64', []);
      oneHot(ctx, operand(op, 'X'), count, result(op, 'Out'));
    },
    // set_value(Input, ValueTensor){axes, starts/ends/steps as attributes or tensor lists}
    set_value: (op, ctx) => {
      const value = op.inputs.ValueTensor?.[0];
      if (!value) throw new UnsupportedOpForm('set_value with an attribute value');
      const bounds = (list: string, attrName: string) =>
        op.inputs[list]?.length ? ctx.int64List(op.inputs[list]!) : ctx.constant(numsAttr(op, attrName), 'int64');
      const stepTensors = op.inputs.StepsTensorList;
      setSlice(ctx, op, {
        x: operand(op, 'Input'),
        value,
        starts: bounds('StartsTensorList', 'starts'),
        ends: bounds('EndsTensorList', 'ends'),
        steps: stepTensors?.length
          ? undefined
          : numsAttr(
              op,
              'steps',
              numsAttr(op, 'axes').map(() => 1),
            ),
        out: result(op, 'Out'),
      });
    },
  },
  pir: {
    where: (op, ctx) => ctx.node('Where', [operand(op, '0'), operand(op, '1'), operand(op, '2')], [result(op, '0')]),
    gather_nd: (op, ctx) => ctx.node('GatherND', [operand(op, '0'), ctx.int64(operand(op, '1'))], [result(op, '0')]),
    // tile(x, repeat_times): a constant, or a combine/stack of scalars. Paddle pads a short list with
    // leading 1s, and a long one raises x's rank with leading unit dims.
    tile: (op, ctx) => {
      let x = operand(op, '0');
      const rank = ctx.rank(x);
      const names = operands(op, '1');
      const known = names.length === 1 ? ctx.constantValues(names[0]) : undefined;
      const count = known?.length ?? (names.length > 1 ? names.length : ctx.info(names[0]!)?.shape[0]);
      if (count === undefined || count < 0) throw new UnsupportedOpForm('tile with repeat_times of unknown length');
      if (count > rank) {
        const info = ctx.info(x)!;
        const lead = Array.from({ length: count - rank }, (_, i) => i);
        x = ctx.tmp('Unsqueeze', [x, ctx.constant(lead, 'int64')], { dtype: info.dtype, shape: [...lead.map(() => 1), ...info.shape] });
      }
      const repeats = known
        ? ctx.constant([...Array(Math.max(0, rank - known.length)).fill(1), ...known], 'int64')
        : count < rank
          ? ctx.int64List([ctx.constant(Array(rank - count).fill(1), 'int64'), ...names])
          : ctx.int64List(names);
      ctx.node('Tile', [x, repeats], [result(op, '0')]);
    },
    flip: (op, ctx) => flip(ctx, operand(op, '0'), result(op, '0'), numsAttr(op, 'axis')),
    // arange(start, end, step){dtype}
    arange: (op, ctx) => {
      const dtype = dtypeFromName(String(attr(op, 'dtype') ?? 'int64'));
      if (!dtype) throw new UnsupportedOpForm(`arange dtype ${String(attr(op, 'dtype'))}`);
      ctx.node(
        'Range',
        ['0', '1', '2'].map((slot) => scalarOperand(ctx, op, slot, dtype)),
        [result(op, '0')],
      );
    },
    // full_like(x, value){dtype}: value broadcast to x's runtime shape
    full_like: (op, ctx) => {
      const x = operand(op, '0');
      const dtype = dtypeFromName(String(attr(op, 'dtype'))) ?? ctx.dtype(x);
      const shape = ctx.tmp('Shape', [x], { dtype: 'int64', shape: [ctx.rank(x)] });
      ctx.node('Expand', [scalarOperand(ctx, op, '1', dtype), shape], [result(op, '0')]);
    },
    // full_with_tensor(value, shape){dtype}: a shape computed at run time
    full_with_tensor: (op, ctx) => {
      const dtype = dtypeFromName(String(attr(op, 'dtype'))) ?? ctx.dtype(operand(op, '0'));
      ctx.node('Expand', [scalarOperand(ctx, op, '0', dtype), ctx.int64(operand(op, '1'))], [result(op, '0')]);
    },
    // one_hot(x, num_classes) → float32
    one_hot: (op, ctx) => oneHot(ctx, operand(op, '0'), scalarOperand(ctx, op, '1', 'int64'), result(op, '0')),
    // set_value_with_tensor_(x, values, starts, ends, steps){axes, decrease_axes}
    set_value_with_tensor_: (op, ctx) =>
      setSlice(ctx, op, {
        x: operand(op, '0'),
        value: operand(op, '1'),
        starts: ctx.int64(operand(op, '2')),
        ends: ctx.int64(operand(op, '3')),
        steps: ctx.constantValues(operand(op, '4')),
        out: result(op, '0'),
      }),
    // clip(x, min, max)
    clip: (op, ctx) => {
      const x = operand(op, '0');
      ctx.node('Clip', [x, scalarOperand(ctx, op, '1', ctx.dtype(x)), scalarOperand(ctx, op, '2', ctx.dtype(x))], [result(op, '0')]);
    },
  },
};
