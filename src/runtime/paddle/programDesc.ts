import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { ConfigError } from '../../errors.js';
import { compareBytes, PADDLE_DTYPE_CODES, type AttrValue, type PaddleOp, type PaddleProgram, type TensorInfo } from './program.js';

/** Reads `inference.pdmodel` (Paddle 2.x ProgramDesc protobuf) with the schema in programDesc.proto. */

let root: protobuf.Root | undefined;
function schema(): protobuf.Root {
  root ??= new protobuf.Root().loadSync(fileURLToPath(new URL('./programDesc.proto', import.meta.url)), { keepCase: true });
  return root;
}

export function tensorDescType(): protobuf.Type {
  return schema().lookupType('paddle.framework.proto.VarType.TensorDesc');
}

const VAR_TYPE_LOD_TENSOR = 7;

// AttrType enum number → the OpDesc.Attr field holding the value
const ATTR_FIELDS: Record<number, string> = {
  0: 'i',
  1: 'f',
  2: 's',
  3: 'ints',
  4: 'floats',
  5: 'strings',
  6: 'b',
  7: 'bools',
  8: 'block_idx',
  9: 'l',
  10: 'blocks_idx',
  11: 'longs',
  12: 'float64s',
  13: 'var_name',
  14: 'vars_name',
  15: 'float64',
};
const ATTR_BLOCK = 8;
const ATTR_BLOCKS = 10;
const ATTR_SCALAR = 16;
const ATTR_SCALARS = 17;

interface ScalarMessage {
  type?: number;
  b?: boolean;
  i?: number;
  r?: number;
}

function scalarValue(s: ScalarMessage): AttrValue {
  if (s.type === 1) return Boolean(s.b);
  if (s.type === 2) return s.i ?? 0;
  return s.r ?? 0;
}

interface AttrMessage {
  name: string;
  type: number;
  scalar?: ScalarMessage;
  scalars?: ScalarMessage[];
  [field: string]: unknown;
}

function attrValue(a: AttrMessage): AttrValue {
  if (a.type === ATTR_SCALAR) return a.scalar ? scalarValue(a.scalar) : null;
  if (a.type === ATTR_SCALARS) return (a.scalars ?? []).map(scalarValue);
  const field = ATTR_FIELDS[a.type];
  return field === undefined ? null : ((a[field] as AttrValue | undefined) ?? null);
}

