/**
 * One in-memory form for both Paddle program formats (PIR JSON and ProgramDesc), so one converter
 * serves both. Values are named by string: ProgramDesc variable names, or `%<id>` for PIR values.
 */

/** Element types by Paddle's VarType enum number (ProgramDesc, TensorDesc in .pdiparams). */
export type ElementType = 'bool' | 'int8' | 'uint8' | 'int16' | 'int32' | 'int64' | 'float16' | 'bfloat16' | 'float32' | 'float64';

export const PADDLE_DTYPE_CODES: Record<number, ElementType> = {
  0: 'bool',
  1: 'int16',
  2: 'int32',
  3: 'int64',
  4: 'float16',
  5: 'float32',
  6: 'float64',
  20: 'uint8',
  21: 'int8',
  22: 'bfloat16',
};

export const ELEMENT_BYTES: Record<ElementType, number> = {
  bool: 1,
  int8: 1,
  uint8: 1,
  int16: 2,
  int32: 4,
  int64: 8,
  float16: 2,
  bfloat16: 2,
  float32: 4,
  float64: 8,
};

export interface TensorInfo {
  dtype: ElementType;
  /** -1 = dynamic */
  shape: number[];
}

export type AttrValue = number | string | boolean | AttrValue[] | null;

export interface PaddleOp {
  /** op name without dialect: `conv2d`, `batch_norm_`, `elementwise_add`, `combine` … */
  type: string;
  /**
   * ProgramDesc: slot name → variable names (`Input`, `Filter` …).
   * PIR: operand position (`0`, `1` …) → value names (several when the operand is a `combine`d list, none when null).
   */
  inputs: Record<string, string[]>;
  outputs: Record<string, string[]>;
  attrs: Record<string, AttrValue>;
  /**
   * Bodies of the control-flow ops the converter maps, in one form for both formats:
   * `while` has one block whose args are [condition, ...loop-carried values] and whose results are
   * the next [condition, ...values]; `if` has a then and an else block, no args, results = its outputs.
   */
  blocks?: PaddleBlock[];
  /** sub-blocks the readers could not put in that form (e.g. ProgramDesc `conditional_block`); the converter rejects them */
  hasSubBlocks?: boolean;
}

export interface PaddleBlock {
  args: string[];
  ops: PaddleOp[];
  results: string[];
}

/** Every op of the program, nested bodies included. */
export function* allOps(ops: PaddleOp[]): Generator<PaddleOp> {
  for (const op of ops) {
    yield op;
    for (const block of op.blocks ?? []) yield* allOps(block.ops);
  }
}

export interface PaddleProgram {
  format: 'pir' | 'programDesc';
  ops: PaddleOp[];
  /** declared type of every value the program names */
  values: Map<string, TensorInfo>;
  /** model inputs in feed order */
  inputs: string[];
  /** model outputs in fetch order */
  outputs: string[];
  /** persistable tensors, in the order their data is stored in `.pdiparams` (sorted by name) */
  parameters: string[];
}

export function numel(shape: number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

/** Byte-order comparison, as C++ std::map<std::string> orders the parameter names Paddle saves. */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
