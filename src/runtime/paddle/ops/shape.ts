import type { PaddleOp, TensorInfo } from '../program.js';
import {
  numAttr,
  numsAttr,
  ONNX_ELEMENT_TYPES,
  operand,
  operands,
  result,
  UnsupportedOpForm,
  type ConvertContext,
  type MapperTables,
  type OpMapper,
} from '../context.js';

/** Axes given as an operand (PIR: a full_int_array) must be known at conversion time. */
function constantOperand(ctx: ConvertContext, op: PaddleOp, slot: string, what: string): number[] {
  const values = ctx.constantValues(operands(op, slot)[0]);
  if (!values) throw new UnsupportedOpForm(`${op.type} with a computed ${what}`);
  return values;
}

/** A shape/starts/ends argument: constant values, one int tensor, or a list of scalar tensors. */
function intTensor(ctx: ConvertContext, names: string[], fallback?: number[]): string {
  if (names.length === 0) return ctx.constant(fallback ?? [], 'int64');
  if (names.length === 1) {
    const values = ctx.constantValues(names[0]);
    if (values) return ctx.constant(values, 'int64');
  }
  return ctx.int64List(names);
}

function reshape(ctx: ConvertContext, x: string, shape: string, out: string): void {
  ctx.node('Reshape', [x, shape], [out]);
}

/** Merges dims start..stop; trailing dims are read from the runtime shape, so dynamic dims stay dynamic. */
function flatten(ctx: ConvertContext, x: string, out: string, start: number, stop: number): void {
  const rank = ctx.rank(x);
  if (rank === 0) return reshape(ctx, x, ctx.constant([1], 'int64'), out);
  if (start < 0) start += rank;
  if (stop < 0) stop += rank;
  if (stop === rank - 1) return reshape(ctx, x, ctx.constant([...Array(start).fill(0), -1], 'int64'), out);
  const shape = ctx.tmp('Shape', [x], { dtype: 'int64', shape: [rank] });
  const part = (from: number, to: number) =>
    ctx.tmp('Slice', [shape, ctx.constant([from], 'int64'), ctx.constant([to], 'int64')], { dtype: 'int64', shape: [to - from] });
  const pieces = [...(start > 0 ? [part(0, start)] : []), ctx.constant([-1], 'int64'), part(stop + 1, rank)];
  reshape(ctx, x, ctx.tmp('Concat', pieces, { dtype: 'int64', shape: [-1] }, { axis: 0 }), out);
}

/** Paddle ignores squeeze axes whose dim is not 1; ONNX rejects them, so they are dropped here when declared. */
function squeeze(ctx: ConvertContext, x: string, out: string, axes: number[]): void {
  const info = ctx.info(x);
  if (axes.length === 0) return ctx.node('Squeeze', [x], [out]);
  const rank = info?.shape.length ?? 0;
  const kept = axes.map((a) => (a < 0 ? a + rank : a)).filter((a) => !info || info.shape[a] === 1 || info.shape[a] === -1);
  if (kept.length === 0) return ctx.node('Identity', [x], [out]);
  ctx.node('Squeeze', [x, ctx.constant(kept, 'int64')], [out]);
}

function unsqueeze(ctx: ConvertContext, x: string, out: string, axes: number[]): void {
  ctx.node('Unsqueeze', [x, ctx.constant(axes, 'int64')], [out]);
}

function stack(ctx: ConvertContext, xs: string[], out: string, axis: number): void {
  const info = ctx.info(xs[0]!);
  const rank = info?.shape.length ?? 0;
  const at = axis < 0 ? axis + rank + 1 : axis;
  const expanded = xs.map((x) => {
    const i = ctx.info(x) ?? { dtype: 'float32', shape: [] };
    const shape = [...i.shape];
    shape.splice(at, 0, 1);
    return ctx.tmp('Unsqueeze', [x, ctx.constant([at], 'int64')], { dtype: i.dtype, shape } as TensorInfo);
  });
  ctx.node('Concat', expanded, [out], { axis: at });
}

/**
 * ONNX Slice, then Paddle's decrease_axis squeeze. Paddle 2.x programs keep a [1] where full
 * decrease would leave a 0-d tensor; the declared output rank tells which convention applies.
 */
function slice(ctx: ConvertContext, x: string, out: string, axes: number[], starts: string, ends: string, decrease: number[]): void {
  const info = ctx.info(x)!;
  const declaredRank = ctx.info(out)?.shape.length;
  const squeezeNeeded = decrease.length > 0 && declaredRank !== info.shape.length;
  const target = squeezeNeeded ? ctx.fresh('sliced') : out;
  ctx.node('Slice', [x, starts, ends, ctx.constant(axes, 'int64')], [target]);
  if (!squeezeNeeded) return;
  ctx.program.values.set(target, { dtype: info.dtype, shape: info.shape.map(() => -1) });
  ctx.node('Squeeze', [target, ctx.constant(decrease, 'int64')], [out]);
}

function shapeOf(ctx: ConvertContext, x: string, out: string): void {
  if (ctx.dtype(out) === 'int64') return ctx.node('Shape', [x], [out]);
  ctx.node('Cast', [ctx.tmp('Shape', [x], { dtype: 'int64', shape: [ctx.rank(x)] })], [out], { to: ONNX_ELEMENT_TYPES[ctx.dtype(out)] });
}

