/**
 * A restricted reader for `scaler.pkl`, the joblib dump of a scikit-learn StandardScaler that
 * PaddleTS writes next to a time-series model. PaddleX loads it with `joblib.load`, which runs
 * whatever code a pickle names; this reader instead understands only the opcodes and classes such
 * a file contains and refuses everything else with an error naming the offending opcode or class.
 *
 * Hand-written on purpose: general pickle libraries aim to rebuild arbitrary objects, and joblib
 * puts array bytes (and nested pickles for object arrays) between pickle opcodes, which no pickle
 * parser reads on its own.
 *
 * The format: a protocol-4 pickle of the scaler's `__dict__`; every ndarray in it is a
 * `joblib.numpy_pickle.NumpyArrayWrapper` whose BUILD is followed by the array itself: for numeric
 * dtypes an alignment-padding length byte, that padding and the raw bytes; for object dtypes a
 * separate (protocol-2) pickle of the array.
 */

/** What a StandardScaler's state gives: column names and the transform's per-column numbers. */
export interface StandardScalerState {
  featureNames?: string[];
  withMean: boolean;
  withStd: boolean;
  /** `mean_`, absent when with_mean is false */
  mean?: Float64Array;
  /** `scale_`, absent when with_std is false */
  scale?: Float64Array;
}

export class ScalerFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScalerFormatError';
  }
}

/** A numpy dtype as far as this format needs it. */
class Dtype {
  byteOrder = '|';
  constructor(readonly code: string) {}
  get kind(): string {
    return this.code[0]!;
  }
  get itemSize(): number {
    return Number(this.code.slice(1));
  }
}

/** An ndarray: numeric data as numbers, object data as its Python values. */
class NdArray {
  constructor(
    readonly shape: number[],
    readonly values: unknown[],
  ) {}
}

class Tuple {
  constructor(readonly items: unknown[]) {}
}

/** A class or function the reader knows by name (the only callables a scaler file may reference). */
class KnownGlobal {
  constructor(readonly name: string) {}
}

/** An object made by NEWOBJ of a known class, filled by BUILD. */
class Instance {
  state: Map<string, unknown> | undefined;
  constructor(readonly cls: string) {}
}

/** A `_reconstruct(ndarray, (0,), b'b')` placeholder, filled by BUILD with the array's state. */
class ArrayShell {
  array: NdArray | undefined;
}

const ALLOWED_GLOBALS = new Set([
  'sklearn.preprocessing._data.StandardScaler',
  'joblib.numpy_pickle.NumpyArrayWrapper',
  'numpy.ndarray',
  'numpy.dtype',
  'numpy.core.multiarray._reconstruct',
  'numpy.core.multiarray.scalar',
  'numpy._core.multiarray._reconstruct',
  'numpy._core.multiarray.scalar',
  '_codecs.encode',
]);

const OPCODE_NAMES = new Map<number, string>([
  [0x80, 'PROTO'],
  [0x95, 'FRAME'],
  [0x2e, 'STOP'],
  [0x28, 'MARK'],
  [0x29, 'EMPTY_TUPLE'],
  [0x85, 'TUPLE1'],
  [0x86, 'TUPLE2'],
  [0x87, 'TUPLE3'],
  [0x74, 'TUPLE'],
  [0x7d, 'EMPTY_DICT'],
  [0x73, 'SETITEM'],
  [0x75, 'SETITEMS'],
  [0x5d, 'EMPTY_LIST'],
  [0x61, 'APPEND'],
  [0x65, 'APPENDS'],
  [0x4e, 'NONE'],
  [0x88, 'NEWTRUE'],
  [0x89, 'NEWFALSE'],
  [0x4a, 'BININT'],
  [0x4b, 'BININT1'],
  [0x4d, 'BININT2'],
  [0x47, 'BINFLOAT'],
  [0x8c, 'SHORT_BINUNICODE'],
  [0x58, 'BINUNICODE'],
  [0x43, 'SHORT_BINBYTES'],
  [0x42, 'BINBYTES'],
  [0x94, 'MEMOIZE'],
  [0x71, 'BINPUT'],
  [0x72, 'LONG_BINPUT'],
  [0x68, 'BINGET'],
  [0x6a, 'LONG_BINGET'],
  [0x63, 'GLOBAL'],
  [0x93, 'STACK_GLOBAL'],
  [0x81, 'NEWOBJ'],
  [0x52, 'REDUCE'],
  [0x62, 'BUILD'],
]);

/** Largest scaler file read: a few columns' statistics take well under a kilobyte each. */
const MAX_FILE_BYTES = 16 * 1024 * 1024;
const MARK = Symbol('mark');

