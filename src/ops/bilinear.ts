/**
 * Bilinear resampling of one float plane as paddle's F.interpolate(mode="bilinear",
 * align_corners=False) does it (half-pixel centres, source coordinates clamped at 0, no
 * antialiasing). Hand-written: sharp and OpenCV.js resample 8-bit images, and mask logits are floats.
 *
 * The output grid is `outWidth` × `outHeight`; only its top-left `keepWidth` × `keepHeight` corner
 * is computed and returned (PaddleX's SAM crops the 1024 × 1024 upsample to the resized image).
 */
export function resizeBilinear(
  src: Float32Array,
  width: number,
  height: number,
  outWidth: number,
  outHeight: number,
  keepWidth = outWidth,
  keepHeight = outHeight,
): Float32Array {
  const axis = (inSize: number, outSize: number, keep: number) => {
    const scale = inSize / outSize;
    const lo = new Int32Array(keep);
    const hi = new Int32Array(keep);
    const frac = new Float32Array(keep);
    for (let d = 0; d < keep; d++) {
      const s = Math.max(0, (d + 0.5) * scale - 0.5);
      const i = Math.min(Math.floor(s), inSize - 1);
      lo[d] = i;
      hi[d] = Math.min(i + 1, inSize - 1);
      frac[d] = s - i;
    }
    return { lo, hi, frac };
  };
  const xs = axis(width, outWidth, keepWidth);
  const ys = axis(height, outHeight, keepHeight);
  const out = new Float32Array(keepWidth * keepHeight);
  for (let y = 0; y < keepHeight; y++) {
    const top = ys.lo[y]! * width;
    const bottom = ys.hi[y]! * width;
    const fy = ys.frac[y]!;
    for (let x = 0; x < keepWidth; x++) {
      const x0 = xs.lo[x]!;
      const x1 = xs.hi[x]!;
      const fx = xs.frac[x]!;
      const upper = src[top + x0]! * (1 - fx) + src[top + x1]! * fx;
      const lower = src[bottom + x0]! * (1 - fx) + src[bottom + x1]! * fx;
      out[y * keepWidth + x] = upper * (1 - fy) + lower * fy;
    }
  }
  return out;
}
