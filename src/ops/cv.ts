import { createRequire } from 'node:module';
import type { CV, Mat, RotatedRect } from '@techstark/opencv-js';
import type { RgbImage } from '../io/image.js';

export type { CV, Mat };

const require = createRequire(import.meta.url);

interface EmscriptenHooks {
  Mat?: unknown;
  then?: unknown;
  onRuntimeInitialized?: () => void;
  onAbort?: (what: unknown) => void;
}

let ready: Promise<CV> | undefined;

/**
 * OpenCV (wasm), initialised once per thread. The emscripten module is a thenable whose `then`
 * resolves to itself, which would make `await` loop forever; it is removed once the runtime is up.
 */
export function loadCv(): Promise<CV> {
  ready ??= new Promise<CV>((resolve, reject) => {
    const cv = require('@techstark/opencv-js') as CV & EmscriptenHooks;
    const finish = () => {
      delete cv.then;
      resolve(cv);
    };
    if (cv.Mat) {
      finish();
      return;
    }
    const previousInit = cv.onRuntimeInitialized;
    cv.onRuntimeInitialized = () => {
      previousInit?.();
      finish();
    };
    const previousAbort = cv.onAbort;
    cv.onAbort = (what) => {
      previousAbort?.(what);
      reject(new Error(`OpenCV (wasm) failed to start: ${String(what)}`));
    };
  });
  return ready;
}

/** Runs `fn` and frees every Mat it registered, also when it throws (wasm memory is not garbage-collected). */
export function withMats<T>(fn: (track: <M extends { delete(): void }>(mat: M) => M) => T): T {
  const owned: Array<{ delete(): void }> = [];
  try {
    return fn((mat) => {
      owned.push(mat);
      return mat;
    });
  } finally {
    for (const mat of owned.reverse()) mat.delete();
  }
}

/** An 8-bit 3-channel Mat holding a copy of the image (channel order unchanged). */
export function matFromRgb(cv: CV, img: RgbImage): Mat {
  const mat = new cv.Mat(img.height, img.width, cv.CV_8UC3);
  mat.data.set(img.data);
  return mat;
}

/** Copy of an 8-bit 3-channel Mat as an RgbImage. */
export function rgbFromMat(mat: Mat): RgbImage {
  return { width: mat.cols, height: mat.rows, data: new Uint8Array(mat.data) };
}

/** The four corners of a rotated rectangle, in OpenCV's `boxPoints` order (opencv.js lacks `boxPoints`). */
export function rotatedRectCorners(cv: CV, rect: RotatedRect): Array<[number, number]> {
  const points = (cv.RotatedRect as unknown as { points(r: RotatedRect): Array<{ x: number; y: number }> }).points(rect);
  return points.map((p) => [p.x, p.y]);
}

/**
 * cv2.resize with OpenCV itself, so the pixels match what PaddleX feeds its models; sharp's kernels
 * average all covered pixels when shrinking, which cv2's INTER_LINEAR does not. `interp` is a cv2
 * interpolation code (0 NEAREST, 1 LINEAR, 2 CUBIC, 3 AREA, 4 LANCZOS4; opencv.js uses the same numbers).
 */
export function cvResize(cv: CV, img: RgbImage, width: number, height: number, interp: number = cv.INTER_LINEAR): RgbImage {
  if (width === img.width && height === img.height) return img;
  return withMats((track) => {
    const src = track(matFromRgb(cv, img));
    const dst = track(new cv.Mat());
    cv.resize(src, dst, new cv.Size(width, height), 0, 0, interp);
    return rgbFromMat(dst);
  });
}