class ByteReader {
  pos = 0;
  private readonly view: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  take(n: number): Uint8Array {
    if (n < 0 || this.pos + n > this.bytes.length) throw new ScalerFormatError(`truncated at byte ${this.pos} (needed ${n} more bytes)`);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  u8(): number {
    return this.take(1)[0]!;
  }
  u16(): number {
    return this.view.getUint16(this.advance(2), true);
  }
  u32(): number {
    return this.view.getUint32(this.advance(4), true);
  }
  i32(): number {
    return this.view.getInt32(this.advance(4), true);
  }
  f64be(): number {
    return this.view.getFloat64(this.advance(8), false);
  }
  u64(): number {
    const lo = this.u32();
    const hi = this.u32();
    return hi * 2 ** 32 + lo;
  }
  line(): string {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0) throw new ScalerFormatError(`unterminated text at byte ${this.pos}`);
    const text = new TextDecoder().decode(this.bytes.subarray(this.pos, end));
    this.pos = end + 1;
    return text;
  }
  utf8(n: number): string {
    return new TextDecoder('utf-8', { fatal: true }).decode(this.take(n));
  }
  private advance(n: number): number {
    const at = this.pos;
    this.take(n);
    return at;
  }
}

function numericArray(dtype: Dtype, raw: Uint8Array, count: number): number[] {
  const little = dtype.byteOrder !== '>';
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const size = dtype.itemSize;
  const read: Record<string, (at: number) => number> = {
    f8: (at) => view.getFloat64(at, little),
    f4: (at) => view.getFloat32(at, little),
    i8: (at) => Number(view.getBigInt64(at, little)),
    i4: (at) => view.getInt32(at, little),
    u8: (at) => Number(view.getBigUint64(at, little)),
    b1: (at) => view.getUint8(at),
  };
  const reader = read[dtype.code];
  if (!reader) throw new ScalerFormatError(`array dtype ${dtype.code} is not one a StandardScaler stores`);
  return Array.from({ length: count }, (_, i) => reader(i * size));
}

