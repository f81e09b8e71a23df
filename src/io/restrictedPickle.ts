/**
 * A restricted Python pickle reader for the few pickles PaddleX reads next to a model or inside an
 * input: PaddleTS's `scaler.pkl` (a joblib dump of a StandardScaler) and the nuScenes-style
 * `nuscenes_infos_val.pkl` of a 3D BEV sample. Python's `pickle.load` runs whatever code a pickle
 * names; this reader runs no code. It knows the opcodes such files use (protocols 2 to 5, in-band
 * data only), builds dicts, lists, tuples, strings, numbers, bytes and numpy arrays itself, and
 * accepts only the globals its caller's profile lists; anything else is refused with an error
 * naming the opcode or global.
 *
 * Hand-written on purpose: the npm pickle libraries aim to rebuild arbitrary objects (or run the
 * classes they are given), and none understands numpy's array reconstruction without a callback per
 * class, which is exactly what must not be open-ended here.
 */

export class PickleFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PickleFormatError';
  }
}

/** A numpy dtype as far as these files need it: kind, item size and byte order. */
export class Dtype {
  byteOrder = '|';
  constructor(readonly code: string) {}
  get kind(): string {
    return this.code[0]!;
  }
  /** bytes per element (numpy's `U<n>` stores n UCS-4 characters) */
  get itemSize(): number {
    const n = Number(this.code.slice(1));
    return this.kind === 'U' ? 4 * n : n;
  }
}

/** A numpy array: numbers for numeric dtypes, strings for `U`/`S`, Python values for object arrays; C order. */
export class NdArray {
  constructor(
    readonly shape: number[],
    readonly dtype: string,
    readonly values: unknown[],
  ) {}
}

export class Tuple {
  constructor(readonly items: unknown[]) {}
}

/** A global (class or function) the profile allows, by its `module.name`. */
export class KnownGlobal {
  constructor(readonly name: string) {}
}

/** An object NEWOBJ made of an allowed class, its attributes set by BUILD. */
export class Instance {
  state: Map<string, unknown> | undefined;
  constructor(readonly cls: string) {}
}

/** A `_reconstruct(ndarray, (0,), b'b')` placeholder, filled by BUILD with the array's state. */
class ArrayShell {
  array: NdArray | undefined;
}

/** What a caller lets a pickle contain beyond plain data. */
export interface PickleProfile {
  /** what the file should be, for messages ("a StandardScaler file") */
  what: string;
  /** `module.name` of every global the file may reference */
  globals: ReadonlySet<string>;
  /** classes NEWOBJ may create (without arguments), a subset of `globals` */
  creatable?: ReadonlySet<string>;
  /** called after BUILD of an Instance; its return value replaces the instance (joblib's arrays follow their wrapper inline) */
  afterBuild?(instance: Instance, stream: PickleStream): unknown;
}

