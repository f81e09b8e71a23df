import type { RgbImage } from '../io/image.js';

export interface NormalizeSpec {
  /** multiplied first (PaddleX: `scale`, usually 1/255) */
  scale: number;
  /** per channel, in the order of `channelOrder` */
  mean: readonly number[];
  std: readonly number[];
  /** channel order the model was trained on: PaddleClas/PaddleDetection read RGB, PaddleOCR reads BGR */
  channelOrder: 'rgb' | 'bgr';
}

/**
 * (pixel * scale - mean) / std, written planar (CHW) into `out` at `offset`; `out` may be a whole
 * NCHW batch. Hand-written: it fuses normalize + HWC→CHW + channel swap in one pass over the pixels.
 */
export function normalizeToChw(img: RgbImage, spec: NormalizeSpec, out?: Float32Array, offset = 0): Float32Array {
  const plane = img.width * img.height;
  const dst = out ?? new Float32Array(plane * 3);
  const src = img.data;
  for (let c = 0; c < 3; c++) {
    const srcChannel = spec.channelOrder === 'rgb' ? c : 2 - c;
    const mul = spec.scale / spec.std[c]!;
    const add = -spec.mean[c]! / spec.std[c]!;
    const base = offset + c * plane;
    for (let i = 0; i < plane; i++) dst[base + i] = src[i * 3 + srcChannel]! * mul + add;
  }
  return dst;
}

/** PaddleX writes `scale` as a number or as a string such as '1./255.'. */
export function parseScale(value: unknown, fallback = 1 / 255): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    const m = /^\s*([\d.]+)\s*\/\s*([\d.]+)\s*$/.exec(value);
    if (m) return Number(m[1]) / Number(m[2]);
    const n = Number(value);
    if (Number.isFinite(n)) return n;
  }
  return fallback;
}
