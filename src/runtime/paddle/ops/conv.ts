import type { PaddleOp } from '../program.js';
import {
  numAttr,
  numsAttr,
  operand,
  result,
  strAttr,
  UnsupportedOpForm,
  type ConvertContext,
  type MapperTables,
  type NodeAttr,
} from '../context.js';

/** Paddle's spatial attributes (strides, paddings, dilations, padding_algorithm) as ONNX Conv/Pool attributes. */
export function spatialAttrs(op: PaddleOp, spatialRank: number): Record<string, NodeAttr> {
  const layout = strAttr(op, 'data_format', strAttr(op, 'data_layout', 'NCHW'));
  if (layout !== 'NCHW' && layout !== 'AnyLayout' && layout !== 'NCDHW') throw new UnsupportedOpForm(`data_format ${layout}`);
  const attrs: Record<string, NodeAttr> = { strides: numsAttr(op, 'strides', Array(spatialRank).fill(1)) };
  const algorithm = strAttr(op, 'padding_algorithm', 'EXPLICIT');
  if (algorithm === 'SAME') attrs.auto_pad = 'SAME_UPPER';
  else if (algorithm === 'VALID') attrs.pads = Array(2 * spatialRank).fill(0);
  else attrs.pads = onnxPads(numsAttr(op, 'paddings', Array(spatialRank).fill(0)), spatialRank);
  return attrs;
}

/** Paddle paddings are per dim ([h, w]) or per side ([top, bottom, left, right]); ONNX wants all begins, then all ends. */
export function onnxPads(paddings: number[], spatialRank: number): number[] {
  if (paddings.length === spatialRank) return [...paddings, ...paddings];
  if (paddings.length === 2 * spatialRank) {
    const begins = paddings.filter((_, i) => i % 2 === 0);
    const ends = paddings.filter((_, i) => i % 2 === 1);
    return [...begins, ...ends];
  }
  throw new UnsupportedOpForm(`paddings ${JSON.stringify(paddings)}`);
}

function conv(ctx: ConvertContext, op: PaddleOp, x: string, filter: string, out: string): void {
  const spatialRank = ctx.rank(filter) - 2;
  ctx.node('Conv', [x, filter], [out], {
    ...spatialAttrs(op, spatialRank),
    dilations: numsAttr(op, 'dilations', Array(spatialRank).fill(1)),
    group: numAttr(op, 'groups', 1),
  });
}

function convTranspose(ctx: ConvertContext, op: PaddleOp, x: string, filter: string, out: string, outputSize: number[]): void {
  if (outputSize.length) throw new UnsupportedOpForm('conv2d_transpose with output_size');
  const spatialRank = ctx.rank(filter) - 2;
  const outputPadding = numsAttr(op, 'output_padding');
  ctx.node('ConvTranspose', [x, filter], [out], {
    ...spatialAttrs(op, spatialRank),
    dilations: numsAttr(op, 'dilations', Array(spatialRank).fill(1)),
    group: numAttr(op, 'groups', 1),
    ...(outputPadding.length ? { output_padding: outputPadding } : {}),
  });
}

const legacyConv = (op: PaddleOp, ctx: ConvertContext) => conv(ctx, op, operand(op, 'Input'), operand(op, 'Filter'), result(op, 'Output'));
const pirConv = (op: PaddleOp, ctx: ConvertContext) => conv(ctx, op, operand(op, '0'), operand(op, '1'), result(op, '0'));

export const convMappers: MapperTables = {
  programDesc: {
    conv2d: legacyConv,
    depthwise_conv2d: legacyConv,
    conv2d_transpose: (op, ctx) =>
      convTranspose(ctx, op, operand(op, 'Input'), operand(op, 'Filter'), result(op, 'Output'), numsAttr(op, 'output_size')),
  },
  pir: {
    conv2d: pirConv,
    depthwise_conv2d: pirConv,
    conv2d_transpose: (op, ctx) => {
      const sizeOperand = op.inputs['2']?.[0];
      const outputSize = sizeOperand === undefined ? [] : ctx.constantValues(sizeOperand);
      if (!outputSize) throw new UnsupportedOpForm('conv2d_transpose with a computed output_size');
      convTranspose(ctx, op, operand(op, '0'), operand(op, '1'), result(op, '0'), outputSize);
    },
  },
};
