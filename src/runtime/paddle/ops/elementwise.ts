import {
  numAttr,
  ONNX_ELEMENT_TYPES,
  operand,
  result,
  UnsupportedOpForm,
  type ConvertContext,
  type MapperTables,
  type OpMapper,
} from '../context.js';

const BINARY: Array<[legacy: string, pir: string, onnx: string]> = [
  ['elementwise_add', 'add', 'Add'],
  ['elementwise_sub', 'subtract', 'Sub'],
  ['elementwise_mul', 'multiply', 'Mul'],
  ['elementwise_div', 'divide', 'Div'],
  ['elementwise_pow', 'elementwise_pow', 'Pow'],
  ['elementwise_max', 'maximum', 'Max'],
  ['elementwise_min', 'minimum', 'Min'],
  ['less_than', 'less_than', 'Less'],
  ['less_equal', 'less_equal', 'LessOrEqual'],
  ['greater_than', 'greater_than', 'Greater'],
  ['greater_equal', 'greater_equal', 'GreaterOrEqual'],
  ['equal', 'equal', 'Equal'],
  ['logical_and', 'logical_and', 'And'],
  ['logical_or', 'logical_or', 'Or'],
];

/**
 * Legacy `elementwise_*` ops align Y with X starting at `axis` (Y = bias [C] on X [N, C, H, W]
 * with axis 1); numpy broadcasting aligns trailing dims, so Y gets trailing unit dims.
 */
function alignedY(ctx: ConvertContext, x: string, y: string, axis: number): string {
  if (axis === -1) return y;
  const xRank = ctx.rank(x);
  const yRank = ctx.rank(y);
  if (xRank === yRank) return y;
  const trailing = xRank - axis - yRank;
  if (trailing <= 0) return y;
  const axes = Array.from({ length: trailing }, (_, i) => yRank + i);
  const info = ctx.info(y)!;
  return ctx.tmp('Unsqueeze', [y, ctx.constant(axes, 'int64')], { dtype: info.dtype, shape: [...info.shape, ...Array(trailing).fill(1)] });
}

function isInteger(dtype: string): boolean {
  return dtype.startsWith('int') || dtype.startsWith('uint');
}

/** Paddle's // floors; integer ONNX Div truncates toward zero, so quotients of opposite-sign operands with a remainder drop by one. */
function floorDivide(ctx: ConvertContext, a: string, b: string, out: string): void {
  const info = ctx.info(a)!;
  if (!isInteger(info.dtype)) return ctx.node('Floor', [ctx.tmp('Div', [a, b], info)], [out]);
  const bool = { dtype: 'bool' as const, shape: info.shape };
  const zero = ctx.constant([0], info.dtype, []);
  const quotient = ctx.tmp('Div', [a, b], info);
  const remainder = ctx.tmp('Mod', [a, b], info, { fmod: 1 });
  const inexact = ctx.tmp('Not', [ctx.tmp('Equal', [remainder, zero], bool)], bool);
  const signsDiffer = ctx.tmp('Xor', [ctx.tmp('Less', [a, zero], bool), ctx.tmp('Less', [b, zero], bool)], bool);
  const adjust = ctx.tmp('Cast', [ctx.tmp('And', [inexact, signsDiffer], bool)], info, { to: ONNX_ELEMENT_TYPES[info.dtype] });
  ctx.node('Sub', [quotient, adjust], [out]);
}

function tables(): MapperTables {
  const programDesc: Record<string, OpMapper> = {};
  const pir: Record<string, OpMapper> = {};
  for (const [legacy, modern, onnxType] of BINARY) {
    programDesc[legacy] = (op, ctx) => {
      const x = operand(op, 'X');
      const y = alignedY(ctx, x, operand(op, 'Y'), numAttr(op, 'axis', -1));
      ctx.node(onnxType, [x, y], [result(op, 'Out')]);
    };
    pir[modern] = (op, ctx) => {
      const x = operand(op, '0');
      ctx.node(onnxType, [x, operand(op, '1')], [result(op, '0')]);
    };
  }
  pir.remainder = (op, ctx) => {
    const x = operand(op, '0');
    // integer Mod takes the divisor's sign, as Paddle's (Python's) %; float Mod would need fmod and a fix-up
    if (!isInteger(ctx.dtype(x))) throw new UnsupportedOpForm('remainder on floats');
    ctx.node('Mod', [x, operand(op, '1')], [result(op, '0')]);
  };
  pir.floor_divide = (op, ctx) => floorDivide(ctx, operand(op, '0'), operand(op, '1'), result(op, '0'));
  return { programDesc, pir };
}

export const elementwiseMappers = tables();
