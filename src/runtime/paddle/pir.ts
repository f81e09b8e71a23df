import { ConfigError } from '../../errors.js';
import { compareBytes, type AttrValue, type ElementType, type PaddleOp, type PaddleProgram, type TensorInfo } from './program.js';

/**
 * Reads `inference.json`: a PIR program serialized as JSON (Paddle ≥ 3.0). Tolerant of the
 * serialization's version drift: unknown attribute types keep their raw data, and the converter
 * reads numbers whether a patch turned them into f32 or f64.
 */

const PIR_ELEMENT_TYPES: Record<string, ElementType> = {
  t_bool: 'bool',
  t_i8: 'int8',
  t_ui8: 'uint8',
  t_i16: 'int16',
  t_i32: 'int32',
  t_i64: 'int64',
  t_f16: 'float16',
  t_bf16: 'bfloat16',
  t_f32: 'float32',
  t_f64: 'float64',
};

interface PirType {
  '#': string;
  D?: any;
}
interface PirValueRef {
  '%': number;
  TT?: PirType;
}
interface PirAttr {
  N: string;
  AT: { '#': string; D?: any };
}
interface PirRegion {
  blocks: Array<{ args?: Array<{ '#': number; TT?: PirType }>; ops: PirOp[] }>;
}
interface PirOp {
  '#': string;
  A?: any[];
  I?: PirValueRef[];
  O?: PirValueRef[] | PirValueRef;
  regions?: unknown[];
}

function withoutDialect(name: string): string {
  return name.slice(name.indexOf('.') + 1);
}

function tensorInfo(type: PirType | undefined): TensorInfo | undefined {
  if (!type || withoutDialect(type['#']) !== 't_dtensor') return undefined;
  const [element, dims] = type.D as [PirType, number[]];
  const dtype = PIR_ELEMENT_TYPES[withoutDialect(element['#'])];
  return dtype ? { dtype, shape: dims } : undefined;
}

function attrValue(at: PirAttr['AT']): AttrValue {
  const kind = withoutDialect(at['#']);
  if (kind === 'a_array') return (at.D as PirAttr['AT'][]).map(attrValue);
  if (kind === 'a_place') return null;
  return at.D as AttrValue;
}

function outputsOf(op: PirOp): PirValueRef[] {
  if (!op.O) return [];
  return Array.isArray(op.O) ? op.O : [op.O];
}

export function parsePir(text: string, where: string): PaddleProgram {
  let json: any;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${where}: not valid JSON: ${(err as Error).message}`);
  }
  if (json?.base_code?.magic !== 'pir') throw new ConfigError(`${where}: not a PIR program (base_code.magic is not "pir")`);
  const topOps: PirOp[] | undefined = json.program?.regions?.[0]?.blocks?.[0]?.ops;
  if (!Array.isArray(topOps)) throw new ConfigError(`${where}: no program.regions[0].blocks[0].ops`);

  // model inputs and fetched values keep their Paddle names (`x`, `fetch_name_0`), as paddle2onnx names them
  const aliases = new Map<number, string>();
  for (const op of topOps) {
    const type = withoutDialect(op['#']);
    const named = (op.A as PirAttr[] | undefined)?.find((a) => a.N === 'name');
    if (type === 'data' && named) aliases.set(outputsOf(op)[0]!['%'], String(named.AT.D));
    if (type === 'fetch' && named) aliases.set(op.I![0]!['%'], String(named.AT.D));
  }
  const valueName = (id: number) => aliases.get(id) ?? `%${id}`;

  const values = new Map<string, TensorInfo>();
  const parameters: string[] = [];
  const combined = new Map<number, string[]>();
  const producers = new Map<number, { op: PaddleOp; slot: string }>();
  const inputs: string[] = [];
  const outputs: string[] = [];
  let condArgs = 0;

  const declare = (ref: PirValueRef) => {
    const info = tensorInfo(ref.TT);
    if (info) values.set(valueName(ref['%']), info);
  };

  /** The ops of one block, and the operands of its closing `yield` (none in the top block). */
  function parseBlock(blockOps: PirOp[]): { ops: PaddleOp[]; results: string[] } {
    const ops: PaddleOp[] = [];
    let results: string[] = [];
    for (const op of blockOps) {
      const type = withoutDialect(op['#']);
      if (op['#'] === 'p' || type === 'parameter') {
        const name = op['#'] === 'p' ? String(op.A![3]) : String((op.A as PirAttr[]).find((a) => a.N === 'parameter_name')!.AT.D);
        const out = outputsOf(op)[0]!;
        aliases.set(out['%'], name);
        declare(out);
        parameters.push(name);
        continue;
      }
      const operands = (op.I ?? []).map((ref) => {
        if (ref['%'] === 0) return [];
        return combined.get(ref['%']) ?? [valueName(ref['%'])];
      });
      if (type === 'combine') {
        combined.set(outputsOf(op)[0]!['%'], operands.flat());
        continue;
      }
      if (op['#'] === '2.yield') {
        results = operands.flat();
        continue;
      }
      if (op['#'] === '0.split') {
        // unpacks a vector output of the op before it: that op's output becomes the list of parts
        const source = producers.get(op.I![0]!['%']);
        const parts = outputsOf(op).map((ref) => valueName(ref['%']));
        outputsOf(op).forEach(declare);
        if (source) source.op.outputs[source.slot] = parts;
        continue;
      }
      const attrs: Record<string, AttrValue> = {};
      for (const a of (op.A ?? []) as PirAttr[]) if (a.N !== 'struct_name') attrs[a.N] = attrValue(a.AT);
      const parsed: PaddleOp = {
        type,
        inputs: Object.fromEntries(operands.map((names, i) => [String(i), names])),
        outputs: {},
        attrs,
      };
      if (op.regions?.length) {
        const blocks = (op.regions as PirRegion[]).flatMap((r) => r.blocks);
        if (type === 'while' && blocks.length === 1) {
          const args = (blocks[0]!.args ?? []).map((arg) => {
            declare({ '%': arg['#'], TT: arg.TT });
            return valueName(arg['#']);
          });
          // the body reads the condition from no block arg; ONNX Loop still passes it in
          const condArg = `%while_cond_${condArgs++}`;
          values.set(condArg, { dtype: 'bool', shape: [] });
          parsed.blocks = [{ args: [condArg, ...args], ...parseBlock(blocks[0]!.ops) }];
        } else if (type === 'if' && blocks.length === 2) {
          parsed.blocks = blocks.map((b) => ({ args: [], ...parseBlock(b.ops) }));
        } else parsed.hasSubBlocks = true;
      }
      outputsOf(op).forEach((ref, i) => {
        const name = valueName(ref['%']);
        parsed.outputs[String(i)] = [name];
        producers.set(ref['%'], { op: parsed, slot: String(i) });
        declare(ref);
      });
      if (type === 'data') inputs.push(parsed.outputs['0']![0]!);
      else if (type === 'fetch') outputs.push(parsed.inputs['0']![0]!);
      else ops.push(parsed);
    }
    return { ops, results };
  }

  const { ops } = parseBlock(topOps);
  parameters.sort(compareBytes);
  return { format: 'pir', ops, values, inputs, outputs, parameters };
}
