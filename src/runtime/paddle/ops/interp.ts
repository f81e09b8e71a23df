import type { PaddleOp } from '../program.js';
import {
  boolAttr,
  numAttr,
  numsAttr,
  operands,
  operand,
  result,
  strAttr,
  UnsupportedOpForm,
  type ConvertContext,
  type MapperTables,
  type NodeAttr,
} from '../context.js';

/**
 * Paddle's interp ops as ONNX Resize. Output size precedence as Paddle's: SizeTensor, then OutSize,
 * then the scale (tensor or attribute), then out_h/out_w. Coordinate rules: align_corners → ONNX
 * align_corners; otherwise nearest uses floor(dst·in/out) (asymmetric, floor) and linear uses
 * align_mode 0 = half_pixel, 1 = asymmetric.
 */
interface InterpArgs {
  x: string;
  out: string;
  sizeList: string[];
  outSize: string | undefined;
  scaleTensor: string | undefined;
}

function resizeAttrs(op: PaddleOp, method: 'nearest' | 'linear'): Record<string, NodeAttr> {
  const alignCorners = boolAttr(op, 'align_corners', false);
  if (method === 'nearest') {
    return alignCorners
      ? { mode: 'nearest', coordinate_transformation_mode: 'align_corners', nearest_mode: 'round_prefer_ceil' }
      : { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' };
  }
  const transform = alignCorners ? 'align_corners' : numAttr(op, 'align_mode', 1) === 0 ? 'half_pixel' : 'asymmetric';
  return { mode: 'linear', coordinate_transformation_mode: transform };
}

function interp(ctx: ConvertContext, op: PaddleOp, args: InterpArgs, method: 'nearest' | 'linear'): void {
  const layout = strAttr(op, 'data_format', strAttr(op, 'data_layout', 'NCHW'));
  if (layout !== 'NCHW') throw new UnsupportedOpForm(`data_format ${layout}`);
  const attrs = resizeAttrs(op, method);
  const { x, out } = args;
  const rank = ctx.rank(x);
  const spatial = rank - 2;
  const outHW = (sizes: string) => {
    // sizes for all dims: N and C from the input's runtime shape
    const shape = ctx.tmp('Shape', [x], { dtype: 'int64', shape: [rank] });
    const nc = ctx.tmp('Slice', [shape, ctx.constant([0], 'int64'), ctx.constant([2], 'int64')], { dtype: 'int64', shape: [2] });
    const full = ctx.tmp('Concat', [nc, sizes], { dtype: 'int64', shape: [rank] }, { axis: 0 });
    ctx.node('Resize', [x, '', '', full], [out], attrs);
  };
  if (args.sizeList.length) return outHW(ctx.int64List(args.sizeList));
  if (args.outSize) return outHW(ctx.int64(args.outSize));
  if (args.scaleTensor) throw new UnsupportedOpForm('interpolation with a Scale tensor');
  let scale = numsAttr(op, 'scale');
  if (scale.length === 1) scale = Array(spatial).fill(scale[0]);
  if (scale.length && scale.every((s) => s > 0)) {
    return ctx.node('Resize', [x, '', ctx.constant([1, 1, ...scale], 'float32')], [out], attrs);
  }
  const sizes = spatial === 1 ? [numAttr(op, 'out_w', -1)] : [numAttr(op, 'out_h', -1), numAttr(op, 'out_w', -1)];
  if (sizes.some((s) => s <= 0)) throw new UnsupportedOpForm('interpolation without an output size or scale');
  outHW(ctx.constant(sizes, 'int64'));
}

type InterpSlots = Record<'x' | 'out' | 'sizeList' | 'outSize' | 'scaleTensor', string>;
const LEGACY_SLOTS: InterpSlots = { x: 'X', out: 'Out', sizeList: 'SizeTensor', outSize: 'OutSize', scaleTensor: 'Scale' };
// interp(x, out_size, size_tensor, scale_tensor)
const PIR_SLOTS: InterpSlots = { x: '0', out: '0', sizeList: '2', outSize: '1', scaleTensor: '3' };

function mapper(slots: InterpSlots, method: 'nearest' | 'linear') {
  return (op: PaddleOp, ctx: ConvertContext) =>
    interp(
      ctx,
      op,
      {
        x: operand(op, slots.x),
        out: result(op, slots.out),
        sizeList: operands(op, slots.sizeList),
        outSize: operands(op, slots.outSize)[0],
        scaleTensor: operands(op, slots.scaleTensor)[0],
      },
      method,
    );
}

export const interpMappers: MapperTables = {
  programDesc: { nearest_interp_v2: mapper(LEGACY_SLOTS, 'nearest'), bilinear_interp_v2: mapper(LEGACY_SLOTS, 'linear') },
  pir: { nearest_interp: mapper(PIR_SLOTS, 'nearest'), bilinear_interp: mapper(PIR_SLOTS, 'linear') },
};
