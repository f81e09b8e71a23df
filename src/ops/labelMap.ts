/**
 * Per-pixel class maps (semantic segmentation, anomaly masks): row-major, one value per pixel.
 * Hand-written: these are single passes over typed arrays; an image library would need a round
 * trip through 8-bit channels, which cannot hold class ids above 255.
 */

export interface LabelMap {
  width: number;
  height: number;
  /** row-major, width × height */
  data: Int32Array;
}

/** Index of the largest of `classes` planes at each pixel (the first one on ties, as numpy and ONNX ArgMax). */
export function argmaxPlanes(scores: ArrayLike<number>, offset: number, classes: number, width: number, height: number): LabelMap {
  const plane = width * height;
  const data = new Int32Array(plane);
  for (let i = 0; i < plane; i++) {
    let best = 0;
    let bestScore = scores[offset + i]!;
    for (let c = 1; c < classes; c++) {
      const score = scores[offset + c * plane + i]!;
      if (score > bestScore) {
        best = c;
        bestScore = score;
      }
    }
    data[i] = best;
  }
  return { width, height, data };
}

/** cv2.resize(..., INTER_NEAREST): destination pixel x takes source floor(x · srcW / dstW), clamped. */
export function resizeNearest(map: LabelMap, width: number, height: number): LabelMap {
  if (width === map.width && height === map.height) return map;
  const xs = Int32Array.from({ length: width }, (_, x) => Math.min(Math.floor((x * map.width) / width), map.width - 1));
  const data = new Int32Array(width * height);
  for (let y = 0; y < height; y++) {
    const srcRow = Math.min(Math.floor((y * map.height) / height), map.height - 1) * map.width;
    for (let x = 0; x < width; x++) data[y * width + x] = map.data[srcRow + xs[x]!]!;
  }
  return { width, height, data };
}
