import sharp from 'sharp';
import type { RgbImage } from '../io/image.js';

/**
 * cv2 interpolation codes as PaddleX configs use them (`interp` / `interpolation`):
 * 0 NEAREST, 1 LINEAR, 2 CUBIC, 3 AREA, 4 LANCZOS4. sharp has no AREA kernel; for downscaling
 * its linear kernel averages all covered pixels, which is what AREA does.
 */
const KERNELS: Record<number, 'nearest' | 'linear' | 'cubic' | 'lanczos3'> = {
  0: 'nearest',
  1: 'linear',
  2: 'cubic',
  3: 'linear',
  4: 'lanczos3',
};

const NAMED_INTERP: Record<string, number> = { NEAREST: 0, LINEAR: 1, BILINEAR: 1, CUBIC: 2, BICUBIC: 2, AREA: 3, LANCZOS: 4, LANCZOS4: 4 };

/** Accepts a cv2 code (0-4) or a PaddleClas name such as 'LINEAR' / 'cv2.INTER_CUBIC'. */
export function interpolationCode(value: unknown, fallback = 1): number {
  if (typeof value === 'number' && value in KERNELS) return value;
  if (typeof value === 'string') {
    const key = value.toUpperCase().replace(/^CV2\.INTER_/, '');
    if (key in NAMED_INTERP) return NAMED_INTERP[key]!;
  }
  return fallback;
}

export async function resizeImage(img: RgbImage, width: number, height: number, interp = 1): Promise<RgbImage> {
  if (width === img.width && height === img.height) return img;
  const { data, info } = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .resize(width, height, { fit: 'fill', kernel: KERNELS[interp] ?? 'linear' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

/** Copy of the rectangle [x, x+width) × [y, y+height), clamped to the image. */
export function cropImage(img: RgbImage, x: number, y: number, width: number, height: number): RgbImage {
  const x0 = Math.max(0, Math.min(img.width, Math.round(x)));
  const y0 = Math.max(0, Math.min(img.height, Math.round(y)));
  const w = Math.max(0, Math.min(img.width - x0, Math.round(width)));
  const h = Math.max(0, Math.min(img.height - y0, Math.round(height)));
  const out = new Uint8Array(w * h * 3);
  for (let row = 0; row < h; row++) {
    const src = ((y0 + row) * img.width + x0) * 3;
    out.set(img.data.subarray(src, src + w * 3), row * w * 3);
  }
  return { width: w, height: h, data: out };
}

/** Downscale (never enlarge) to fit within maxWidth × maxHeight, keeping the aspect ratio. */
export async function fitWithin(img: RgbImage, maxWidth: number, maxHeight: number): Promise<RgbImage> {
  const scale = Math.min(1, maxWidth / img.width, maxHeight / img.height);
  if (scale === 1) return img;
  return resizeImage(img, Math.max(1, Math.round(img.width * scale)), Math.max(1, Math.round(img.height * scale)), 3);
}
