import { decode as decodeBmpData } from 'bmp-ts';
import sharp, { type Metadata, type Sharp } from 'sharp';
import { invalidInput } from '../errors.js';
import type { RgbImage } from './image.js';

/** Largest decoded image (or rendered PDF page) accepted by default: 8192×8192. */
export const DEFAULT_MAX_PIXELS = 8192 * 8192;

/**
 * Raster formats accepted through sharp. Others it can read (SVG, libvips'
 * native format, raw) are refused: OpenCV, which PaddleX uses, does not read
 * them either, and SVG rendering is needless attack surface.
 */
const SHARP_FORMATS = new Set(['jpeg', 'png', 'webp', 'gif', 'tiff', 'heif']);

function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function pixelLimitError(field: string, width: number, height: number, maxPixels: number) {
  return invalidInput(`${field}: ${width}×${height} pixels exceeds the limit of ${maxPixels} pixels`);
}

function asUint8Array(data: Uint8Array | Uint8ClampedArray): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

const isBmp = (bytes: Uint8Array) => bytes.length >= 2 && bytes[0] === 0x42 && bytes[1] === 0x4d; // "BM"

/** Bit depths a BMP may declare; anything else is corrupt. */
const BMP_BIT_DEPTHS = new Set([1, 4, 8, 16, 24, 32]);

/**
 * sharp's prebuilt libvips has no BMP loader, but PaddleX (OpenCV) accepts BMP, so BMP goes
 * through bmp-ts (pure TypeScript: a hostile file can make it throw, not crash the process).
 * The header is checked first so a huge or malformed bitmap is refused before anything is
 * allocated.
 */
function decodeBmp(bytes: Uint8Array, field: string, maxPixels: number): RgbImage {
  const corrupt = (reason: string) => invalidInput(`${field}: truncated or corrupt image data (BMP${reason})`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 30) throw corrupt(' header too short');
  // OS/2 BITMAPCOREHEADER (size 12) stores 16-bit dimensions; later headers 32-bit (negative height = top-down).
  const coreHeader = view.getUint32(14, true) === 12;
  const width = coreHeader ? view.getUint16(18, true) : Math.abs(view.getInt32(18, true));
  const height = coreHeader ? view.getUint16(20, true) : Math.abs(view.getInt32(22, true));
  if (width * height > maxPixels) throw pixelLimitError(field, width, height, maxPixels);
  const declaredSize = view.getUint32(2, true);
  if (declaredSize > bytes.length) throw corrupt(` declares ${declaredSize} bytes, got ${bytes.length}`);
  const bitDepth = view.getUint16(coreHeader ? 24 : 28, true);
  if (!BMP_BIT_DEPTHS.has(bitDepth)) throw corrupt(`: ${bitDepth} bits per pixel is not a BMP bit depth`);
  if (width === 0 || height === 0) throw corrupt(`: ${width}×${height} pixels`);
  let decoded: ReturnType<typeof decodeBmpData>;
  try {
    decoded = decodeBmpData(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { toRGBA: true });
  } catch (err) {
    throw corrupt(`: ${reasonOf(err)}`);
  }
  if (decoded.data.length < width * height * 4) throw corrupt(': pixel data shorter than the image');
  return { width, height, data: rgbaToRgb(decoded.data.subarray(0, width * height * 4)) };
}

/** Drop the alpha channel of interleaved RGBA pixels. */
export function rgbaToRgb(rgba: Uint8Array | Uint8ClampedArray): Uint8Array {
  const pixels = rgba.length / 4;
  const rgb = new Uint8Array(pixels * 3);
  for (let i = 0, j = 0; i < pixels; i++, j += 3) {
    rgb[j] = rgba[i * 4];
    rgb[j + 1] = rgba[i * 4 + 1];
    rgb[j + 2] = rgba[i * 4 + 2];
  }
  return rgb;
}

/**
 * Decode client image bytes to 8-bit sRGB, 3 channels, the way PaddleX's
 * `cv2.imdecode(..., IMREAD_COLOR)` sees them: EXIF orientation applied, alpha
 * dropped (not composited), grey/CMYK/16-bit converted, first frame/page only.
 * The size is checked from the header before decoding, so decompression bombs
 * cost nothing; truncated data is an error rather than a half-grey picture.
 */
export async function decodeImage(bytes: Uint8Array, field: string, opts: { maxPixels?: number } = {}): Promise<RgbImage> {
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  let metadata: Metadata;
  try {
    // Header only, so no pixel limit here: the size check below gives the clearer message.
    metadata = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (err) {
    if (isBmp(bytes)) return decodeBmp(bytes, field, maxPixels);
    throw invalidInput(`${field}: not a decodable image (${reasonOf(err)})`);
  }
  if (!SHARP_FORMATS.has(metadata.format)) {
    throw invalidInput(`${field}: unsupported image format '${metadata.format}' (use JPEG, PNG, BMP, TIFF, WebP or GIF)`);
  }
  if (metadata.width * metadata.height > maxPixels) {
    throw pixelLimitError(field, metadata.width, metadata.height, maxPixels);
  }
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: maxPixels, failOn: 'truncated' })
      .autoOrient()
      .removeAlpha()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    return { width: info.width, height: info.height, data: asUint8Array(data) };
  } catch (err) {
    throw invalidInput(`${field}: truncated or corrupt image data (${reasonOf(err)})`);
  }
}

function fromRgb(img: RgbImage): Sharp {
  if (img.data.length !== img.width * img.height * 3) {
    throw new RangeError(`RgbImage data has ${img.data.length} bytes, expected ${img.width}×${img.height}×3`);
  }
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } });
}

/** JPEG as PaddleX returns result images (PIL's default quality 75). */
export async function encodeJpeg(img: RgbImage, quality = 75): Promise<Uint8Array> {
  return asUint8Array(await fromRgb(img).jpeg({ quality }).toBuffer());
}

export async function encodePng(img: RgbImage): Promise<Uint8Array> {
  return asUint8Array(await fromRgb(img).png().toBuffer());
}