/** Splits into equal parts (num) or given sizes; outputs come as a list. */
function split(ctx: ConvertContext, x: string, outs: string[], axis: number, sections: number[]): void {
  if (sections.length === 0) return ctx.node('Split', [x], outs, { axis });
  if (sections.some((s) => s < 0)) {
    const dim = ctx.info(x)!.shape.at(axis)!;
    if (dim < 0) throw new UnsupportedOpForm('split with an inferred section on a dynamic dim');
    const known = sections.filter((s) => s >= 0).reduce((a, b) => a + b, 0);
    sections = sections.map((s) => (s < 0 ? dim - known : s));
  }
  ctx.node('Split', [x, ctx.constant(sections, 'int64')], outs, { axis });
}

const legacy: Record<string, OpMapper> = {
  reshape2: (op, ctx) => {
    const shape = op.inputs.Shape?.length
      ? ctx.int64(operand(op, 'Shape'))
      : intTensor(ctx, operands(op, 'ShapeTensor'), numsAttr(op, 'shape'));
    reshape(ctx, operand(op, 'X'), shape, result(op, 'Out'));
  },
  flatten_contiguous_range: (op, ctx) =>
    flatten(ctx, operand(op, 'X'), result(op, 'Out'), numAttr(op, 'start_axis', 1), numAttr(op, 'stop_axis', -1)),
  transpose2: (op, ctx) => ctx.node('Transpose', [operand(op, 'X')], [result(op, 'Out')], { perm: numsAttr(op, 'axis') }),
  squeeze2: (op, ctx) => squeeze(ctx, operand(op, 'X'), result(op, 'Out'), numsAttr(op, 'axes')),
  unsqueeze2: (op, ctx) => {
    if (operands(op, 'AxesTensor').length || operands(op, 'AxesTensorList').length)
      throw new UnsupportedOpForm('unsqueeze2 with tensor axes');
    unsqueeze(ctx, operand(op, 'X'), result(op, 'Out'), numsAttr(op, 'axes'));
  },
  concat: (op, ctx) => {
    if (operands(op, 'AxisTensor').length) throw new UnsupportedOpForm('concat with AxisTensor');
    ctx.node('Concat', operands(op, 'X'), [result(op, 'Out')], { axis: numAttr(op, 'axis', 0) });
  },
  stack: (op, ctx) => stack(ctx, operands(op, 'X'), result(op, 'Y'), numAttr(op, 'axis', 0)),
  slice: (op, ctx) => {
    const starts = intTensor(ctx, [...operands(op, 'StartsTensor'), ...operands(op, 'StartsTensorList')], numsAttr(op, 'starts'));
    const ends = intTensor(ctx, [...operands(op, 'EndsTensor'), ...operands(op, 'EndsTensorList')], numsAttr(op, 'ends'));
    slice(ctx, operand(op, 'Input'), result(op, 'Out'), numsAttr(op, 'axes'), starts, ends, numsAttr(op, 'decrease_axis'));
  },
  shape: (op, ctx) => shapeOf(ctx, operand(op, 'Input'), result(op, 'Out')),
  split: (op, ctx) => {
    if (operands(op, 'AxisTensor').length || operands(op, 'SectionsTensorList').length)
      throw new UnsupportedOpForm('split with tensor arguments');
    split(ctx, operand(op, 'X'), op.outputs.Out ?? [], numAttr(op, 'axis', 0), numsAttr(op, 'sections'));
  },
};

const pir: Record<string, OpMapper> = {
  // reshape(x, shape): a full_int_array, or a combine of scalar tensors
  reshape: (op, ctx) => reshape(ctx, operand(op, '0'), intTensor(ctx, operands(op, '1')), result(op, '0')),
  flatten: (op, ctx) => flatten(ctx, operand(op, '0'), result(op, '0'), numAttr(op, 'start_axis', 1), numAttr(op, 'stop_axis', -1)),
  transpose: (op, ctx) => ctx.node('Transpose', [operand(op, '0')], [result(op, '0')], { perm: numsAttr(op, 'perm') }),
  squeeze: (op, ctx) => squeeze(ctx, operand(op, '0'), result(op, '0'), constantOperand(ctx, op, '1', 'axis')),
  unsqueeze: (op, ctx) => unsqueeze(ctx, operand(op, '0'), result(op, '0'), constantOperand(ctx, op, '1', 'axis')),
  // concat(combine(…), axis)
  concat: (op, ctx) => ctx.node('Concat', operands(op, '0'), [result(op, '0')], { axis: constantOperand(ctx, op, '1', 'axis')[0]! }),
  stack: (op, ctx) => stack(ctx, operands(op, '0'), result(op, '0'), numAttr(op, 'axis', 0)),
  // slice(input, starts, ends)
  slice: (op, ctx) =>
    slice(
      ctx,
      operand(op, '0'),
      result(op, '0'),
      numsAttr(op, 'axes'),
      intTensor(ctx, operands(op, '1')),
      intTensor(ctx, operands(op, '2')),
      numsAttr(op, 'decrease_axis'),
    ),
  shape64: (op, ctx) => shapeOf(ctx, operand(op, '0'), result(op, '0')),
  shape: (op, ctx) => shapeOf(ctx, operand(op, '0'), result(op, '0')),
  // split(x, sections, axis) / split_with_num(x, axis){num}
  split: (op, ctx) =>
    split(
      ctx,
      operand(op, '0'),
      op.outputs['0'] ?? [],
      constantOperand(ctx, op, '2', 'axis')[0]!,
      constantOperand(ctx, op, '1', 'sections'),
    ),
  split_with_num: (op, ctx) => split(ctx, operand(op, '0'), op.outputs['0'] ?? [], constantOperand(ctx, op, '1', 'axis')[0]!, []),
};

export const shapeMappers: MapperTables = { programDesc: legacy, pir };
