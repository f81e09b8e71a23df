import type { RgbImage } from '../io/image.js';
import { roundHalfEven } from '../ops/dbPostprocess.js';
import { cvResize, loadCv } from '../ops/cv.js';
import { normalizeToChw, type NormalizeSpec } from '../ops/normalize.js';
import { ort } from '../runtime/session.js';
import type { InferenceConfigReader } from './common.js';
import { readPreprocessOps } from './preprocessOps.js';

/** [width, height], or 'original' (PaddleX's -1: the image goes in at its own size). */
export type TargetSize = [number, number] | 'original';

/** PaddleX's segmentation Resize: a target, optionally scaled to fit keeping the ratio, then rounded up to a divisor. */
export interface SegResize {
  target: TargetSize;
  keepRatio: boolean;
  sizeDivisor?: number;
  /** cv2 interpolation code */
  interp: number;
}

/** PaddleX's Resize settings when an op leaves them out: they differ between the predictors that read `Deploy.transforms`. */
export interface SegResizeDefaults {
  keepRatio: boolean;
  sizeDivisor?: number;
}

/** An int (square, -1 = original) or [width, height] as PaddleX's Resize takes `target_size`. */
export function toTargetSize(size: number | readonly [number, number]): TargetSize {
  if (typeof size === 'number') return size === -1 ? 'original' : [size, size];
  return size[0] === -1 && size[1] === -1 ? 'original' : [size[0], size[1]];
}

/** The size an image of `width` × `height` is fed at (PaddleX `Resize.resize`). */
export function resizedSize(width: number, height: number, resize: SegResize): { width: number; height: number } {
  if (resize.target === 'original') return { width, height };
  let [w, h] = resize.target;
  if (resize.keepRatio) {
    const scale = Math.min(Math.max(w, h) / Math.max(width, height), Math.min(w, h) / Math.min(width, height));
    [w, h] = [roundHalfEven(width * scale), roundHalfEven(height * scale)];
  }
  if (resize.sizeDivisor) {
    const d = resize.sizeDivisor;
    [w, h] = [Math.ceil(w / d) * d, Math.ceil(h / d) * d];
  }
  return { width: Math.max(1, w), height: Math.max(1, h) };
}

/**
 * PaddleSeg-style pre-processing (`Deploy.transforms`: Resize, Normalize) as PaddleX's segmentation
 * and anomaly predictors apply it: images read as RGB, Resize with cv2.resize (OpenCV itself, as a
 * shrink with sharp's kernels moves the pixels: on astronaut.png it cost PP-HumanSeg 1.2 IoU points),
 * Normalize (mean/std 0.5 unless given, on pixels scaled by 1/255), CHW, whatever the order of the
 * list (PaddleX keys the ops by kind).
 */
export class PaddleSegPreprocess {
  private constructor(
    readonly resize: SegResize | undefined,
    private readonly normalize: NormalizeSpec,
  ) {}

  static fromConfig(yml: InferenceConfigReader, defaults: SegResizeDefaults): PaddleSegPreprocess {
    let resize: SegResize | undefined;
    let normalize: NormalizeSpec | undefined;
    for (const op of readPreprocessOps(yml, ['Resize', 'Normalize'])) {
      if (op.name === 'Resize') {
        resize = {
          target: toTargetSize(op.params.target_size),
          keepRatio: op.params.keep_ratio ?? defaults.keepRatio,
          sizeDivisor: op.params.size_divisor ?? defaults.sizeDivisor,
          interp: op.params.interp ?? 1,
        };
      } else {
        const triple = (v: number | readonly [number, number, number]) => (typeof v === 'number' ? [v, v, v] : [...v]);
        normalize = { scale: 1 / 255, mean: triple(op.params.mean ?? 0.5), std: triple(op.params.std ?? 0.5), channelOrder: 'rgb' };
      }
    }
    if (!normalize) throw yml.error('Deploy.transforms', 'no Normalize op (PaddleX requires one)');
    return new PaddleSegPreprocess(resize, normalize);
  }

  /** Resized with `resize` (this model's own Resize when not given) and normalized, planar. */
  async prepare(img: RgbImage, resize: SegResize | undefined = this.resize): Promise<PreparedImage> {
    const size = resize ? resizedSize(img.width, img.height, resize) : img;
    const resized = cvResize(await loadCv(), img, size.width, size.height, resize?.interp ?? 1);
    return { chw: normalizeToChw(resized, this.normalize), width: resized.width, height: resized.height };
  }
}

export interface PreparedImage {
  /** normalized planar pixels, 3 × height × width */
  chw: Float32Array;
  width: number;
  height: number;
}

/** `[N, 3, H, W]` input of prepared images of one size. */
export function stackChw(batch: PreparedImage[]): ort.Tensor {
  const { width, height } = batch[0]!;
  const plane = 3 * width * height;
  const data = new Float32Array(batch.length * plane);
  batch.forEach((p, i) => data.set(p.chw, i * plane));
  return new ort.Tensor('float32', data, [batch.length, 3, height, width]);
}

/** `${width}x${height}`: prepared images of one shape share a session run. */
export const shapeOf = (p: PreparedImage): string => `${p.width}x${p.height}`;
