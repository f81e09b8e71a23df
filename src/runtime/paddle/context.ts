import onnxProto from 'onnx-proto';
import type { AttrValue, ElementType, PaddleBlock, PaddleOp, PaddleProgram, TensorInfo } from './program.js';

const { onnx } = onnxProto;

export const ONNX_ELEMENT_TYPES: Record<ElementType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  uint8: onnx.TensorProto.DataType.UINT8,
  int8: onnx.TensorProto.DataType.INT8,
  int16: onnx.TensorProto.DataType.INT16,
  int32: onnx.TensorProto.DataType.INT32,
  int64: onnx.TensorProto.DataType.INT64,
  bool: onnx.TensorProto.DataType.BOOL,
  float16: onnx.TensorProto.DataType.FLOAT16,
  float64: onnx.TensorProto.DataType.DOUBLE,
  bfloat16: onnx.TensorProto.DataType.BFLOAT16,
};

/** Paddle dtype names as PIR attributes and Python spell them. */
const DTYPE_NAMES: Record<string, ElementType> = {
  bool: 'bool',
  int8: 'int8',
  uint8: 'uint8',
  int16: 'int16',
  int32: 'int32',
  int64: 'int64',
  float16: 'float16',
  bfloat16: 'bfloat16',
  float32: 'float32',
  float64: 'float64',
};

export function dtypeFromName(name: string): ElementType | undefined {
  return DTYPE_NAMES[name];
}

/** An ONNX node attribute: a bare number is an int, `{ f }` a float, `{ graph }` a subgraph (Loop body, If branch). */
export type NodeAttr = number | number[] | string | { f: number } | { floats: number[] } | { graph: onnxProto.onnx.IGraphProto };

/** A typed graph input/output; without `shape` only the element type is declared (values whose shape a loop may change). */
export function valueInfo(name: string, dtype: ElementType, shape?: number[]): onnxProto.onnx.IValueInfoProto {
  const dims = shape?.map((d, i) => (d >= 0 ? { dimValue: d } : { dimParam: `${name}_dynamic_${i}` }));
  return { name, type: { tensorType: { elemType: ONNX_ELEMENT_TYPES[dtype], ...(dims && { shape: { dim: dims } }) } } };
}

/** Raised by a mapper for an op form it cannot express (e.g. adaptive pooling on a dynamic size). */
export class UnsupportedOpForm extends Error {}

function encodeValues(values: number[], dtype: ElementType): Uint8Array {
  switch (dtype) {
    case 'int64':
      return new Uint8Array(BigInt64Array.from(values, (v) => BigInt(Math.trunc(v))).buffer);
    case 'int32':
      return new Uint8Array(Int32Array.from(values).buffer);
    case 'float32':
      return new Uint8Array(Float32Array.from(values).buffer);
    case 'float64':
      return new Uint8Array(Float64Array.from(values).buffer);
    case 'bool':
      return Uint8Array.from(values, (v) => (v ? 1 : 0));
    case 'uint8':
      return Uint8Array.from(values);
    default:
      throw new UnsupportedOpForm(`constants of type ${dtype}`);
  }
}

interface PendingConstant {
  values: number[];
  dtype: ElementType;
  dims: number[];
}

/**
 * Graph under construction plus what mappers need to know about the Paddle program: declared
 * value types, and the values of constants (`full`, `full_int_array`, `fill_constant`) that Paddle
 * passes as tensors where ONNX wants attributes (pool kernel sizes, axes, shapes).
 */
export class ConvertContext {
  /** nodes of the graph being built: the main graph, or while mapping a block, its subgraph */
  nodes: onnxProto.onnx.INodeProto[] = [];
  readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  /** every name a node reads, subgraphs included (decides which weights the model keeps) */
  readonly used = new Set<string>();
  private readonly constants = new Map<string, PendingConstant>();
  private readonly materialized = new Set<string>();
  private counter = 0;

  constructor(
    readonly program: PaddleProgram,
    readonly mapOp: (op: PaddleOp, ctx: ConvertContext) => void,
  ) {}

  /**
   * Maps a block's ops into a subgraph (Loop body, If branch) with the given inputs; its outputs
   * are the block's results. Names of the enclosing graphs stay visible inside, as ONNX scopes them.
   */
  subgraph(hint: string, block: PaddleBlock, inputs: onnxProto.onnx.IValueInfoProto[]): onnxProto.onnx.IGraphProto {
    const outer = this.nodes;
    this.nodes = [];
    try {
      for (const op of block.ops) this.mapOp(op, this);
      // through Identity: a subgraph output must be produced inside it, not be an input or outer value
      const output = block.results.map((value) => {
        const out = this.fresh(`${hint}_result`);
        this.node('Identity', [value], [out]);
        return valueInfo(out, this.dtype(value));
      });
      return { name: this.fresh(hint), node: this.nodes, input: inputs, output };
    } finally {
      this.nodes = outer;
    }
  }

  info(name: string): TensorInfo | undefined {
    return this.program.values.get(name);
  }

  dtype(name: string): ElementType {
    return this.info(name)?.dtype ?? 'float32';
  }

  rank(name: string): number {
    const info = this.info(name);
    if (!info) throw new UnsupportedOpForm(`the rank of "${name}" is not declared`);
    return info.shape.length;
  }

