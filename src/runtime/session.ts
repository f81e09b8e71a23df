import ort from 'onnxruntime-node';
import { ConfigError } from '../errors.js';
import { type DeviceSpec, formatDevice } from './device.js';

export interface SessionOptions {
  device: DeviceSpec;
  intraOpThreads: number;
  /**
   * false: idle intra-op threads sleep instead of spin-waiting for the next op. For a session that
   * may run while other instances also compute, where a spinning thread would take their core.
   */
  spinWait?: boolean;
}

export function sessionOptions(opts: SessionOptions): ort.InferenceSession.SessionOptions {
  const executionProviders: ort.InferenceSession.SessionOptions['executionProviders'] =
    opts.device.kind === 'gpu' ? [{ name: 'cuda', deviceId: opts.device.id }, 'cpu'] : ['cpu'];
  return {
    executionProviders,
    intraOpNumThreads: opts.intraOpThreads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    // errors only: PaddleDetection exports (PicoDet) would print hundreds of harmless
    // "Initializer ... appears in graph inputs" warnings at every load
    logSeverityLevel: 3,
    ...(opts.spinWait === false ? { extra: { session: { intra_op: { allow_spinning: '0' } } } } : {}),
  };
}

export async function createSession(onnxPath: string, opts: SessionOptions): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(onnxPath, sessionOptions(opts));
  } catch (err) {
    throw new ConfigError(`Cannot load ${onnxPath} on ${formatDevice(opts.device)}: ${(err as Error).message}`);
  }
}

export { ort };

type Feeds = ort.InferenceSession.FeedsType;

/**
 * `session`, except that a batch runs one sample at a time and the outputs are stacked again, for a
 * model whose samples are independent (every output's first dimension is the batch). On one thread
 * this gives the same numbers, bit for bit, sooner: a sample's activations stay in the CPU's caches,
 * where a whole batch's do not (PP-OCRv4 recognition, 6 lines 640 px wide, one thread: 195 ms
 * against 236 ms as one call). Calls with fetches or run options, and single samples, pass through.
 */
export function sampleBySample(session: ort.InferenceSession): ort.InferenceSession {
  const run = async (...args: unknown[]) => {
    const feeds = args[0] as Feeds;
    const tensors = Object.entries(feeds);
    const batch = tensors[0]?.[1].dims[0] ?? 1;
    if (args.length > 1 || batch <= 1 || tensors.some(([, t]) => t.dims[0] !== batch || t.type === 'string')) {
      return Reflect.apply(session.run, session, args) as Promise<ort.InferenceSession.ReturnType>;
    }
    const parts: ort.InferenceSession.ReturnType[] = [];
    for (let i = 0; i < batch; i++) {
      const sample: Record<string, ort.Tensor> = {};
      for (const [name, t] of tensors) {
        const size = t.size / batch;
        sample[name] = new ort.Tensor(t.type, (t.data as Float32Array).subarray(i * size, (i + 1) * size), [1, ...t.dims.slice(1)]);
      }
      parts.push(await session.run(sample));
    }
    return Object.fromEntries(session.outputNames.map((name) => [name, stackSamples(parts.map((p) => p[name]!))]));
  };
  return withRun(session, run);
}

/** `session` with its `run` replaced by `run` (everything else, names and metadata, is the session's). */
export function withRun(session: ort.InferenceSession, run: (...args: unknown[]) => unknown): ort.InferenceSession {
  return new Proxy(session, { get: (target, key, receiver) => (key === 'run' ? run : Reflect.get(target, key, receiver)) });
}

/** `[1, ...]` tensors of one type and shape, stacked into `[N, ...]`. */
function stackSamples(samples: ort.Tensor[]): ort.Tensor {
  const first = samples[0]!;
  // the samples' own array type (float32 for every model that asks for this, but nothing here assumes it)
  const TypedArray = (first.data as Float32Array).constructor as Float32ArrayConstructor;
  const data = new TypedArray(first.size * samples.length);
  samples.forEach((s, i) => data.set(s.data as Float32Array, i * first.size));
  return new ort.Tensor(first.type, data, [samples.length, ...first.dims.slice(1)]);
}