/** One pickle program, from `reader.pos` to its STOP (the file's, or a joblib object array's nested one), with its own memo. */
function runPickle(reader: ByteReader): unknown {
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  const popMark = (): unknown[] => {
    const at = stack.lastIndexOf(MARK);
    if (at < 0) throw new ScalerFormatError('MARK expected on the stack');
    return stack.splice(at).slice(1);
  };
  const pop = (): unknown => {
    if (stack.length === 0) throw new ScalerFormatError('stack underflow');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) throw new ScalerFormatError('stack underflow');
    return stack[stack.length - 1];
  };
  const asMap = (value: unknown, op: string): Map<unknown, unknown> => {
    if (!(value instanceof Map)) throw new ScalerFormatError(`${op} on something that is not a dict`);
    return value;
  };
  const global = (module: string, name: string): KnownGlobal => {
    const full = `${module}.${name}`;
    if (!ALLOWED_GLOBALS.has(full)) {
      throw new ScalerFormatError(`refuses ${full}: a StandardScaler file references only ${[...ALLOWED_GLOBALS].join(', ')}`);
    }
    return new KnownGlobal(full);
  };

  for (;;) {
    const at = reader.pos;
    const op = reader.u8();
    const opName = OPCODE_NAMES.get(op);
    if (!opName)
      throw new ScalerFormatError(`refuses opcode 0x${op.toString(16).padStart(2, '0')} at byte ${at}: not used by a StandardScaler file`);
    switch (opName) {
      case 'PROTO':
        reader.u8();
        break;
      case 'FRAME':
        reader.u64(); // frames only group opcodes for buffered reading; the content follows inline
        break;
      case 'STOP':
        return pop();
      case 'MARK':
        stack.push(MARK);
        break;
      case 'EMPTY_TUPLE':
        stack.push(new Tuple([]));
        break;
      case 'TUPLE1':
      case 'TUPLE2':
      case 'TUPLE3': {
        const n = Number(opName.slice(5));
        if (stack.length < n) throw new ScalerFormatError('stack underflow');
        stack.push(new Tuple(stack.splice(stack.length - n)));
        break;
      }
      case 'TUPLE':
        stack.push(new Tuple(popMark()));
        break;
      case 'EMPTY_DICT':
        stack.push(new Map());
        break;
      case 'SETITEM': {
        const value = pop();
        const key = pop();
        asMap(top(), opName).set(key, value);
        break;
      }
      case 'SETITEMS': {
        const items = popMark();
        const dict = asMap(top(), opName);
        for (let i = 0; i + 1 < items.length; i += 2) dict.set(items[i], items[i + 1]);
        break;
      }
      case 'EMPTY_LIST':
        stack.push([]);
        break;
      case 'APPEND': {
        const value = pop();
        const list = top();
        if (!Array.isArray(list)) throw new ScalerFormatError('APPEND on something that is not a list');
        list.push(value);
        break;
      }
      case 'APPENDS': {
        const items = popMark();
        const list = top();
        if (!Array.isArray(list)) throw new ScalerFormatError('APPENDS on something that is not a list');
        list.push(...items);
        break;
      }
      case 'NONE':
        stack.push(null);
        break;
      case 'NEWTRUE':
        stack.push(true);
        break;
      case 'NEWFALSE':
        stack.push(false);
        break;
      case 'BININT':
        stack.push(reader.i32());
        break;
      case 'BININT1':
        stack.push(reader.u8());
        break;
      case 'BININT2':
        stack.push(reader.u16());
        break;
      case 'BINFLOAT':
        stack.push(reader.f64be());
        break;
      case 'SHORT_BINUNICODE':
        stack.push(reader.utf8(reader.u8()));
        break;
      case 'BINUNICODE':
        stack.push(reader.utf8(reader.u32()));
        break;
      case 'SHORT_BINBYTES':
        stack.push(reader.take(reader.u8()));
        break;
      case 'BINBYTES':
        stack.push(reader.take(reader.u32()));
        break;
      case 'MEMOIZE':
        memo.set(memo.size, top());
        break;
      case 'BINPUT':
        memo.set(reader.u8(), top());
        break;
      case 'LONG_BINPUT':
        memo.set(reader.u32(), top());
        break;
      case 'BINGET':
      case 'LONG_BINGET': {
        const key = opName === 'BINGET' ? reader.u8() : reader.u32();
        if (!memo.has(key)) throw new ScalerFormatError(`memo entry ${key} read before it was stored (byte ${at})`);
        stack.push(memo.get(key));
        break;
      }
      case 'GLOBAL': {
        const module = reader.line();
        stack.push(global(module, reader.line()));
        break;
      }
      case 'STACK_GLOBAL': {
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw new ScalerFormatError('STACK_GLOBAL needs two strings');
        stack.push(global(module, name));
        break;
      }
      case 'NEWOBJ': {
        const args = pop();
        const cls = pop();
        const creatable = ['sklearn.preprocessing._data.StandardScaler', 'joblib.numpy_pickle.NumpyArrayWrapper'];
        if (!(cls instanceof KnownGlobal) || !creatable.includes(cls.name) || !(args instanceof Tuple) || args.items.length) {
          throw new ScalerFormatError(`NEWOBJ at byte ${at}: only ${creatable.join(' and ')} are created, without arguments`);
        }
        stack.push(new Instance(cls.name));
        break;
      }
      case 'REDUCE': {
        const args = pop();
        const fn = pop();
        if (!(fn instanceof KnownGlobal) || !(args instanceof Tuple)) throw new ScalerFormatError(`REDUCE at byte ${at}: not a known call`);
        stack.push(reduce(fn.name, args.items));
        break;
      }
      case 'BUILD': {
        const state = pop();
        const target = top();
        build(target, state);
        if (target instanceof Instance && target.cls === 'joblib.numpy_pickle.NumpyArrayWrapper') {
          stack[stack.length - 1] = readWrappedArray(target, reader);
        }
        break;
      }
    }
  }
}

function reduce(fn: string, args: unknown[]): unknown {
  if (fn === 'numpy.dtype') {
    const [code] = args;
    if (typeof code !== 'string' || !/^[fiubO]\d+$/.test(code))
      throw new ScalerFormatError(`numpy.dtype(${String(code)}) is not supported`);
    return new Dtype(code);
  }
  if (fn.endsWith('multiarray._reconstruct')) {
    const [cls] = args;
    if (!(cls instanceof KnownGlobal) || cls.name !== 'numpy.ndarray')
      throw new ScalerFormatError('_reconstruct of something other than numpy.ndarray');
    return new ArrayShell();
  }
  if (fn.endsWith('multiarray.scalar')) {
    const [dtype, raw] = args;
    if (!(dtype instanceof Dtype) || !(raw instanceof Uint8Array) || raw.length !== dtype.itemSize) {
      throw new ScalerFormatError('numpy scalar without a dtype and its bytes');
    }
    return numericArray(dtype, raw, 1)[0];
  }
  if (fn === '_codecs.encode') {
    const [text, encoding] = args;
    if (typeof text !== 'string' || encoding !== 'latin1') throw new ScalerFormatError('_codecs.encode other than latin1 text');
    return Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
  }
  throw new ScalerFormatError(`${fn} cannot be called`);
}

