import type { PaddleOp } from '../program.js';
import { numAttr, operand, result, strAttr, UnsupportedOpForm, type ConvertContext, type MapperTables, type OpMapper } from '../context.js';

/** Unary ops whose ONNX form is one node; PIR and ProgramDesc differ only in slot names (`0`/`X`). */
const SIMPLE_UNARY: Record<string, string> = {
  relu: 'Relu',
  sigmoid: 'Sigmoid',
  tanh: 'Tanh',
  exp: 'Exp',
  log: 'Log',
  sqrt: 'Sqrt',
  abs: 'Abs',
  floor: 'Floor',
  ceil: 'Ceil',
  erf: 'Erf',
  sin: 'Sin',
  cos: 'Cos',
  reciprocal: 'Reciprocal',
  assign: 'Identity',
  logical_not: 'Not',
};

function scalarLike(ctx: ConvertContext, x: string, value: number): string {
  return ctx.constant([value], ctx.dtype(x), []);
}

/** x · min(max(x + offset, 0), threshold) / scale; ONNX HardSwish when the attributes are Paddle's defaults (3, 6, 6). */
function hardSwish(ctx: ConvertContext, x: string, out: string, offset = 3, threshold = 6, scale = 6): void {
  if (offset === 3 && threshold === 6 && scale === 6) return ctx.node('HardSwish', [x], [out]);
  const info = ctx.info(x)!;
  const shifted = ctx.tmp('Add', [x, scalarLike(ctx, x, offset)], info);
  const clipped = ctx.tmp('Clip', [shifted, scalarLike(ctx, x, 0), scalarLike(ctx, x, threshold)], info);
  const scaled = ctx.tmp('Div', [clipped, scalarLike(ctx, x, scale)], info);
  ctx.node('Mul', [x, scaled], [out]);
}

/** x · sigmoid(β·x) */
function swish(ctx: ConvertContext, x: string, out: string, beta = 1): void {
  const info = ctx.info(x)!;
  const input = beta === 1 ? x : ctx.tmp('Mul', [x, scalarLike(ctx, x, beta)], info);
  ctx.node('Mul', [x, ctx.tmp('Sigmoid', [input], info)], [out]);
}

/** Exact GELU: x · ½ · (1 + erf(x / √2)); opset 17 has no Gelu node. */
function gelu(ctx: ConvertContext, x: string, out: string, approximate: boolean): void {
  const info = ctx.info(x)!;
  if (approximate) {
    // ½x(1 + tanh(√(2/π)(x + 0.044715x³)))
    const cube = ctx.tmp('Mul', [ctx.tmp('Mul', [x, x], info), x], info);
    const inner = ctx.tmp('Add', [x, ctx.tmp('Mul', [cube, scalarLike(ctx, x, 0.044715)], info)], info);
    const t = ctx.tmp('Tanh', [ctx.tmp('Mul', [inner, scalarLike(ctx, x, Math.sqrt(2 / Math.PI))], info)], info);
    const half = ctx.tmp('Mul', [x, scalarLike(ctx, x, 0.5)], info);
    return ctx.node('Mul', [half, ctx.tmp('Add', [t, scalarLike(ctx, x, 1)], info)], [out]);
  }
  const e = ctx.tmp('Erf', [ctx.tmp('Div', [x, scalarLike(ctx, x, Math.SQRT2)], info)], info);
  const half = ctx.tmp('Mul', [x, scalarLike(ctx, x, 0.5)], info);
  ctx.node('Mul', [half, ctx.tmp('Add', [e, scalarLike(ctx, x, 1)], info)], [out]);
}

