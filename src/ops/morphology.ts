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

/** Min (erosion) or max (dilation) over the footprint: the image is padded by reflection once, so the inner loop only adds offsets. */
function filter(src: Float32Array, width: number, height: number, offsets: Array<[number, number]>, pick: 'min' | 'max'): Float32Array {
  const radius = Math.max(0, ...offsets.map(([dx, dy]) => Math.max(Math.abs(dx), Math.abs(dy))));
  const paddedWidth = width + 2 * radius;
  const padded = new Float32Array(paddedWidth * (height + 2 * radius));
  for (let y = 0; y < height + 2 * radius; y++) {
    const row = reflect(y - radius, height) * width;
    for (let x = 0; x < paddedWidth; x++) padded[y * paddedWidth + x] = src[row + reflect(x - radius, width)]!;
  }
  const steps = Int32Array.from(offsets, ([dx, dy]) => dy * paddedWidth + dx);
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const centre = (y + radius) * paddedWidth + x + radius;
      let best = padded[centre]!;
      if (pick === 'min') for (const step of steps) best = Math.min(best, padded[centre + step]!);
      else for (const step of steps) best = Math.max(best, padded[centre + step]!);
      out[y * width + x] = best;
    }
  }
  return out;
}

/** Opening (erosion, then dilation) of a width × height row-major image with a symmetric footprint. */
export function greyOpening(src: Float32Array, width: number, height: number, offsets: Array<[number, number]>): Float32Array {
  return filter(filter(src, width, height, offsets, 'min'), width, height, offsets, 'max');
}