/** numpy's reconstruction functions, under both the numpy 1.x and 2.x module names. */
export const NUMPY_GLOBALS: ReadonlySet<string> = new Set([
  'numpy.ndarray',
  'numpy.dtype',
  'numpy.core.multiarray._reconstruct',
  'numpy.core.multiarray.scalar',
  'numpy.core.numeric._frombuffer',
  'numpy._core.multiarray._reconstruct',
  'numpy._core.multiarray.scalar',
  'numpy._core.numeric._frombuffer',
  // protocol 2 writes bytes as _codecs.encode(latin-1 text)
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
  [0x8a, 'LONG1'],
  [0x47, 'BINFLOAT'],
  [0x8c, 'SHORT_BINUNICODE'],
  [0x58, 'BINUNICODE'],
  [0x8d, 'BINUNICODE8'],
  [0x43, 'SHORT_BINBYTES'],
  [0x42, 'BINBYTES'],
  [0x8e, 'BINBYTES8'],
  [0x96, 'BYTEARRAY8'],
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

const MARK = Symbol('mark');

/** The bytes of a pickle being read, for the profile's hooks (joblib stores array bytes between opcodes). */
export class PickleStream {
  pos = 0;
  private readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    readonly profile: PickleProfile,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  take(n: number): Uint8Array {
    if (n < 0 || this.pos + n > this.bytes.length) throw new PickleFormatError(`truncated at byte ${this.pos} (needed ${n} more bytes)`);
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
    if (end < 0) throw new PickleFormatError(`unterminated text at byte ${this.pos}`);
    const text = new TextDecoder().decode(this.bytes.subarray(this.pos, end));
    this.pos = end + 1;
    return text;
  }
  utf8(n: number): string {
    return new TextDecoder('utf-8', { fatal: true }).decode(this.take(n));
  }
  /** A further pickle program from here to its STOP, with its own stack and memo (joblib's object arrays). */
  nested(): unknown {
    return runPickle(this);
  }
  private advance(n: number): number {
    const at = this.pos;
    this.take(n);
    return at;
  }
}

function elementCount(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** `count` elements of `dtype` from raw bytes; refuses data shorter than the shape claims before allocating anything. */
export function typedValues(dtype: Dtype, raw: Uint8Array, count: number): unknown[] {
  const size = dtype.itemSize;
  if (raw.length < count * size) throw new PickleFormatError(`array data of ${raw.length} bytes is shorter than ${count} × ${dtype.code}`);
  const little = dtype.byteOrder !== '>';
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  if (dtype.kind === 'U' || dtype.kind === 'S') {
    return Array.from({ length: count }, (_, i) => {
      let text = '';
      if (dtype.kind === 'S') {
        for (let k = 0; k < size; k++) {
          const c = raw[i * size + k]!;
          if (c === 0) break;
          text += String.fromCharCode(c);
        }
        return text;
      }
      for (let k = 0; k < size; k += 4) {
        const c = view.getUint32(i * size + k, little);
        if (c === 0) break;
        text += String.fromCodePoint(c);
      }
      return text;
    });
  }
  const read: Record<string, (at: number) => number> = {
    f8: (at) => view.getFloat64(at, little),
    f4: (at) => view.getFloat32(at, little),
    i8: (at) => Number(view.getBigInt64(at, little)),
    i4: (at) => view.getInt32(at, little),
    i2: (at) => view.getInt16(at, little),
    i1: (at) => view.getInt8(at),
    u8: (at) => Number(view.getBigUint64(at, little)),
    u4: (at) => view.getUint32(at, little),
    u2: (at) => view.getUint16(at, little),
    u1: (at) => view.getUint8(at),
    b1: (at) => view.getUint8(at),
  };
  const reader = read[dtype.code];
  if (!reader) throw new PickleFormatError(`array dtype ${dtype.code} is not supported`);
  return Array.from({ length: count }, (_, i) => reader(i * size));
}

/** Fortran-ordered data (numpy's `is_fortran`) in C order. */
function fortranToC(values: unknown[], shape: number[]): unknown[] {
  if (shape.length < 2) return values;
  const out = new Array<unknown>(values.length);
  const index = new Array<number>(shape.length).fill(0);
  for (let c = 0; c < values.length; c++) {
    let f = 0;
    let stride = 1;
    for (let d = 0; d < shape.length; d++) {
      f += index[d]! * stride;
      stride *= shape[d]!;
    }
    out[c] = values[f];
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++index[d]! < shape[d]!) break;
      index[d] = 0;
    }
  }
  return out;
}

function shapeOf(value: unknown, what: string): number[] {
  const dims = value instanceof Tuple ? value.items : undefined;
  if (!dims?.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) throw new PickleFormatError(`${what}: shape not understood`);
  return dims as number[];
}

/** LONG1's little-endian two's complement integer, refused beyond 2^53 (no such value in these files). */
function long1(bytes: Uint8Array): number {
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]!);
  if (bytes.length && bytes[bytes.length - 1]! & 0x80) value -= 1n << BigInt(8 * bytes.length);
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER))
    throw new PickleFormatError(`integer ${value} is too large`);
  return Number(value);
}

