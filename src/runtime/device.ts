/**
 * `--device` and whether a GPU can be used, decided without loading onnxruntime: the HTTP process
 * never loads the native runtime, only the inference workers do.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
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

/**
 * onnxruntime-node's CUDA add-on is a provider library installed beside its binding
 * (`npm rebuild onnxruntime-node --onnxruntime-node-install=true`); the CPU-only package lacks it.
 */
export function cudaInstalled(): boolean {
  const packageDir = path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
  return existsSync(path.join(packageDir, 'bin', 'napi-v6', process.platform, process.arch, 'libonnxruntime_providers_cuda.so'));
}
