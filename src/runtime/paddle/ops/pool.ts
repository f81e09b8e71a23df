import type { PaddleOp } from '../program.js';
import {
  boolAttr,
  numAttr,
  numsAttr,
  operand,
  result,
  strAttr,
  UnsupportedOpForm,
  type ConvertContext,
  type MapperTables,
} from '../context.js';
import { spatialAttrs } from './conv.js';

function pool(ctx: ConvertContext, op: PaddleOp, x: string, out: string, kernel: number[]): void {
  const kind = strAttr(op, 'pooling_type', 'max');
  if (kind !== 'max' && kind !== 'avg') throw new UnsupportedOpForm(`pooling_type ${kind}`);
  const onnxKind = kind === 'max' ? 'MaxPool' : 'AveragePool';
  const adaptive = boolAttr(op, 'adaptive', false);
  if (boolAttr(op, 'global_pooling', false) || (adaptive && kernel.every((k) => k === 1))) {
    return ctx.node(kind === 'max' ? 'GlobalMaxPool' : 'GlobalAveragePool', [x], [out]);
  }
  if (adaptive) {
    // adaptive pooling is a plain pooling when the input size is a multiple of the output size
    const spatial = ctx.info(x)!.shape.slice(2);
    if (spatial.some((d, i) => d <= 0 || d % kernel[i]! !== 0)) {
      throw new UnsupportedOpForm(`adaptive ${kind} pooling to ${kernel.join('x')} on input size ${spatial.join('x')}`);
    }
    const window = spatial.map((d, i) => d / kernel[i]!);
    return ctx.node(onnxKind, [x], [out], { kernel_shape: window, strides: window });
  }
  const attrs = { ...spatialAttrs(op, kernel.length), kernel_shape: kernel, ceil_mode: numAttr(op, 'ceil_mode', 0) };
  // Paddle's `exclusive` leaves padding out of the average
  if (kind === 'avg') Object.assign(attrs, { count_include_pad: boolAttr(op, 'exclusive', true) ? 0 : 1 });
  ctx.node(onnxKind, [x], [out], attrs);
}

export const poolMappers: MapperTables = {
  programDesc: {
    pool2d: (op, ctx) => pool(ctx, op, operand(op, 'X'), result(op, 'Out'), numsAttr(op, 'ksize')),
  },
  pir: {
    // pool2d(x, kernel_size): the kernel size comes from a full_int_array
    pool2d: (op, ctx) => {
      const kernel = ctx.constantValues(operand(op, '1'));
      if (!kernel) throw new UnsupportedOpForm('pool2d with a computed kernel_size');
      pool(ctx, op, operand(op, '0'), result(op, '0'), kernel.length === 1 ? [kernel[0]!, kernel[0]!] : kernel);
    },
  },
};