/** One pickle program, from `stream.pos` to its STOP, with its own stack and memo. */
function runPickle(stream: PickleStream): unknown {
  const { profile } = stream;
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  const popMark = (): unknown[] => {
    const at = stack.lastIndexOf(MARK);
    if (at < 0) throw new PickleFormatError('MARK expected on the stack');
    return stack.splice(at).slice(1);
  };
  const pop = (): unknown => {
    if (stack.length === 0) throw new PickleFormatError('stack underflow');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) throw new PickleFormatError('stack underflow');
    return stack[stack.length - 1];
  };
  const asMap = (value: unknown, op: string): Map<unknown, unknown> => {
    if (!(value instanceof Map)) throw new PickleFormatError(`${op} on something that is not a dict`);
    return value;
  };
  const global = (module: string, name: string): KnownGlobal => {
    const full = `${module}.${name}`;
    if (!profile.globals.has(full)) {
      throw new PickleFormatError(`refuses ${full}: ${profile.what} references only ${[...profile.globals].join(', ')}`);
    }
    return new KnownGlobal(full);
  };

  for (;;) {
    const at = stream.pos;
    const op = stream.u8();
    const opName = OPCODE_NAMES.get(op);
    if (!opName)
      throw new PickleFormatError(`refuses opcode 0x${op.toString(16).padStart(2, '0')} at byte ${at}: not used by ${profile.what}`);
    switch (opName) {
      case 'PROTO':
        stream.u8();
        break;
      case 'FRAME':
        stream.u64(); // frames only group opcodes for buffered reading; the content follows inline
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
        if (stack.length < n) throw new PickleFormatError('stack underflow');
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
        if (!Array.isArray(list)) throw new PickleFormatError('APPEND on something that is not a list');
        list.push(value);
        break;
      }
      case 'APPENDS': {
        const items = popMark();
        const list = top();
        if (!Array.isArray(list)) throw new PickleFormatError('APPENDS on something that is not a list');
        for (const item of items) list.push(item);
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
        stack.push(stream.i32());
        break;
      case 'BININT1':
        stack.push(stream.u8());
        break;
      case 'BININT2':
        stack.push(stream.u16());
        break;
      case 'LONG1':
        stack.push(long1(stream.take(stream.u8())));
        break;
      case 'BINFLOAT':
        stack.push(stream.f64be());
        break;
      case 'SHORT_BINUNICODE':
        stack.push(stream.utf8(stream.u8()));
        break;
      case 'BINUNICODE':
        stack.push(stream.utf8(stream.u32()));
        break;
      case 'BINUNICODE8':
        stack.push(stream.utf8(stream.u64()));
        break;
      case 'SHORT_BINBYTES':
        stack.push(stream.take(stream.u8()));
        break;
      case 'BINBYTES':
        stack.push(stream.take(stream.u32()));
        break;
      case 'BINBYTES8':
      case 'BYTEARRAY8':
        stack.push(stream.take(stream.u64()));
        break;
      case 'MEMOIZE':
        memo.set(memo.size, top());
        break;
      case 'BINPUT':
        memo.set(stream.u8(), top());
        break;
      case 'LONG_BINPUT':
        memo.set(stream.u32(), top());
        break;
      case 'BINGET':
      case 'LONG_BINGET': {
        const key = opName === 'BINGET' ? stream.u8() : stream.u32();
        if (!memo.has(key)) throw new PickleFormatError(`memo entry ${key} read before it was stored (byte ${at})`);
        const value = memo.get(key);
        // an array memoized as its reconstruction placeholder is referenced as the array BUILD made of it
        stack.push(value instanceof ArrayShell && value.array ? value.array : value);
        break;
      }
      case 'GLOBAL': {
        const module = stream.line();
        stack.push(global(module, stream.line()));
        break;
      }
      case 'STACK_GLOBAL': {
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw new PickleFormatError('STACK_GLOBAL needs two strings');
        stack.push(global(module, name));
        break;
      }
      case 'NEWOBJ': {
        const args = pop();
        const cls = pop();
        const creatable = profile.creatable ?? new Set<string>();
        if (!(cls instanceof KnownGlobal) || !creatable.has(cls.name) || !(args instanceof Tuple) || args.items.length) {
          throw new PickleFormatError(
            `NEWOBJ at byte ${at}: ${creatable.size ? `only ${[...creatable].join(' and ')} are created, without arguments` : `${profile.what} creates no objects`}`,
          );
        }
        stack.push(new Instance(cls.name));
        break;
      }
      case 'REDUCE': {
        const args = pop();
        const fn = pop();
        if (!(fn instanceof KnownGlobal) || !(args instanceof Tuple)) throw new PickleFormatError(`REDUCE at byte ${at}: not a known call`);
        stack.push(reduce(fn.name, args.items));
        break;
      }
      case 'BUILD': {
        const state = pop();
        const target = top();
        build(target, state);
        if (target instanceof ArrayShell) stack[stack.length - 1] = target.array;
        else if (target instanceof Instance && profile.afterBuild) stack[stack.length - 1] = profile.afterBuild(target, stream);
        break;
      }
    }
  }
}

