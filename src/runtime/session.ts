import ort from 'onnxruntime-node';
import { ConfigError } from '../errors.js';

/** `cpu`, `gpu` or `gpu:N`, as PaddleX's `--device`. */
export interface DeviceSpec {
  kind: 'cpu' | 'gpu';
  id: number;
}

export function parseDevice(device: string): DeviceSpec {
  const m = /^(cpu|gpu)(?::(\d+))?$/.exec(device.trim());
  if (!m) throw new ConfigError(`--device ${device}: expected cpu, gpu or gpu:N`);
  return { kind: m[1] as 'cpu' | 'gpu', id: m[2] ? Number(m[2]) : 0 };
}

export function formatDevice(d: DeviceSpec): string {
  return d.kind === 'cpu' ? 'cpu' : `gpu:${d.id}`;
}

/** onnxruntime-node lists 'cuda' with bundled=false unless its CUDA add-on was installed. */
export function cudaInstalled(): boolean {
  return ort.listSupportedBackends().some((b) => b.name === 'cuda' && b.bundled !== false);
}

export interface SessionOptions {
  device: DeviceSpec;
  intraOpThreads: number;
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
