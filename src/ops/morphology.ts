/**
 * Grey-level opening with a disk, as PaddleX's anomaly post-process calls skimage.morphology.opening
 * (scipy.ndimage grey erosion then dilation, border mode 'reflect': the edge pixel is repeated,
 * d c b a | a b c d). Hand-written: no maintained npm morphology package works on plain typed
 * arrays, and the masks here are small (the model's input size).
 */

/** Offsets (dx, dy) of skimage.morphology.disk(radius): x² + y² ≤ radius². */
export function diskOffsets(radius: number): Array<[number, number]> {
  const offsets: Array<[number, number]> = [];
  for (let dy = -radius; dy <= radius; dy++) {
    for (let dx = -radius; dx <= radius; dx++) if (dx * dx + dy * dy <= radius * radius) offsets.push([dx, dy]);
  }
  return offsets;
}

/** scipy's 'reflect' index: -1 → 0, -2 → 1, n → n - 1 (for offsets smaller than the size). */
function reflect(i: number, n: number): number {
  if (i < 0) return Math.min(-i - 1, n - 1);
  if (i >= n) return Math.max(2 * n - i - 1, 0);
  return i;
}

function filter(src: Float32Array, width: number, height: number, offsets: Array<[number, number]>, pick: 'min' | 'max'): Float32Array {
  const out = new Float32Array(width * height);
  const better = pick === 'min' ? (a: number, b: number) => a < b : (a: number, b: number) => a > b;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let best = src[y * width + x]!;
      for (const [dx, dy] of offsets) {
        const v = src[reflect(y + dy, height) * width + reflect(x + dx, width)]!;
        if (better(v, best)) best = v;
      }
      out[y * width + x] = best;
    }
  }
  return out;
}

/** Opening (erosion, then dilation) of a width × height row-major image with a symmetric footprint. */
export function greyOpening(src: Float32Array, width: number, height: number, offsets: Array<[number, number]>): Float32Array {
  return filter(filter(src, width, height, offsets, 'min'), width, height, offsets, 'max');
}
