import { PADDLE_DTYPE_CODES, type ElementType, type PaddleOp } from '../program.js';
import {
  boolAttr,
  dtypeFromName,
  numAttr,
  numsAttr,
  ONNX_ELEMENT_TYPES,
  operand,
  result,
  UnsupportedOpForm,
  type ConvertContext,
  type MapperTables,
  type OpMapper,
} from '../context.js';

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

/** Paddle argmax: int64 indices from ONNX ArgMax, cast to the requested dtype; `flatten` searches the flattened tensor. */
function argmax(ctx: ConvertContext, x: string, axis: number, keepdims: boolean, flatten: boolean, dtype: ElementType, out: string): void {
  const source = flatten ? ctx.tmp('Reshape', [x, ctx.constant([-1], 'int64')], { dtype: ctx.dtype(x), shape: [-1] }) : x;
  const attrs = { axis: flatten ? 0 : axis, keepdims: Number(keepdims && !flatten) };
  if (dtype === 'int64') return ctx.node('ArgMax', [source], [out], attrs);
  const indices = ctx.tmp('ArgMax', [source], { dtype: 'int64', shape: [-1] }, attrs);
  ctx.node('Cast', [indices], [out], { to: ONNX_ELEMENT_TYPES[dtype] });
}

/** any / all over bool: max / min of the values as int32 (opset 17 reduces no bools). */
function logicalReduction(onnxType: 'ReduceMax' | 'ReduceMin'): OpMapper {
  return (op, ctx) => {
    const x = operand(op, '0');
    const asInt = ctx.tmp('Cast', [x], { dtype: 'int32', shape: ctx.info(x)?.shape ?? [] }, { to: ONNX_ELEMENT_TYPES.int32 });
    const reduced = ctx.fresh(op.type);
    ctx.program.values.set(reduced, { dtype: 'int32', shape: ctx.info(result(op, '0'))?.shape ?? [] });
    reduce(ctx, op, onnxType, asInt, reduced, numsAttr(op, 'axis'));
    ctx.node('Cast', [reduced], [result(op, '0')], { to: ONNX_ELEMENT_TYPES.bool });
  };
}

export const reduceMappers: MapperTables = {
  programDesc: {
    // arg_max(X){axis, keepdims, flatten, dtype (VarType code, int64 by default)}
    arg_max: (op, ctx) =>
      argmax(
        ctx,
        operand(op, 'X'),
        numAttr(op, 'axis', -1),
        boolAttr(op, 'keepdims', false),
        boolAttr(op, 'flatten', false),
        PADDLE_DTYPE_CODES[numAttr(op, 'dtype', 3)] ?? 'int64',
        result(op, 'Out'),
      ),
  },
  pir: {
    // argmax(x, axis){keepdims, flatten, dtype}
    argmax: (op, ctx) => {
      const axis = ctx.constantValues(operand(op, '1'));
      if (!axis) throw new UnsupportedOpForm('argmax over a computed axis');
      argmax(
        ctx,
        operand(op, '0'),
        axis[0]!,
        boolAttr(op, 'keepdims', false),
        boolAttr(op, 'flatten', false),
        dtypeFromName(String(op.attrs.dtype ?? 'int64')) ?? 'int64',
        result(op, '0'),
      );
    },
    any: logicalReduction('ReduceMax'),
    all: logicalReduction('ReduceMin'),
    max: pirReduction('ReduceMax'),
    min: pirReduction('ReduceMin'),
    sum: pirReduction('ReduceSum'),
    mean: pirReduction('ReduceMean'),
    topk,
  },
};
