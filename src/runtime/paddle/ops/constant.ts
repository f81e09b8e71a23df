import { PADDLE_DTYPE_CODES, type ElementType } from '../program.js';
import { attr, dtypeFromName, numAttr, numsAttr, result, strAttr, UnsupportedOpForm, type MapperTables } from '../context.js';

function dtypeOf(value: unknown): ElementType {
  const dtype = typeof value === 'number' ? PADDLE_DTYPE_CODES[value] : dtypeFromName(String(value));
  if (!dtype) throw new UnsupportedOpForm(`dtype ${String(value)}`);
  return dtype;
}

function filled(shape: number[], value: number): number[] {
  if (shape.some((d) => d < 0)) throw new UnsupportedOpForm(`a constant of dynamic shape ${JSON.stringify(shape)}`);
  return Array(shape.reduce((a, b) => a * b, 1)).fill(value);
}

/** Constants are recorded, not emitted: later ops read them as attributes, and only tensor uses become initializers. */
export const constantMappers: MapperTables = {
  programDesc: {
    fill_constant: (op, ctx) => {
      if (op.inputs.ValueTensor?.length) throw new UnsupportedOpForm('fill_constant with a ValueTensor');
      const text = strAttr(op, 'str_value', '');
      const value = text ? Number(text) : numAttr(op, 'value', 0);
      const dtype = dtypeOf(attr(op, 'dtype') ?? 5);
      // a shape computed at run time (ShapeTensor, or ShapeTensorList of [1] dims): the value expanded to it
      const shapeTensors = op.inputs.ShapeTensor?.length ? op.inputs.ShapeTensor : op.inputs.ShapeTensorList;
      if (shapeTensors?.length) {
        ctx.node('Expand', [ctx.constant([value], dtype, []), ctx.int64List(shapeTensors)], [result(op, 'Out')]);
        return;
      }
      const shape = numsAttr(op, 'shape');
      ctx.defineConstant(result(op, 'Out'), filled(shape, value), dtype, shape);
    },
    assign_value: (op, ctx) => {
      const shape = numsAttr(op, 'shape');
      const values = ['fp32_values', 'int32_values', 'int64_values', 'bool_values'].map((k) => numsAttr(op, k)).find((v) => v.length) ?? [];
      ctx.defineConstant(result(op, 'Out'), values, dtypeOf(attr(op, 'dtype') ?? 5), shape);
    },
  },
  pir: {
    full: (op, ctx) => {
      const shape = numsAttr(op, 'shape');
      ctx.defineConstant(result(op, '0'), filled(shape, numAttr(op, 'value', 0)), dtypeOf(attr(op, 'dtype') ?? 'float32'), shape);
    },
    full_int_array: (op, ctx) => {
      const values = numsAttr(op, 'value');
      ctx.defineConstant(result(op, '0'), values, dtypeOf(attr(op, 'dtype') ?? 'int64'), [values.length]);
    },
    assign_value_: (op, ctx) => {
      const shape = numsAttr(op, 'shape');
      ctx.defineConstant(result(op, '0'), numsAttr(op, 'values'), dtypeOf(attr(op, 'dtype') ?? 'float32'), shape);
    },
  },
};
