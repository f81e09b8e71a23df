import type { PaddleOp } from '../program.js';
import { boolAttr, operand, result, UnsupportedOpForm, type ConvertContext, type MapperTables, type OpMapper } from '../context.js';

/** Reductions over constant axes (an empty list reduces everything, as in Paddle). */
function reduce(ctx: ConvertContext, op: PaddleOp, onnxType: string, x: string, out: string, axes: number[]): void {
  const keepdims = Number(boolAttr(op, 'keepdim', false));
  const all = axes.length === 0;
  // opset 17: ReduceSum takes its axes as an input, the other Reduce* ops as an attribute
  if (onnxType === 'ReduceSum') {
    return ctx.node('ReduceSum', all ? [x] : [x, ctx.constant(axes, 'int64')], [out], { keepdims });
  }
  ctx.node(onnxType, [x], [out], all ? { keepdims } : { keepdims, axes });
}

function pirReduction(onnxType: string): OpMapper {
  // <reduction>(x, axis): the axes come from a full_int_array
  return (op, ctx) => {
    const axes = ctx.constantValues(operand(op, '1'));
    if (!axes) throw new UnsupportedOpForm(`${op.type} over computed axes`);
    reduce(ctx, op, onnxType, operand(op, '0'), result(op, '0'), axes);
  };
}

/** PIR topk(x, k) → values, int64 indices. */
function topk(op: PaddleOp, ctx: ConvertContext): void {
  const k = ctx.constantValues(operand(op, '1'));
  if (!k) throw new UnsupportedOpForm('topk with a computed k');
  ctx.node('TopK', [operand(op, '0'), ctx.constant([k[0]!], 'int64')], [result(op, '0'), result(op, '1')], {
    axis: Number(op.attrs.axis ?? -1),
    largest: Number(boolAttr(op, 'largest', true)),
    sorted: Number(boolAttr(op, 'sorted', true)),
  });
}

export const reduceMappers: MapperTables = {
  programDesc: {},
  pir: {
    max: pirReduction('ReduceMax'),
    min: pirReduction('ReduceMin'),
    sum: pirReduction('ReduceSum'),
    mean: pirReduction('ReduceMean'),
    topk,
  },
};
