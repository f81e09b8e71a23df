/**
 * The top-down keypoint crop of PaddleX (TopDownAffine, from mmpose): a person box, given as centre
 * and scale (box size in pixels), warped onto the model input, and heatmap points mapped back.
 */
import type { RgbImage } from '../io/image.js';
import { type CV, matFromRgb, rgbFromMat, withMats } from './cv.js';

export type Point = [number, number];
/** a 2×3 affine matrix, row-major */
export type Affine = [number, number, number, number, number, number];

/**
 * PaddleX's get_affine_transform with rotation 0. Its three point pairs (centre, centre shifted up by
 * half the scale's width, and a third at right angles) only ever use the width, so the transform is
 * a similarity: zoom output width / scale width, box centre onto output centre.
 */
export function boxToOutput(center: Point, scale: Point, [outWidth, outHeight]: Point): Affine {
  const zoom = outWidth / scale[0];
  return [zoom, 0, outWidth / 2 - zoom * center[0], 0, zoom, outHeight / 2 - zoom * center[1]];
}

/** The inverse of `boxToOutput`: output (e.g. heatmap) coordinates back to the image. */
export function outputToBox(center: Point, scale: Point, [outWidth, outHeight]: Point): Affine {
  const unzoom = scale[0] / outWidth;
  return [unzoom, 0, center[0] - unzoom * (outWidth / 2), 0, unzoom, center[1] - unzoom * (outHeight / 2)];
}

/**
 * PaddleX's get_warp_matrix (unbiased data processing, UDP) with rotation 0: the box scaled per axis
 * onto [0, size - 1] of the output.
 */
export function udpBoxToOutput(center: Point, scale: Point, [outWidth, outHeight]: Point): Affine {
  const zoomX = (outWidth - 1) / scale[0];
  const zoomY = (outHeight - 1) / scale[1];
  return [zoomX, 0, zoomX * (0.5 * scale[0] - center[0]), 0, zoomY, zoomY * (0.5 * scale[1] - center[1])];
}

export function applyAffine(m: Affine, [x, y]: Point): Point {
  return [m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]];
}

/** cv2.warpAffine(img, m, (width, height), flags=INTER_LINEAR): bilinear, black outside the image. */
export function warpAffine(cv: CV, img: RgbImage, m: Affine, width: number, height: number): RgbImage {
  return withMats((track) => {
    const src = track(matFromRgb(cv, img));
    const dst = track(new cv.Mat());
    const matrix = track(cv.matFromArray(2, 3, cv.CV_64F, m));
    cv.warpAffine(src, dst, matrix, new cv.Size(width, height), cv.INTER_LINEAR, cv.BORDER_CONSTANT, new cv.Scalar());
    return rgbFromMat(dst);
  });
}
