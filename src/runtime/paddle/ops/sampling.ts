import type { PaddleOp } from '../program.js';
import {
  boolAttr,
  numAttr,
  numsAttr,
  operand,
  operands,
  result,
  strAttr,
  UnsupportedOpForm,
  type ConvertContext,
  type MapperTables,
} from '../context.js';

const PAD_MODES: Record<string, string> = { constant: 'constant', reflect: 'reflect', replicate: 'edge' };

/** pad3d pads W, H, D as [left, right, top, bottom, front, back]; ONNX Pad takes all begins, then all ends. */
function pad3d(ctx: ConvertContext, op: PaddleOp, x: string, out: string, paddings: number[]): void {
  const layout = strAttr(op, 'data_format', 'NCDHW');
  if (layout !== 'NCDHW') throw new UnsupportedOpForm(`pad3d data_format ${layout}`);
  const mode = PAD_MODES[strAttr(op, 'mode', 'constant')];
  if (!mode) throw new UnsupportedOpForm(`pad3d mode ${strAttr(op, 'mode', '')}`);
  const [left, right, top, bottom, front, back] = paddings as [number, number, number, number, number, number];
  const pads = ctx.constant([0, 0, front, top, left, 0, 0, back, bottom, right], 'int64');
  const value = ctx.constant([numAttr(op, 'pad_value', numAttr(op, 'value', 0))], ctx.dtype(x), []);
  ctx.node('Pad', [x, pads, value], [out], { mode });
}

/** Paddle's grid_sample follows PyTorch's, as ONNX GridSample (opset 16) does. */
function gridSample(ctx: ConvertContext, op: PaddleOp, x: string, grid: string, out: string): void {
  ctx.node('GridSample', [x, grid], [out], {
    mode: strAttr(op, 'mode', 'bilinear'),
    padding_mode: strAttr(op, 'padding_mode', 'zeros'),
    align_corners: Number(boolAttr(op, 'align_corners', true)),
  });
}

export const samplingMappers: MapperTables = {
  programDesc: {
    pad3d: (op, ctx) => {
      if (operands(op, 'Paddings').length) throw new UnsupportedOpForm('pad3d with a Paddings tensor');
      pad3d(ctx, op, operand(op, 'X'), result(op, 'Out'), numsAttr(op, 'paddings'));
    },
    grid_sampler: (op, ctx) => gridSample(ctx, op, operand(op, 'X'), operand(op, 'Grid'), result(op, 'Output')),
  },
  pir: {
    // pad3d(x, paddings): the paddings come from a full_int_array
    pad3d: (op, ctx) => {
      const paddings = ctx.constantValues(operand(op, '1'));
      if (!paddings) throw new UnsupportedOpForm('pad3d with computed paddings');
      pad3d(ctx, op, operand(op, '0'), result(op, '0'), paddings);
    },
    grid_sample: (op, ctx) => gridSample(ctx, op, operand(op, '0'), operand(op, '1'), result(op, '0')),
  },
};