export function parseProgramDesc(bytes: Uint8Array, where: string): PaddleProgram {
  const programType = schema().lookupType('paddle.framework.proto.ProgramDesc');
  let program: any;
  try {
    program = programType.toObject(programType.decode(bytes), { longs: Number, defaults: true, arrays: true });
  } catch (err) {
    throw new ConfigError(`${where}: not a Paddle ProgramDesc: ${(err as Error).message}`);
  }
  const blocks: any[] = program.blocks;
  if (!blocks.length) throw new ConfigError(`${where}: the program has no blocks`);

  const values = new Map<string, TensorInfo>();
  const parameters: string[] = [];
  for (const block of blocks) {
    for (const v of block.vars) {
      const tensor = v.type?.lod_tensor?.tensor;
      if (v.type?.type !== VAR_TYPE_LOD_TENSOR || !tensor) continue;
      const dtype = PADDLE_DTYPE_CODES[tensor.data_type];
      if (!dtype) continue;
      values.set(v.name, { dtype, shape: tensor.dims });
      if (v.persistable && block.idx === 0) parameters.push(v.name);
    }
  }
  parameters.sort(compareBytes);

  const feeds: Array<[number, string]> = [];
  const fetches: Array<[number, string]> = [];
  // ProgramDesc writes variables in place (while bodies, set_value, assign); ONNX wants each value
  // defined once, so a second definition gets a new version name and later reads follow it.
  // Weights keep their names: inference programs write them only as batch_norm's unused MeanOut/VarianceOut.
  const weights = new Set(parameters);
  const defined = new Set<string>();
  let versions = 0;
  const newVersion = (name: string): string => {
    const version = `${name}@${++versions}`;
    const info = values.get(name);
    if (info) values.set(version, info);
    return version;
  };

  function parseOps(blockIdx: number, current: Map<string, string>): PaddleOp[] {
    const ops: PaddleOp[] = [];
    for (const op of blocks[blockIdx].ops) {
      const read = (list: any[]) =>
        Object.fromEntries(list.map((v) => [v.parameter, (v.arguments as string[]).map((n) => current.get(n) ?? n)]));
      const attrs: Record<string, AttrValue> = {};
      let subBlock: number | undefined;
      let hasSubBlocks = false;
      for (const a of op.attrs as AttrMessage[]) {
        if (a.type === ATTR_BLOCK) subBlock = Number(a.block_idx);
        if (a.type === ATTR_BLOCK || a.type === ATTR_BLOCKS) hasSubBlocks = true;
        attrs[a.name] = attrValue(a);
      }
      const parsed: PaddleOp = { type: op.type, inputs: read(op.inputs), outputs: {}, attrs };
      if (op.type === 'while' && subBlock !== undefined) {
        ops.push(whileOp(op, subBlock, current));
        continue;
      }
      // a tensor (not scalar) condition runs the block when the tensor is non-empty: not mapped
      if (op.type === 'conditional_block' && subBlock !== undefined && attrs.is_scalar_condition === true) {
        ops.push(conditionalBlockOp(op, subBlock, current));
        continue;
      }
      if (hasSubBlocks) parsed.hasSubBlocks = true;
      for (const v of op.outputs) {
        parsed.outputs[v.parameter] = (v.arguments as string[]).map((name) => {
          if (weights.has(name)) return name;
          const version = defined.has(name) ? newVersion(name) : name;
          defined.add(name);
          if (version !== name) current.set(name, version);
          return version;
        });
      }
      if (op.type === 'feed') feeds.push([Number(attrs.col ?? 0), parsed.outputs.Out![0]!]);
      else if (op.type === 'fetch') fetches.push([Number(attrs.col ?? 0), parsed.inputs.X![0]!]);
      else ops.push(parsed);
    }
    return ops;
  }

  /**
   * A ProgramDesc `while` in the converter's form: the variables of the enclosing scope its body
   * writes become the loop-carried values, read in the body through block args and after the loop
   * through new versions; the body's last write of the condition variable is the next condition.
   */
  function whileOp(op: any, subBlock: number, current: Map<string, string>): PaddleOp {
    const condition: string | undefined = op.inputs.find((v: any) => v.parameter === 'Condition')?.arguments[0];
    if (!condition) throw new ConfigError(`${where}: a while op without a Condition`);
    const written = new Set<string>(blocks[subBlock].ops.flatMap((o: any) => o.outputs.flatMap((v: any) => v.arguments as string[])));
    const carried = [...written].filter((name) => defined.has(name) && name !== condition);
    const initial = [condition, ...carried].map((name) => current.get(name) ?? name);
    const body = new Map(current);
    const args = [condition, ...carried].map((name) => {
      const arg = newVersion(name);
      body.set(name, arg);
      return arg;
    });
    const ops = parseOps(subBlock, body);
    const results = [condition, ...carried].map((name) => body.get(name)!);
    if (results[0] === args[0]) throw new ConfigError(`${where}: the body of a while op never updates its condition ${condition}`);
    const outputs = carried.map((name) => {
      const version = newVersion(name);
      current.set(name, version);
      return version;
    });
    return {
      type: 'while',
      inputs: Object.fromEntries(initial.map((n, i) => [String(i), [n]])),
      outputs: Object.fromEntries(outputs.map((n, i) => [String(i), [n]])),
      attrs: {},
      blocks: [{ args, ops, results }],
    };
  }

  /**
   * A ProgramDesc `conditional_block` as an `if`: the then block is the sub-block, whose last writes of
   * the Out variables are the results; the else block passes on their values from before, or, for a
   * variable the block defines first (Paddle's `cond` lowering, whose select_input picks the live
   * branch), a placeholder 0 of its type.
   */
  function conditionalBlockOp(op: any, subBlock: number, current: Map<string, string>): PaddleOp {
    const slot = (list: any[], name: string): string[] => list.find((v: any) => v.parameter === name)?.arguments ?? [];
    const rawCondition = slot(op.inputs, 'Cond')[0];
    if (!rawCondition) throw new ConfigError(`${where}: a conditional_block op without a Cond`);
    const condition = current.get(rawCondition) ?? rawCondition;
    const outs = slot(op.outputs, 'Out');
    const before = outs.map((name) => (defined.has(name) ? (current.get(name) ?? name) : undefined));
    const body = new Map(current);
    const thenOps = parseOps(subBlock, body);
    const placeholders: PaddleOp[] = [];
    const elseResults = outs.map((name, i) => {
      if (before[i]) return before[i]!;
      const zero = `${name}@placeholder${++versions}`;
      const dtype = values.get(name)?.dtype ?? 'float32';
      values.set(zero, { dtype, shape: [] });
      placeholders.push({ type: 'fill_constant', inputs: {}, outputs: { Out: [zero] }, attrs: { shape: [], value: 0, dtype } });
      return zero;
    });
    const outputs = outs.map((name) => {
      const version = newVersion(name);
      defined.add(name);
      current.set(name, version);
      return [version];
    });
    return {
      type: 'if',
      inputs: { '0': [condition] },
      outputs: Object.fromEntries(outputs.map((names, i) => [String(i), names])),
      attrs: {},
      blocks: [
        { args: [], ops: thenOps, results: outs.map((name) => body.get(name) ?? name) },
        { args: [], ops: placeholders, results: elseResults },
      ],
    };
  }

  const ops = parseOps(0, new Map());
  const byColumn = (list: Array<[number, string]>) => list.sort((a, b) => a[0] - b[0]).map(([, name]) => name);
  return { format: 'programDesc', ops, values, inputs: byColumn(feeds), outputs: byColumn(fetches), parameters };
}