function reduce(fn: string, args: unknown[]): unknown {
  if (fn === 'numpy.dtype') {
    const [code] = args;
    if (typeof code !== 'string' || !/^[fiubUSO]\d+$/.test(code))
      throw new PickleFormatError(`numpy.dtype(${String(code)}) is not supported`);
    return new Dtype(code);
  }
  if (fn.endsWith('multiarray._reconstruct')) {
    const [cls] = args;
    if (!(cls instanceof KnownGlobal) || cls.name !== 'numpy.ndarray')
      throw new PickleFormatError('_reconstruct of something other than numpy.ndarray');
    return new ArrayShell();
  }
  if (fn.endsWith('multiarray.scalar')) {
    const [dtype, raw] = args;
    if (!(dtype instanceof Dtype) || !(raw instanceof Uint8Array) || raw.length !== dtype.itemSize) {
      throw new PickleFormatError('numpy scalar without a dtype and its bytes');
    }
    return typedValues(dtype, raw, 1)[0];
  }
  if (fn.endsWith('numeric._frombuffer')) {
    // protocol 5: _frombuffer(buffer, dtype, shape, order)
    const [raw, dtype, shape, order] = args;
    if (!(raw instanceof Uint8Array) || !(dtype instanceof Dtype) || dtype.kind === 'O') {
      throw new PickleFormatError('_frombuffer without bytes and a numeric dtype');
    }
    const dims = shapeOf(shape, '_frombuffer');
    const values = typedValues(dtype, raw, elementCount(dims));
    return new NdArray(dims, dtype.code, order === 'F' ? fortranToC(values, dims) : values);
  }
  if (fn === '_codecs.encode') {
    const [text, encoding] = args;
    if (typeof text !== 'string' || encoding !== 'latin1') throw new PickleFormatError('_codecs.encode other than latin1 text');
    return Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
  }
  throw new PickleFormatError(`${fn} cannot be called`);
}

function build(target: unknown, state: unknown): void {
  if (target instanceof Instance) {
    if (!(state instanceof Map) || target.state) throw new PickleFormatError(`BUILD of ${target.cls} needs one dict of attributes`);
    target.state = state as Map<string, unknown>;
  } else if (target instanceof Dtype) {
    // (version, byte order, subarray, names, fields, elsize, alignment, flags)
    const order = state instanceof Tuple ? state.items[1] : undefined;
    if (typeof order !== 'string' || !['<', '>', '|', '='].includes(order)) throw new PickleFormatError('dtype state without a byte order');
    target.byteOrder = order;
  } else if (target instanceof ArrayShell) {
    // (version, shape, dtype, is_fortran, data)
    const items = state instanceof Tuple ? state.items : [];
    const [, shape, dtype, fortran, data] = items;
    const dims = shapeOf(shape, 'ndarray');
    if (!(dtype instanceof Dtype)) throw new PickleFormatError('ndarray state without a dtype');
    const count = elementCount(dims);
    const values =
      dtype.kind === 'O'
        ? Array.isArray(data)
          ? data
          : undefined
        : data instanceof Uint8Array
          ? typedValues(dtype, data, count)
          : undefined;
    if (!values || values.length !== count) throw new PickleFormatError('ndarray data does not match its shape');
    target.array = new NdArray(dims, dtype.code, fortran === true ? fortranToC(values, dims) : values);
  } else {
    throw new PickleFormatError('BUILD of an object this reader does not know');
  }
}

/** Reads one pickle that must fill `bytes` exactly; anything outside `profile` raises PickleFormatError. */
export function readPickle(bytes: Uint8Array, profile: PickleProfile): unknown {
  const stream = new PickleStream(bytes, profile);
  const value = runPickle(stream);
  if (stream.pos !== bytes.length) throw new PickleFormatError(`unexpected data after the pickle (byte ${stream.pos})`);
  return value;
}
