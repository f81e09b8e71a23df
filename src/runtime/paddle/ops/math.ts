import { PADDLE_DTYPE_CODES, type PaddleOp } from '../program.js';
import {
  attr,
  boolAttr,
  dtypeFromName,
  numAttr,
  ONNX_ELEMENT_TYPES,
  operand,
  optionalOperand,
  result,
  strAttr,
  UnsupportedOpForm,
  type ConvertContext,
  type MapperTables,
} from '../context.js';

/** Swaps the last two dims (MatMul's transpose flags). */
function transposedLast2(ctx: ConvertContext, x: string): string {
  const info = ctx.info(x)!;
  const rank = info.shape.length;
  const perm = [...Array(rank - 2).keys(), rank - 1, rank - 2];
  return ctx.tmp('Transpose', [x], { dtype: info.dtype, shape: perm.map((p) => info.shape[p]!) }, { perm });
}

function matmul(ctx: ConvertContext, x: string, y: string, out: string, transX: boolean, transY: boolean, alpha = 1): void {
  const a = transX && ctx.rank(x) >= 2 ? transposedLast2(ctx, x) : x;
  const b = transY && ctx.rank(y) >= 2 ? transposedLast2(ctx, y) : y;
  if (alpha === 1) return ctx.node('MatMul', [a, b], [out]);
  const product = ctx.tmp('MatMul', [a, b], { dtype: ctx.dtype(x), shape: ctx.info(out)?.shape ?? [] });
  ctx.node('Mul', [product, ctx.constant([alpha], ctx.dtype(x), [])], [out]);
}

/** out = scale·x + bias, or scale·(x + bias) when bias_after_scale is false. */
function scale(ctx: ConvertContext, op: PaddleOp, x: string, factor: number, out: string): void {
  const bias = numAttr(op, 'bias', 0);
  const afterScale = boolAttr(op, 'bias_after_scale', true);
  const info = ctx.info(x)!;
  const k = (v: number) => ctx.constant([v], info.dtype, []);
  if (bias === 0) return ctx.node('Mul', [x, k(factor)], [out]);
  if (afterScale) return ctx.node('Add', [ctx.tmp('Mul', [x, k(factor)], info), k(bias)], [out]);
  ctx.node('Mul', [ctx.tmp('Add', [x, k(bias)], info), k(factor)], [out]);
}

/** Inference dropout: identity for upscale_in_train, x·(1 − p) for downgrade_in_infer (Paddle's default). */
function dropout(ctx: ConvertContext, x: string, out: string, mode: string, p: number): void {
  if (mode === 'upscale_in_train' || p === 0) return ctx.node('Identity', [x], [out]);
  ctx.node('Mul', [x, ctx.constant([1 - p], ctx.dtype(x), [])], [out]);
}

function cast(ctx: ConvertContext, x: string, out: string, dtype: ReturnType<typeof dtypeFromName>): void {
  if (!dtype) throw new UnsupportedOpForm('cast to an unknown dtype');
  ctx.node('Cast', [x], [out], { to: ONNX_ELEMENT_TYPES[dtype] });
}

export const mathMappers: MapperTables = {
  programDesc: {
    matmul: (op, ctx) =>
      matmul(
        ctx,
        operand(op, 'X'),
        operand(op, 'Y'),
        result(op, 'Out'),
        boolAttr(op, 'transpose_X', false),
        boolAttr(op, 'transpose_Y', false),
        numAttr(op, 'alpha', 1),
      ),
    matmul_v2: (op, ctx) =>
      matmul(ctx, operand(op, 'X'), operand(op, 'Y'), result(op, 'Out'), boolAttr(op, 'trans_x', false), boolAttr(op, 'trans_y', false)),
    scale: (op, ctx) => {
      if (optionalOperand(op, 'ScaleTensor')) throw new UnsupportedOpForm('scale with ScaleTensor');
      scale(ctx, op, operand(op, 'X'), numAttr(op, 'scale', 1), result(op, 'Out'));
    },
    softmax: (op, ctx) => ctx.node('Softmax', [operand(op, 'X')], [result(op, 'Out')], { axis: numAttr(op, 'axis', -1) }),
    dropout: (op, ctx) =>
      dropout(
        ctx,
        operand(op, 'X'),
        result(op, 'Out'),
        strAttr(op, 'dropout_implementation', 'downgrade_in_infer'),
        numAttr(op, 'dropout_prob', 0.5),
      ),
    cast: (op, ctx) => cast(ctx, operand(op, 'X'), result(op, 'Out'), PADDLE_DTYPE_CODES[numAttr(op, 'out_dtype', 5)]),
  },
  pir: {
    matmul: (op, ctx) =>
      matmul(
        ctx,
        operand(op, '0'),
        operand(op, '1'),
        result(op, '0'),
        boolAttr(op, 'transpose_x', false),
        boolAttr(op, 'transpose_y', false),
      ),
    // scale(x, scale): the factor comes from a `full`
    scale: (op, ctx) => {
      const factor = ctx.constantValues(operand(op, '1'));
      if (!factor) throw new UnsupportedOpForm('scale with a computed factor');
      scale(ctx, op, operand(op, '0'), factor[0]!, result(op, '0'));
    },
    softmax: (op, ctx) => ctx.node('Softmax', [operand(op, '0')], [result(op, '0')], { axis: numAttr(op, 'axis', -1) }),
    // dropout(x, seed_tensor, p)
    dropout: (op, ctx) => {
      const p = ctx.constantValues(optionalOperand(op, '2'))?.[0] ?? numAttr(op, 'p', 0.5);
      dropout(ctx, operand(op, '0'), result(op, '0'), strAttr(op, 'mode', 'downgrade_in_infer'), p);
    },
    cast: (op, ctx) => cast(ctx, operand(op, '0'), result(op, '0'), dtypeFromName(String(attr(op, 'dtype')))),
  },
};
