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
  const ops: PaddleOp[] = [];
  for (const op of blocks[0].ops) {
    const slots = (list: any[]) => Object.fromEntries(list.map((v) => [v.parameter, v.arguments as string[]]));
    const attrs: Record<string, AttrValue> = {};
    let hasSubBlocks = false;
    for (const a of op.attrs as AttrMessage[]) {
      if (a.type === ATTR_BLOCK || a.type === ATTR_BLOCKS) hasSubBlocks = true;
      attrs[a.name] = attrValue(a);
    }
    const parsed: PaddleOp = { type: op.type, inputs: slots(op.inputs), outputs: slots(op.outputs), attrs };
    if (hasSubBlocks) parsed.hasSubBlocks = true;
    if (op.type === 'feed') feeds.push([Number(attrs.col ?? 0), parsed.outputs.Out![0]!]);
    else if (op.type === 'fetch') fetches.push([Number(attrs.col ?? 0), parsed.inputs.X![0]!]);
    else ops.push(parsed);
  }
  const byColumn = (list: Array<[number, string]>) => list.sort((a, b) => a[0] - b[0]).map(([, name]) => name);
  return { format: 'programDesc', ops, values, inputs: byColumn(feeds), outputs: byColumn(fetches), parameters };
}
