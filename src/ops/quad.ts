import type { RgbImage } from '../io/image.js';
import { matFromRgb, rgbFromMat, withMats, type CV, type Mat } from './cv.js';
import { minAreaBox, type Point } from './dbPostprocess.js';

/**
 * Perspective crop of a quad (top-left, top-right, bottom-right, bottom-left), as PaddleOCR's
 * get_rotate_crop_image: the output is as wide as the longer horizontal edge and as tall as the
 * longer vertical one (truncated), sampled bicubically with replicated borders. A result at least
 * 1.5× taller than wide is turned 90° counter-clockwise so a vertical text line reads horizontally.
 */
export function cropQuad(cv: CV, img: RgbImage, quad: Point[]): RgbImage {
  return withMats((track) => cropQuadOfMat(cv, track(matFromRgb(cv, img)), quad));
}

/** cropQuad from an image already copied into OpenCV's memory: a page is copied in once for all its crops. */
function cropQuadOfMat(cv: CV, src: Mat, quad: Point[]): RgbImage {
  if (quad.length !== 4) throw new Error(`cropQuad needs 4 points, got ${quad.length}`);
  const [p0, p1, p2, p3] = quad as [Point, Point, Point, Point];
  const edge = (a: Point, b: Point) => Math.hypot(a[0] - b[0], a[1] - b[1]);
  // A degenerate quad still yields a 1-pixel crop rather than an OpenCV error.
  const width = Math.max(1, Math.trunc(Math.max(edge(p0, p1), edge(p2, p3))));
  const height = Math.max(1, Math.trunc(Math.max(edge(p0, p3), edge(p1, p2))));
  const crop = withMats((track) => {
    const from = track(cv.matFromArray(4, 1, cv.CV_32FC2, quad.flat()));
    const to = track(cv.matFromArray(4, 1, cv.CV_32FC2, [0, 0, width, 0, width, height, 0, height]));
    const transform = track(cv.getPerspectiveTransform(from, to));
    const dst = track(new cv.Mat());
    cv.warpPerspective(src, dst, transform, new cv.Size(width, height), cv.INTER_CUBIC, cv.BORDER_REPLICATE, new cv.Scalar());
    return rgbFromMat(dst);
  });
  return crop.height >= 1.5 * crop.width ? rotateImage(crop, 90) : crop;
}

/**
 * Crops of the minimum-area rectangle around each quad, as PaddleX's OCR pipeline (CropByPolys, quad
 * boxes) does before recognition: the quad's integer points are boxed, the corners ordered, then
 * cropped. The page is copied into OpenCV's memory once, not once per quad.
 */
export function cropMinAreaRects(cv: CV, img: RgbImage, quads: Point[][]): RgbImage[] {
  if (!quads.length) return [];
  return withMats((track) => {
    const src = track(matFromRgb(cv, img));
    return quads.map((quad) => {
      const { box } = minAreaBox(
        cv,
        quad.map(([x, y]) => [Math.trunc(x), Math.trunc(y)]),
      );
      return cropQuadOfMat(cv, src, box);
    });
  });
}

/** cropMinAreaRects of one quad. */
export function cropMinAreaRect(cv: CV, img: RgbImage, quad: Point[]): RgbImage {
  return cropMinAreaRects(cv, img, [quad])[0]!;
}

/**
 * Rotation by a multiple of 90° counter-clockwise (as np.rot90). Hand-written: a pure index
 * remapping, synchronous, where sharp would need an async encode round trip.
 */
export function rotateImage(img: RgbImage, angle: 90 | 180 | 270): RgbImage {
  const { width: w, height: h, data: src } = img;
  const quarterTurn = angle !== 180;
  const outWidth = quarterTurn ? h : w;
  const outHeight = quarterTurn ? w : h;
  const out = new Uint8Array(src.length);
  // For each output pixel (row r, column c), the source pixel it comes from.
  const sourceOf: (r: number, c: number) => number =
    angle === 90 ? (r, c) => c * w + (w - 1 - r) : angle === 180 ? (r, c) => (h - 1 - r) * w + (w - 1 - c) : (r, c) => (h - 1 - c) * w + r;
  for (let r = 0; r < outHeight; r++) {
    for (let c = 0; c < outWidth; c++) {
      const s = sourceOf(r, c) * 3;
      const d = (r * outWidth + c) * 3;
      out[d] = src[s]!;
      out[d + 1] = src[s + 1]!;
      out[d + 2] = src[s + 2]!;
    }
  }
  return { width: outWidth, height: outHeight, data: out };
}

/**
 * PaddleX's `rotate_image` (counter-clockwise by `angle` degrees, canvas grown to hold the result):
 * cv2.warpAffine with getRotationMatrix2D about (w/2, h/2), bicubic, black outside. For 180° this is
 * one pixel off an exact flip (black first row and column), which PaddleX's results carry.
 */
export function rotateImageLikePaddleX(cv: CV, img: RgbImage, angle: number): RgbImage {
  if (!(angle >= 0 && angle < 360)) throw new RangeError(`rotate angle must be in [0, 360), got ${angle}`);
  if (angle < 1e-7) return img;
  const { width: w, height: h } = img;
  return withMats((track) => {
    const matrix = track(cv.getRotationMatrix2D(new cv.Point(w / 2, h / 2), angle, 1));
    const m = matrix.data64F;
    const cos = Math.abs(m[0]!);
    const sin = Math.abs(m[1]!);
    const newWidth = Math.trunc(h * sin + w * cos);
    const newHeight = Math.trunc(h * cos + w * sin);
    m[2]! += (newWidth - w) / 2;
    m[5]! += (newHeight - h) / 2;
    const src = track(matFromRgb(cv, img));
    const dst = track(new cv.Mat());
    cv.warpAffine(src, dst, matrix, new cv.Size(newWidth, newHeight), cv.INTER_CUBIC, cv.BORDER_CONSTANT, new cv.Scalar(0, 0, 0, 0));
    return rgbFromMat(dst);
  });
}