  fresh(hint: string): string {
    return `p2o_${hint}_${this.counter++}`;
  }

  /** Records a constant a later op may read at conversion time; it becomes an initializer only if a node uses it. */
  defineConstant(name: string, values: number[], dtype: ElementType, dims: number[]): void {
    this.constants.set(name, { values, dtype, dims });
    this.program.values.set(name, { dtype, shape: dims });
  }

  constantValues(name: string | undefined): number[] | undefined {
    return name === undefined ? undefined : this.constants.get(name)?.values;
  }

  /** A new initializer holding `values`. */
  constant(values: number[], dtype: ElementType, dims: number[] = [values.length], hint = 'const'): string {
    const name = this.fresh(hint);
    this.defineConstant(name, values, dtype, dims);
    return name;
  }

  private use(name: string): string {
    this.used.add(name);
    const pending = this.constants.get(name);
    if (pending && !this.materialized.has(name)) {
      this.materialized.add(name);
      this.initializers.push({
        name,
        dims: pending.dims,
        dataType: ONNX_ELEMENT_TYPES[pending.dtype],
        rawData: encodeValues(pending.values, pending.dtype),
      });
    }
    return name;
  }

  node(opType: string, inputs: string[], outputs: string[], attrs: Record<string, NodeAttr> = {}): void {
    const { AttributeType } = onnx.AttributeProto;
    this.nodes.push({
      opType,
      name: `${opType}_${this.nodes.length}`,
      input: inputs.map((name) => (name === '' ? '' : this.use(name))),
      output: outputs,
      attribute: Object.entries(attrs).map(([name, value]) => {
        if (typeof value === 'number') return { name, type: AttributeType.INT, i: value };
        if (typeof value === 'string') return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value) };
        if (Array.isArray(value)) return { name, type: AttributeType.INTS, ints: value };
        if ('f' in value) return { name, type: AttributeType.FLOAT, f: value.f };
        if ('graph' in value) return { name, type: AttributeType.GRAPH, g: value.graph };
        return { name, type: AttributeType.FLOATS, floats: value.floats };
      }),
    });
  }

  /** One node with a fresh output name, declared with the given type. */
  tmp(opType: string, inputs: string[], info: TensorInfo, attrs: Record<string, NodeAttr> = {}): string {
    const out = this.fresh(opType.toLowerCase());
    this.node(opType, inputs, [out], attrs);
    this.program.values.set(out, info);
    return out;
  }

  /** `name` as int64 (ONNX shape, axes and index inputs), cast if Paddle declared it otherwise. */
  int64(name: string): string {
    const info = this.info(name);
    if (!info || info.dtype === 'int64') return name;
    return this.tmp('Cast', [name], { dtype: 'int64', shape: info.shape }, { to: ONNX_ELEMENT_TYPES.int64 });
  }

  /** A scalar-or-[1] int tensor list turned into one 1-D int64 tensor (Paddle's lists of shape/size tensors). */
  int64List(names: string[]): string {
    const parts = names.map((name) => {
      const asInt = this.int64(name);
      return this.rank(name) === 0 ? this.tmp('Unsqueeze', [asInt, this.constant([0], 'int64')], { dtype: 'int64', shape: [1] }) : asInt;
    });
    return parts.length === 1 ? parts[0]! : this.tmp('Concat', parts, { dtype: 'int64', shape: [-1] }, { axis: 0 });
  }
}

/** Attribute and operand access for mappers: missing attributes take Paddle's defaults given here. */
export function attr(op: PaddleOp, name: string): AttrValue | undefined {
  return op.attrs[name] ?? undefined;
}

export function numAttr(op: PaddleOp, name: string, fallback: number): number {
  const v = attr(op, name);
  return typeof v === 'number' ? v : typeof v === 'boolean' ? Number(v) : fallback;
}

export function numsAttr(op: PaddleOp, name: string, fallback: number[] = []): number[] {
  const v = attr(op, name);
  return Array.isArray(v) ? v.map(Number) : fallback;
}

export function strAttr(op: PaddleOp, name: string, fallback: string): string {
  const v = attr(op, name);
  return typeof v === 'string' ? v : fallback;
}

export function boolAttr(op: PaddleOp, name: string, fallback: boolean): boolean {
  const v = attr(op, name);
  return typeof v === 'boolean' ? v : typeof v === 'number' ? v !== 0 : fallback;
}

export function operands(op: PaddleOp, slot: string): string[] {
  return op.inputs[slot] ?? [];
}

export function operand(op: PaddleOp, slot: string): string {
  const name = op.inputs[slot]?.[0];
  if (name === undefined) throw new UnsupportedOpForm(`operand ${slot} is missing`);
  return name;
}

export function optionalOperand(op: PaddleOp, slot: string): string | undefined {
  return op.inputs[slot]?.[0];
}

export function result(op: PaddleOp, slot: string): string {
  const name = op.outputs[slot]?.[0];
  if (name === undefined) throw new UnsupportedOpForm(`output ${slot} is missing`);
  return name;
}

export type OpMapper = (op: PaddleOp, ctx: ConvertContext) => void;

/** Mappers by op type, one table per program format (their operand conventions differ). */
export interface MapperTables {
  programDesc: Record<string, OpMapper>;
  pir: Record<string, OpMapper>;
}
