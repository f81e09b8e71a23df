/**
 * `scaler.pkl`, the joblib dump of a scikit-learn StandardScaler that PaddleTS writes next to a
 * time-series model. PaddleX loads it with `joblib.load`, which runs whatever code a pickle names;
 * this reads it with the restricted pickle reader (src/io/restrictedPickle.ts), allowing only the
 * scaler's class, joblib's array wrapper and numpy's array reconstruction.
 *
 * The format: a protocol-4 pickle of the scaler's `__dict__`; every ndarray in it is a
 * `joblib.numpy_pickle.NumpyArrayWrapper` whose BUILD is followed by the array itself: for numeric
 * dtypes an alignment-padding length byte, that padding and the raw bytes; for object dtypes a
 * separate (protocol-2) pickle of the array.
 */
import {
  Dtype,
  Instance,
  NdArray,
  NUMPY_GLOBALS,
  PickleFormatError,
  type PickleProfile,
  type PickleStream,
  readPickle,
  Tuple,
  typedValues,
} from './restrictedPickle.js';

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

const STANDARD_SCALER = 'sklearn.preprocessing._data.StandardScaler';
const ARRAY_WRAPPER = 'joblib.numpy_pickle.NumpyArrayWrapper';

/** Largest scaler file read: a few columns' statistics take well under a kilobyte each. */
const MAX_FILE_BYTES = 16 * 1024 * 1024;

/** joblib's NumpyArrayWrapper.read_array: the array stored right after the wrapper's BUILD. */
function readWrappedArray(wrapper: Instance, stream: PickleStream): unknown {
  if (wrapper.cls !== ARRAY_WRAPPER) return wrapper;
  const state = wrapper.state!;
  const shape = state.get('shape');
  const dtype = state.get('dtype');
  const dims = shape instanceof Tuple ? shape.items : undefined;
  if (!dims?.every((d) => Number.isSafeInteger(d) && (d as number) >= 0) || !(dtype instanceof Dtype)) {
    throw new PickleFormatError('NumpyArrayWrapper without a shape and dtype');
  }
  const count = (dims as number[]).reduce((a, b) => a * b, 1);
  if (dtype.kind === 'O') {
    const nested = stream.nested();
    if (!(nested instanceof NdArray) || nested.values.length !== count)
      throw new PickleFormatError('object array does not match its wrapper');
    return nested;
  }
  if (state.get('numpy_array_alignment_bytes') != null) stream.take(stream.u8());
  return new NdArray(dims as number[], dtype.code, typedValues(dtype, stream.take(count * dtype.itemSize), count));
}

const SCALER_PROFILE: PickleProfile = {
  what: 'a StandardScaler file',
  globals: new Set([STANDARD_SCALER, ARRAY_WRAPPER, ...NUMPY_GLOBALS]),
  creatable: new Set([STANDARD_SCALER, ARRAY_WRAPPER]),
  afterBuild: readWrappedArray,
};

function floats(value: unknown, name: string, columns: number): Float64Array {
  if (!(value instanceof NdArray) || value.shape.length !== 1 || value.values.length !== columns) {
    throw new PickleFormatError(`${name} is not a vector of ${columns} numbers`);
  }
  return Float64Array.from(value.values as number[]);
}

/** Reads a joblib-dumped StandardScaler; any other content raises PickleFormatError. */
export function readStandardScalerPickle(bytes: Uint8Array): StandardScalerState {
  if (bytes.length > MAX_FILE_BYTES) throw new PickleFormatError(`${bytes.length} bytes is too large for a scaler file`);
  const scaler = readPickle(bytes, SCALER_PROFILE);
  if (!(scaler instanceof Instance) || scaler.cls !== STANDARD_SCALER || !scaler.state) {
    throw new PickleFormatError('the file does not hold a StandardScaler');
  }
  const state = scaler.state;
  const withMean = state.get('with_mean') !== false;
  const withStd = state.get('with_std') !== false;
  const columns = state.get('n_features_in_');
  if (typeof columns !== 'number' || columns < 1) throw new PickleFormatError('n_features_in_ missing');
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
