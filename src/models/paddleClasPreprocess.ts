import { ApiError } from '../errors.js';
import type { RgbImage } from '../io/image.js';
import { roundHalfEven } from '../ops/dbPostprocess.js';
import { normalizeToChw, type NormalizeSpec } from '../ops/normalize.js';
import { cropImage, resizeImage } from '../ops/resize.js';
import { ort } from '../runtime/session.js';
import type { InferenceConfigReader } from './common.js';
import { normalizeSpec, readPreprocessOps } from './preprocessOps.js';

interface Size {
  width: number;
  height: number;
}

type Resize = ({ kind: 'short'; short: number } | ({ kind: 'size' } & Size)) & { interp: number };

function sizeToWh(size: number | [number, number]): Size {
  return typeof size === 'number' ? { width: size, height: size } : { width: size[0], height: size[1] };
}

/**
 * PaddleClas preprocessing (`PreProcess.transform_ops`: ResizeImage, CropImage, NormalizeImage,
 * ToCHWImage) as PaddleX's classification predictor applies it, for every PaddleClas-exported model
 * (image classification, document and text-line orientation): images read as RGB, then always
 * Resize → [center Crop] → Normalize → CHW, whatever the order of the list (PaddleX keys the ops by kind).
 */
export class PaddleClasPreprocess {
  private constructor(
    private readonly resize: Resize,
    private readonly crop: Size | undefined,
    private readonly normalize: NormalizeSpec,
  ) {}

  static fromConfig(yml: InferenceConfigReader): PaddleClasPreprocess {
    let resize: Resize | undefined;
    let crop: Size | undefined;
    let normalize: NormalizeSpec | undefined;
    let toChw = false;
    for (const op of readPreprocessOps(yml, ['ResizeImage', 'CropImage', 'NormalizeImage', 'ToCHWImage'])) {
      switch (op.name) {
        case 'ResizeImage': {
          // PaddleX's default interpolation is LINEAR
          const interp = op.params.interpolation ?? 1;
          const { resize_short: short, size } = op.params;
          resize = short != null ? { kind: 'short', short, interp } : { kind: 'size', ...sizeToWh(size!), interp };
          break;
        }
        case 'CropImage':
          crop = sizeToWh(op.params.size ?? 224);
          break;
        case 'NormalizeImage':
          normalize = normalizeSpec(op.params, 'rgb');
          break;
        case 'ToCHWImage':
          toChw = true;
          break;
      }
    }
    if (!resize) throw yml.error('PreProcess.transform_ops', 'no ResizeImage op (PaddleX requires one)');
    if (!normalize) throw yml.error('PreProcess.transform_ops', 'no NormalizeImage op (PaddleX requires one)');
    if (!toChw) throw yml.error('PreProcess.transform_ops', 'no ToCHWImage op (only NCHW classifiers are supported)');
    return new PaddleClasPreprocess(resize, crop, normalize);
  }

  /** The size every image comes out at (a crop, or a resize to a fixed size); undefined when it follows the image. */
  get fixedSize(): Size | undefined {
    if (this.crop) return this.crop;
    return this.resize.kind === 'size' ? { width: this.resize.width, height: this.resize.height } : undefined;
  }

  /** The resize step alone (PaddleX's multi-label predictor runs no crop even when the config has one). */
  async resizeOnly(img: RgbImage): Promise<RgbImage> {
    const { resize } = this;
    if (resize.kind === 'short') {
      // PaddleX ResizeByShort: the shorter side becomes `short`, both sides rounded as Python's round() does.
      const scale = resize.short / Math.min(img.width, img.height);
      return resizeImage(img, roundHalfEven(img.width * scale), roundHalfEven(img.height * scale), resize.interp);
    }
    return resizeImage(img, resize.width, resize.height, resize.interp);
  }

  /** The geometric steps: resize, then the center crop if the config has one. */
  async resizeAndCrop(img: RgbImage): Promise<RgbImage> {
    const { crop } = this;
    const out = await this.resizeOnly(img);
    if (!crop) return out;
    // PaddleX's Crop refuses an image smaller than the crop window rather than padding it.
    if (out.width < crop.width || out.height < crop.height) {
      throw new ApiError(
        422,
        `image: a ${img.width}x${img.height} image resized to ${out.width}x${out.height} is smaller than the model's ${crop.width}x${crop.height} center crop`,
      );
    }
    return cropImage(out, Math.floor((out.width - crop.width) / 2), Math.floor((out.height - crop.height) / 2), crop.width, crop.height);
  }

  /** `[N, 3, H, W]` input of images that came out of `resizeAndCrop` at one size. */
  toTensor(prepared: RgbImage[]): ort.Tensor {
    const { width, height } = prepared[0]!;
    if (prepared.some((p) => p.width !== width || p.height !== height)) {
      throw new Error('PaddleClas preprocessing: the images of one batch must have one size (group them with batchesByShape)');
    }
    const plane = 3 * width * height;
    const data = new Float32Array(prepared.length * plane);
    prepared.forEach((img, i) => normalizeToChw(img, this.normalize, data, i * plane));
    return new ort.Tensor('float32', data, [prepared.length, 3, height, width]);
  }
}