/** Paddle keeps a channel-mode alpha as [C]; ONNX PRelu broadcasts it numpy-style, so it becomes [C, 1, 1]. */
function prelu(ctx: ConvertContext, op: PaddleOp, x: string, alpha: string, out: string): void {
  const mode = strAttr(op, 'mode', 'all');
  if (strAttr(op, 'data_format', 'NCHW') !== 'NCHW') throw new UnsupportedOpForm('prelu with channels last');
  let slope = alpha;
  if (mode === 'channel') {
    const trailing = ctx.rank(x) - 2;
    const info = ctx.info(alpha)!;
    const channels = info.shape.reduce((a, b) => a * b, 1);
    slope = ctx.tmp('Reshape', [alpha, ctx.constant([channels, ...Array(trailing).fill(1)], 'int64')], {
      dtype: info.dtype,
      shape: [channels, ...Array(trailing).fill(1)],
    });
  }
  ctx.node('PRelu', [x, slope], [out]);
}

function tables(): MapperTables {
  const programDesc: Record<string, OpMapper> = {};
  const pir: Record<string, OpMapper> = {};
  for (const [type, onnxType] of Object.entries(SIMPLE_UNARY)) {
    programDesc[type] = (op, ctx) => ctx.node(onnxType, [operand(op, 'X')], [result(op, 'Out')]);
    pir[type] = (op, ctx) => ctx.node(onnxType, [operand(op, '0')], [result(op, '0')]);
  }
  const legacy =
    (f: (op: PaddleOp, ctx: ConvertContext, x: string, out: string) => void): OpMapper =>
    (op, ctx) =>
      f(op, ctx, operand(op, 'X'), result(op, 'Out'));
  const modern =
    (f: (op: PaddleOp, ctx: ConvertContext, x: string, out: string) => void): OpMapper =>
    (op, ctx) =>
      f(op, ctx, operand(op, '0'), result(op, '0'));

  const hardSigmoid = (op: PaddleOp, ctx: ConvertContext, x: string, out: string) =>
    ctx.node('HardSigmoid', [x], [out], { alpha: { f: numAttr(op, 'slope', 0.2) }, beta: { f: numAttr(op, 'offset', 0.5) } });
  const leakyRelu = (op: PaddleOp, ctx: ConvertContext, x: string, out: string) =>
    ctx.node('LeakyRelu', [x], [out], { alpha: { f: numAttr(op, 'alpha', 0.02) } });
  const relu6 = (_op: PaddleOp, ctx: ConvertContext, x: string, out: string) =>
    ctx.node('Clip', [x, scalarLike(ctx, x, 0), scalarLike(ctx, x, 6)], [out]);

  Object.assign(programDesc, {
    hard_swish: legacy((op, ctx, x, out) =>
      hardSwish(ctx, x, out, numAttr(op, 'offset', 3), numAttr(op, 'threshold', 6), numAttr(op, 'scale', 6)),
    ),
    hard_sigmoid: legacy(hardSigmoid),
    swish: legacy((op, ctx, x, out) => swish(ctx, x, out, numAttr(op, 'beta', 1))),
    silu: legacy((_op, ctx, x, out) => swish(ctx, x, out)),
    gelu: legacy((op, ctx, x, out) => gelu(ctx, x, out, Boolean(op.attrs.approximate))),
    leaky_relu: legacy(leakyRelu),
    relu6: legacy(relu6),
    prelu: (op: PaddleOp, ctx: ConvertContext) => prelu(ctx, op, operand(op, 'X'), operand(op, 'Alpha'), result(op, 'Out')),
  });
  Object.assign(pir, {
    hardswish: modern((_op, ctx, x, out) => hardSwish(ctx, x, out)),
    hardsigmoid: modern(hardSigmoid),
    swish: modern((_op, ctx, x, out) => swish(ctx, x, out)),
    silu: modern((_op, ctx, x, out) => swish(ctx, x, out)),
    gelu: modern((op, ctx, x, out) => gelu(ctx, x, out, Boolean(op.attrs.approximate))),
    leaky_relu: modern(leakyRelu),
    relu6: modern(relu6),
    prelu: (op: PaddleOp, ctx: ConvertContext) => prelu(ctx, op, operand(op, '0'), operand(op, '1'), result(op, '0')),
  });
  return { programDesc, pir };
}

export const activationMappers = tables();
