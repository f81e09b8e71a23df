import type { PaddleOp } from '../program.js';
import { numAttr, operand, optionalOperand, result, UnsupportedOpForm, type ConvertContext, type MapperTables } from '../context.js';

function batchNorm(
  ctx: ConvertContext,
  op: PaddleOp,
  x: string,
  scale: string,
  bias: string,
  mean: string,
  variance: string,
  out: string,
): void {
  ctx.node('BatchNormalization', [x, scale, bias, mean, variance], [out], { epsilon: { f: numAttr(op, 'epsilon', 1e-5) } });
}

/** Paddle keeps the affine parameters flat ([prod(normalized dims)]); ONNX broadcasts them over the normalized dims. */
function layerNorm(ctx: ConvertContext, op: PaddleOp, x: string, scale: string | undefined, bias: string | undefined, out: string): void {
  const rank = ctx.rank(x);
  let axis = numAttr(op, 'begin_norm_axis', 1);
  if (axis < 0) axis += rank;
  const normalized = ctx.info(x)!.shape.slice(axis);
  const fitted = (p: string | undefined) => {
    if (p === undefined || normalized.length === 1) return p;
    if (normalized.some((d) => d < 0)) throw new UnsupportedOpForm('layer_norm over several dynamic dims');
    return ctx.tmp('Reshape', [p, ctx.constant(normalized, 'int64')], { dtype: ctx.dtype(p), shape: normalized });
  };
  const gamma = fitted(scale) ?? ctx.constant(Array(normalized.reduce((a, b) => a * b, 1)).fill(1), 'float32', normalized);
  const beta = fitted(bias);
  ctx.node('LayerNormalization', beta ? [x, gamma, beta] : [x, gamma], [out], { axis, epsilon: { f: numAttr(op, 'epsilon', 1e-5) } });
}

export const normMappers: MapperTables = {
  programDesc: {
    batch_norm: (op, ctx) =>
      batchNorm(
        ctx,
        op,
        operand(op, 'X'),
        operand(op, 'Scale'),
        operand(op, 'Bias'),
        operand(op, 'Mean'),
        operand(op, 'Variance'),
        result(op, 'Y'),
      ),
    layer_norm: (op, ctx) =>
      layerNorm(ctx, op, operand(op, 'X'), optionalOperand(op, 'Scale'), optionalOperand(op, 'Bias'), result(op, 'Y')),
  },
  pir: {
    // batch_norm_(x, mean, variance, scale, bias)
    batch_norm_: (op, ctx) =>
      batchNorm(ctx, op, operand(op, '0'), operand(op, '3'), operand(op, '4'), operand(op, '1'), operand(op, '2'), result(op, '0')),
    batch_norm: (op, ctx) =>
      batchNorm(ctx, op, operand(op, '0'), operand(op, '3'), operand(op, '4'), operand(op, '1'), operand(op, '2'), result(op, '0')),
    layer_norm: (op, ctx) => layerNorm(ctx, op, operand(op, '0'), optionalOperand(op, '1'), optionalOperand(op, '2'), result(op, '0')),
  },
};
