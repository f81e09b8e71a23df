import {
  dtypeFromName,
  numsAttr,
  ONNX_ELEMENT_TYPES,
  operand,
  operands,
  result,
  UnsupportedOpForm,
  attr,
  type ConvertContext,
  type MapperTables,
} from '../context.js';
import type { ElementType, PaddleOp } from '../program.js';

/** A [1]-shaped or 0-d constant operand as a 0-d tensor (ONNX Range and Clip want scalars). */
function scalarOperand(ctx: ConvertContext, op: PaddleOp, slot: string, dtype: ElementType): string {
  const name = operand(op, slot);
  const known = ctx.constantValues(name);
  if (known) return ctx.constant([known[0]!], dtype, []);
  const info = ctx.info(name)!;
  const asType = info.dtype === dtype ? name : ctx.tmp('Cast', [name], { dtype, shape: info.shape }, { to: ONNX_ELEMENT_TYPES[dtype] });
  return info.shape.length === 0 ? asType : ctx.tmp('Reshape', [asType, ctx.constant([], 'int64', [0])], { dtype, shape: [] });
}

/** Paddle flip over `axes`: ONNX has no Flip, a Slice with step −1 per axis does it. */
function flip(ctx: ConvertContext, x: string, out: string, axes: number[]): void {
  const n = axes.length;
  const big = Number.MAX_SAFE_INTEGER;
  ctx.node(
    'Slice',
    [
      x,
      ctx.constant(Array(n).fill(-1), 'int64'),
      ctx.constant(Array(n).fill(-big), 'int64'),
      ctx.constant(axes, 'int64'),
      ctx.constant(Array(n).fill(-1), 'int64'),
    ],
    [out],
  );
}

export const indexingMappers: MapperTables = {
  programDesc: {},
  pir: {
    where: (op, ctx) => ctx.node('Where', [operand(op, '0'), operand(op, '1'), operand(op, '2')], [result(op, '0')]),
    gather_nd: (op, ctx) => ctx.node('GatherND', [operand(op, '0'), ctx.int64(operand(op, '1'))], [result(op, '0')]),
    // tile(x, repeat_times): a constant, or a combine/stack of scalars. Paddle pads a short list with
    // leading 1s, and a long one raises x's rank with leading unit dims.
    tile: (op, ctx) => {
      let x = operand(op, '0');
      const rank = ctx.rank(x);
      const names = operands(op, '1');
      const known = names.length === 1 ? ctx.constantValues(names[0]) : undefined;
      const count = known?.length ?? (names.length > 1 ? names.length : ctx.info(names[0]!)?.shape[0]);
      if (count === undefined || count < 0) throw new UnsupportedOpForm('tile with repeat_times of unknown length');
      if (count > rank) {
        const info = ctx.info(x)!;
        const lead = Array.from({ length: count - rank }, (_, i) => i);
        x = ctx.tmp('Unsqueeze', [x, ctx.constant(lead, 'int64')], { dtype: info.dtype, shape: [...lead.map(() => 1), ...info.shape] });
      }
      const repeats = known
        ? ctx.constant([...Array(Math.max(0, rank - known.length)).fill(1), ...known], 'int64')
        : count < rank
          ? ctx.int64List([ctx.constant(Array(rank - count).fill(1), 'int64'), ...names])
          : ctx.int64List(names);
      ctx.node('Tile', [x, repeats], [result(op, '0')]);
    },
    flip: (op, ctx) => flip(ctx, operand(op, '0'), result(op, '0'), numsAttr(op, 'axis')),
    // arange(start, end, step){dtype}
    arange: (op, ctx) => {
      const dtype = dtypeFromName(String(attr(op, 'dtype') ?? 'int64'));
      if (!dtype) throw new UnsupportedOpForm(`arange dtype ${String(attr(op, 'dtype'))}`);
      ctx.node(
        'Range',
        ['0', '1', '2'].map((slot) => scalarOperand(ctx, op, slot, dtype)),
        [result(op, '0')],
      );
    },
    // full_like(x, value){dtype}: value broadcast to x's runtime shape
    full_like: (op, ctx) => {
      const x = operand(op, '0');
      const dtype = dtypeFromName(String(attr(op, 'dtype'))) ?? ctx.dtype(x);
      const shape = ctx.tmp('Shape', [x], { dtype: 'int64', shape: [ctx.rank(x)] });
      ctx.node('Expand', [scalarOperand(ctx, op, '1', dtype), shape], [result(op, '0')]);
    },
    // clip(x, min, max)
    clip: (op, ctx) => {
      const x = operand(op, '0');
      ctx.node('Clip', [x, scalarOperand(ctx, op, '1', ctx.dtype(x)), scalarOperand(ctx, op, '2', ctx.dtype(x))], [result(op, '0')]);
    },
  },
};
