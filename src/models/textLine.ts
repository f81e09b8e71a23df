/** PaddleOCR's text-line preprocessing, shared by the recogniser and PaddleOCR's text-line classifier. */
import type { RgbImage } from '../io/image.js';
import { loadCv, resizeLinear, type CV } from '../ops/cv.js';
import { normalizeToChw, type NormalizeSpec } from '../ops/normalize.js';
import { ort } from '../runtime/session.js';
import type { InferenceConfigReader } from './common.js';
import { findPreprocessOp, readPreprocessOps } from './preprocessOps.js';

/** PaddleOCR recognisers and line classifiers read BGR and scale pixels to [-1, 1]. */
const PADDLE_OCR_LINE_NORMALIZE: NormalizeSpec = { scale: 1 / 255, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], channelOrder: 'bgr' };

/** `image_shape: [3, H, W]` of the RecResizeImg / ClsResizeImg transform op. */
export function readLineImageShape(yml: InferenceConfigReader, opName: 'RecResizeImg' | 'ClsResizeImg'): { height: number; width: number } {
  const op = findPreprocessOp(readPreprocessOps(yml, ['DecodeImage', opName]), opName);
  if (!op) throw yml.error('PreProcess.transform_ops', `no ${opName} entry`);
  const [, height, width] = op.params.image_shape;
  return { height, width };
}

/**
 * PaddleOCR's line preprocessing (resize_norm_img): resize to `height` keeping the aspect ratio,
 * width ceil(height × ratio) but at most `width`, normalise, and write CHW into `out` at `offset`
 * as a `[3, height, width]` block whose right part stays as it was (zero = PaddleOCR's padding).
 * Resized with OpenCV's INTER_LINEAR as PaddleOCR does, synchronously: a page has dozens of small
 * crops, and a sharp round trip per crop cost more than the resizing itself.
 */
function writeLineTensor(cv: CV, img: RgbImage, height: number, width: number, out: Float32Array, offset: number): void {
  const resizedWidth = Math.min(Math.ceil((height * img.width) / img.height), width);
  const resized = resizeLinear(cv, img, resizedWidth, height);
  const planar = normalizeToChw(resized, PADDLE_OCR_LINE_NORMALIZE);
  const plane = resizedWidth * height;
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < height; y++) {
      const src = c * plane + y * resizedWidth;
      out.set(planar.subarray(src, src + resizedWidth), offset + (c * height + y) * width);
    }
  }
}

/** `[N, 3, height, width]` input of a batch of line crops, each written by `writeLineTensor`. */
export async function lineBatchTensor(crops: RgbImage[], height: number, width: number): Promise<ort.Tensor> {
  const cv = await loadCv();
  const blockSize = 3 * height * width;
  const data = new Float32Array(crops.length * blockSize);
  for (let i = 0; i < crops.length; i++) writeLineTensor(cv, crops[i]!, height, width, data, i * blockSize);
  return new ort.Tensor('float32', data, [crops.length, 3, height, width]);
}