function build(target: unknown, state: unknown): void {
  if (target instanceof Instance) {
    if (!(state instanceof Map) || target.state) throw new ScalerFormatError(`BUILD of ${target.cls} needs one dict of attributes`);
    target.state = state as Map<string, unknown>;
  } else if (target instanceof Dtype) {
    // (version, byte order, subarray, names, fields, elsize, alignment, flags)
    const order = state instanceof Tuple ? state.items[1] : undefined;
    if (typeof order !== 'string' || !['<', '>', '|', '='].includes(order)) throw new ScalerFormatError('dtype state without a byte order');
    target.byteOrder = order;
  } else if (target instanceof ArrayShell) {
    // (version, shape, dtype, is_fortran, data)
    const items = state instanceof Tuple ? state.items : [];
    const [, shape, dtype, , data] = items;
    const dims = shape instanceof Tuple ? shape.items : undefined;
    if (!dims?.every((d) => typeof d === 'number') || !(dtype instanceof Dtype))
      throw new ScalerFormatError('ndarray state not understood');
    const count = (dims as number[]).reduce((a, b) => a * b, 1);
    const values =
      dtype.kind === 'O'
        ? Array.isArray(data)
          ? data
          : undefined
        : data instanceof Uint8Array
          ? numericArray(dtype, data, count)
          : undefined;
    if (!values || values.length !== count) throw new ScalerFormatError('ndarray data does not match its shape');
    target.array = new NdArray(dims as number[], values);
  } else {
    throw new ScalerFormatError('BUILD of an object this reader does not know');
  }
}

/** joblib's NumpyArrayWrapper.read_array: the array stored right after the wrapper's BUILD. */
function readWrappedArray(wrapper: Instance, reader: ByteReader): NdArray {
  const state = wrapper.state!;
  const shape = state.get('shape');
  const dtype = state.get('dtype');
  const dims = shape instanceof Tuple ? shape.items : undefined;
  if (!dims?.every((d) => typeof d === 'number' && d >= 0) || !(dtype instanceof Dtype)) {
    throw new ScalerFormatError('NumpyArrayWrapper without a shape and dtype');
  }
  const count = (dims as number[]).reduce((a, b) => a * b, 1);
  if (dtype.kind === 'O') {
    const nested = runPickle(reader);
    const array = nested instanceof ArrayShell ? nested.array : undefined;
    if (!array || array.values.length !== count) throw new ScalerFormatError('object array does not match its wrapper');
    return array;
  }
  if (state.get('numpy_array_alignment_bytes') != null) reader.take(reader.u8());
  if (count * dtype.itemSize > reader.bytes.length) throw new ScalerFormatError('array larger than the file');
  return new NdArray(dims as number[], numericArray(dtype, reader.take(count * dtype.itemSize), count));
}

function floats(value: unknown, name: string, columns: number): Float64Array {
  if (!(value instanceof NdArray) || value.shape.length !== 1 || value.values.length !== columns) {
    throw new ScalerFormatError(`${name} is not a vector of ${columns} numbers`);
  }
  return Float64Array.from(value.values as number[]);
}

/** Reads a joblib-dumped StandardScaler; any other content raises ScalerFormatError. */
export function readStandardScalerPickle(bytes: Uint8Array): StandardScalerState {
  if (bytes.length > MAX_FILE_BYTES) throw new ScalerFormatError(`${bytes.length} bytes is too large for a scaler file`);
  const reader = new ByteReader(bytes);
  const scaler = runPickle(reader);
  if (reader.pos !== bytes.length) throw new ScalerFormatError(`unexpected data after the pickle (byte ${reader.pos})`);
  if (!(scaler instanceof Instance) || scaler.cls !== 'sklearn.preprocessing._data.StandardScaler' || !scaler.state) {
    throw new ScalerFormatError('the file does not hold a StandardScaler');
  }
  const state = scaler.state;
  const withMean = state.get('with_mean') !== false;
  const withStd = state.get('with_std') !== false;
  const columns = state.get('n_features_in_');
  if (typeof columns !== 'number' || columns < 1) throw new ScalerFormatError('n_features_in_ missing');
  const names = state.get('feature_names_in_');
  const featureNames = names instanceof NdArray ? names.values.map(String) : undefined;
  return {
    featureNames,
    withMean,
    withStd,
    mean: withMean ? floats(state.get('mean_'), 'mean_', columns) : undefined,
    scale: withStd ? floats(state.get('scale_'), 'scale_', columns) : undefined,
  };
}
