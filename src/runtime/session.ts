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
