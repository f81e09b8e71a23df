/** PaddleOCR's text-line preprocessing, shared by the recogniser and PaddleOCR's text-line classifier. */
import type { RgbImage } from '../io/image.js';
import { loadCv, cvResize, type CV } from '../ops/cv.js';
import { ort } from '../runtime/session.js';
import type { InferenceConfigReader } from './common.js';
import { findPreprocessOp, readPreprocessOps } from './preprocessOps.js';

/**
 * PaddleOCR's line normalisation in float32 as numpy computes it (`x / 255`, `- 0.5`, `/ 0.5`, each
 * rounded to float32), one value per byte: a lookup table is both exact and faster than arithmetic.
 */
const LINE_VALUE = Float32Array.from({ length: 256 }, (_, v) => Math.fround(Math.fround(Math.fround(v / 255) - 0.5) / 0.5));

/** `image_shape: [3, H, W]` of the RecResizeImg / ClsResizeImg transform op. */
export function readLineImageShape(yml: InferenceConfigReader, opName: 'RecResizeImg' | 'ClsResizeImg'): { height: number; width: number } {
  const op = findPreprocessOp(readPreprocessOps(yml, ['DecodeImage', opName]), opName);
  if (!op) throw yml.error('PreProcess.transform_ops', `no ${opName} entry`);
  const [, height, width] = op.params.image_shape;
  return { height, width };
}

/** PaddleOCR's resized width of a line: height × aspect ratio rounded up, at most `maxWidth`. */
export function fittedLineWidth(img: RgbImage, height: number, maxWidth: number): number {
  return Math.min(Math.ceil(height * (img.width / img.height)), maxWidth);
}

/**
 * PaddleOCR's line preprocessing (resize_norm_img): resize to `resizedWidth` × `height` with
 * OpenCV's INTER_LINEAR, BGR, normalised to [-1, 1], written CHW into `out` at `offset` as a
 * `[3, height, rowWidth]` block whose right part stays zero (PaddleOCR's padding). Synchronous: a page
 * has dozens of small crops, and a sharp round trip per crop cost more than the resizing itself.
 */
function writeLineTensor(
  cv: CV,
  img: RgbImage,
  height: number,
  resizedWidth: number,
  rowWidth: number,
  out: Float32Array,
  offset: number,
): void {
  const { data } = cvResize(cv, img, resizedWidth, height);
  for (let c = 0; c < 3; c++) {
    const source = 2 - c; // BGR
    for (let y = 0; y < height; y++) {
      const row = offset + (c * height + y) * rowWidth;
      for (let x = 0; x < resizedWidth; x++) out[row + x] = LINE_VALUE[data[(y * resizedWidth + x) * 3 + source]!]!;
    }
  }
}

/**
 * `[N, 3, height, batchWidth]` input of a batch of line crops: crop i resized to `resizedWidths[i]`
 * and zero-padded to `batchWidth` (PaddleX's ToBatch pads every crop to the widest of its batch).
 */
export async function lineBatchTensor(crops: RgbImage[], height: number, resizedWidths: number[], batchWidth: number): Promise<ort.Tensor> {
  const cv = await loadCv();
  const blockSize = 3 * height * batchWidth;
  const data = new Float32Array(crops.length * blockSize);
  for (let i = 0; i < crops.length; i++) writeLineTensor(cv, crops[i]!, height, resizedWidths[i]!, batchWidth, data, i * blockSize);
  return new ort.Tensor('float32', data, [crops.length, 3, height, batchWidth]);
}
