import { createRequire } from 'node:module';
import { withMats, rotatedRectCorners, type CV, type Mat } from './cv.js';

/** [x, y] */
export type Point = [number, number];

/** Probability map of a DB text detector (one channel, row-major). */
export interface ProbabilityMap {
  width: number;
  height: number;
  data: Float32Array;
}

export interface DbPostprocessOptions {
  /** binarisation threshold on the probability map */
  thresh: number;
  /** boxes whose mean probability is below this are dropped */
  boxThresh: number;
  /** how far a box is grown: distance = area × unclipRatio / perimeter */
  unclipRatio: number;
  /** at most this many contours are examined */
  maxCandidates: number;
  /** 'fast': mean probability inside the min-area box; 'slow': inside the contour itself */
  scoreMode?: 'fast' | 'slow';
  /** dilate the binary map with a 2×2 kernel before finding contours */
  useDilation?: boolean;
}

export interface DetectedQuads {
  /** integer quads, clockwise from the top-left corner, in destination coordinates */
  polys: Point[][];
  scores: number[];
}

/** PaddleOCR's DBPostProcess.min_size: boxes thinner than this are noise. */
const MIN_BOX_SIDE = 3;

interface ClipperPoint {
  X: number;
  Y: number;
}
interface ClipperOffsetInstance {
  AddPath(path: ClipperPoint[], joinType: number, endType: number): void;
  Execute(solution: ClipperPoint[][], delta: number): void;
}
interface ClipperLibModule {
  ClipperOffset: new () => ClipperOffsetInstance;
  JoinType: { jtRound: number };
  EndType: { etClosedPolygon: number };
}
// clipper-lib is CommonJS without type declarations; only the offset API is used.
const ClipperLib = createRequire(import.meta.url)('clipper-lib') as ClipperLibModule;

/** Python's round(): halves go to the even neighbour (PaddleX rounds sizes and coordinates with it). */
export function roundHalfEven(value: number): number {
  const rounded = Math.round(value);
  return Math.abs(value % 1) === 0.5 && rounded % 2 !== 0 ? rounded - 1 : rounded;
}

/**
 * Corners of the minimum-area rectangle around `points` (a CV_32SC2/CV_32FC2 Mat), ordered
 * top-left, top-right, bottom-right, bottom-left as PaddleOCR's get_mini_boxes does, and its short side.
 */
function miniBoxOfMat(cv: CV, points: Mat): { box: Point[]; shortSide: number } {
  const rect = cv.minAreaRect(points);
  const corners = rotatedRectCorners(cv, rect).sort((a, b) => a[0] - b[0]);
  const [left1, left2, right1, right2] = corners as [Point, Point, Point, Point];
  const [topLeft, bottomLeft] = left2[1] > left1[1] ? [left1, left2] : [left2, left1];
  const [topRight, bottomRight] = right2[1] > right1[1] ? [right1, right2] : [right2, right1];
  return { box: [topLeft, topRight, bottomRight, bottomLeft], shortSide: Math.min(rect.size.width, rect.size.height) };
}

/** `miniBoxOfMat` for plain points; integer points are passed to OpenCV as such, others as float. */
export function minAreaBox(cv: CV, points: Point[]): { box: Point[]; shortSide: number } {
  const integral = points.every(([x, y]) => Number.isInteger(x) && Number.isInteger(y));
  return withMats((track) => {
    const mat = track(cv.matFromArray(points.length, 1, integral ? cv.CV_32SC2 : cv.CV_32FC2, points.flat()));
    return miniBoxOfMat(cv, mat);
  });
}

/** Shoelace area and perimeter of a closed polygon (four points here; no Mat round trip needed). */
function areaAndPerimeter(points: Point[]): { area: number; perimeter: number } {
  let twiceArea = 0;
  let perimeter = 0;
  points.forEach(([x1, y1], i) => {
    const [x2, y2] = points[(i + 1) % points.length]!;
    twiceArea += x1 * y2 - x2 * y1;
    perimeter += Math.hypot(x2 - x1, y2 - y1);
  });
  return { area: Math.abs(twiceArea) / 2, perimeter };
}

/**
 * Grows a polygon outward by area × ratio / perimeter with a rounded-corner offset (clipper), as DB's
 * unclip; every resulting polygon (a concave one may split). Clipper works on integers: coordinates
 * are truncated first, as pyclipper does.
 */
export function unclipPaths(points: Point[], ratio: number): Point[][] {
  const { area, perimeter } = areaAndPerimeter(points);
  if (perimeter === 0) return [];
  const offset = new ClipperLib.ClipperOffset();
  offset.AddPath(
    points.map(([x, y]) => ({ X: Math.trunc(x), Y: Math.trunc(y) })),
    ClipperLib.JoinType.jtRound,
    ClipperLib.EndType.etClosedPolygon,
  );
  const solution: ClipperPoint[][] = [];
  offset.Execute(solution, (area * ratio) / perimeter);
  return solution.map((path) => path.map((p): Point => [p.X, p.Y]));
}

/** `unclipPaths` of a convex box, which stays one polygon. */
export function unclip(points: Point[], ratio: number): Point[] {
  return unclipPaths(points, ratio)[0] ?? [];
}

/** Mean of `prob` over the pixels of the filled polygon (cv2.fillPoly on truncated coordinates). */
function meanInsidePolygon(
  cv: CV,
  prob: Mat,
  polygon: Point[],
  bounds: { xmin: number; xmax: number; ymin: number; ymax: number },
): number {
  const { xmin, xmax, ymin, ymax } = bounds;
  return withMats((track) => {
    const mask = track(cv.Mat.zeros(ymax - ymin + 1, xmax - xmin + 1, cv.CV_8UC1));
    const shifted = polygon.flatMap(([x, y]) => [Math.trunc(x - xmin), Math.trunc(y - ymin)]);
    const polygonMat = track(cv.matFromArray(polygon.length, 1, cv.CV_32SC2, shifted));
    const polygons = track(new cv.MatVector());
    polygons.push_back(polygonMat);
    cv.fillPoly(mask, polygons, new cv.Scalar(1));
    const window = track(prob.roi(new cv.Rect(xmin, ymin, xmax - xmin + 1, ymax - ymin + 1)));
    return cv.mean(window, mask)[0]!;
  });
}

function clampInt(value: number, low: number, high: number): number {
  return Math.max(low, Math.min(high, value));
}

/** Score of a min-area box ('fast'): bounds are the box's floor/ceil extent, clamped to the map. */
function boxScoreFast(cv: CV, prob: Mat, box: Point[]): number {
  const xs = box.map((p) => p[0]);
  const ys = box.map((p) => p[1]);
  return meanInsidePolygon(cv, prob, box, {
    xmin: clampInt(Math.floor(Math.min(...xs)), 0, prob.cols - 1),
    xmax: clampInt(Math.ceil(Math.max(...xs)), 0, prob.cols - 1),
    ymin: clampInt(Math.floor(Math.min(...ys)), 0, prob.rows - 1),
    ymax: clampInt(Math.ceil(Math.max(...ys)), 0, prob.rows - 1),
  });
}

/** Score of the contour polygon itself ('slow'). */
function boxScoreSlow(cv: CV, prob: Mat, contour: Point[]): number {
  const xs = contour.map((p) => p[0]);
  const ys = contour.map((p) => p[1]);
  return meanInsidePolygon(cv, prob, contour, {
    xmin: clampInt(Math.min(...xs), 0, prob.cols - 1),
    xmax: clampInt(Math.max(...xs), 0, prob.cols - 1),
    ymin: clampInt(Math.min(...ys), 0, prob.rows - 1),
    ymax: clampInt(Math.max(...ys), 0, prob.rows - 1),
  });
}

function contourPoints(contour: Mat): Point[] {
  const flat = contour.data32S;
  const points: Point[] = [];
  for (let i = 0; i < flat.length; i += 2) points.push([flat[i]!, flat[i + 1]!]);
  return points;
}

type Track = <M extends { delete(): void }>(mat: M) => M;

/**
 * What both DB box types share: binarise the map, dilate it if asked, trace the contours (at most
 * maxCandidates), let `boxOf` turn each into a box in map coordinates with its score (or drop it),
 * and scale the boxes to a `destWidth` × `destHeight` image (Python rounding, clamped).
 */
function traceBoxes(
  cv: CV,
  map: ProbabilityMap,
  destWidth: number,
  destHeight: number,
  opts: DbPostprocessOptions,
  boxOf: (contour: Mat, prob: Mat, track: Track) => { points: Point[]; score: number } | undefined,
): DetectedQuads {
  const { width, height } = map;
  const binary = new Uint8Array(width * height);
  for (let i = 0; i < binary.length; i++) binary[i] = map.data[i]! > opts.thresh ? 255 : 0;
  const xScale = destWidth / width;
  const yScale = destHeight / height;
  return withMats((track) => {
    const prob = track(cv.matFromArray(height, width, cv.CV_32FC1, map.data));
    const bitmap = track(cv.matFromArray(height, width, cv.CV_8UC1, binary));
    if (opts.useDilation) cv.dilate(bitmap, bitmap, track(cv.Mat.ones(2, 2, cv.CV_8UC1)));
    const contours = track(new cv.MatVector());
    const hierarchy = track(new cv.Mat());
    cv.findContours(bitmap, contours, hierarchy, cv.RETR_LIST, cv.CHAIN_APPROX_SIMPLE);
    const polys: Point[][] = [];
    const scores: number[] = [];
    // mirada types MatVector.size() as a Size; opencv.js returns the element count.
    const candidates = Math.min(contours.size() as unknown as number, opts.maxCandidates);
    for (let i = 0; i < candidates; i++) {
      const found = boxOf(track(contours.get(i)), prob, track);
      if (!found) continue;
      polys.push(
        found.points.map(([x, y]) => [
          clampInt(roundHalfEven(x * xScale), 0, destWidth),
          clampInt(roundHalfEven(y * yScale), 0, destHeight),
        ]),
      );
      scores.push(found.score);
    }
    return { polys, scores };
  });
}

/**
 * DB post-processing (quad boxes), as PaddleX's DBPostProcess: binarise, trace contours, keep
 * min-area boxes that are thick and confident enough, grow them (unclip), and scale them from the
 * map to a `destWidth` × `destHeight` image. Boxes come in contour order.
 */
export function dbPostprocess(
  cv: CV,
  map: ProbabilityMap,
  destWidth: number,
  destHeight: number,
  opts: DbPostprocessOptions,
): DetectedQuads {
  return traceBoxes(cv, map, destWidth, destHeight, opts, (contour, prob) => {
    const { box, shortSide } = miniBoxOfMat(cv, contour);
    if (shortSide < MIN_BOX_SIDE) return undefined;
    const score = opts.scoreMode === 'slow' ? boxScoreSlow(cv, prob, contourPoints(contour)) : boxScoreFast(cv, prob, box);
    if (score < opts.boxThresh) return undefined;
    const grown = unclip(box, opts.unclipRatio);
    if (grown.length < 3) return undefined;
    const unclipped = minAreaBox(cv, grown);
    if (unclipped.shortSide < MIN_BOX_SIDE + 2) return undefined;
    return { points: unclipped.box, score };
  });
}

/**
 * DB post-processing with polygon boxes (`box_type: poly`, seal text), as PaddleX's
 * polygons_from_bitmap: each contour simplified (approxPolyDP, epsilon 0.2% of its length), scored
 * over its bounding extent, grown (unclip; dropped when that splits it), kept when the min-area box
 * of the result is thick enough, and scaled to the destination image. Boxes come in contour order.
 */
export function dbPolygons(cv: CV, map: ProbabilityMap, destWidth: number, destHeight: number, opts: DbPostprocessOptions): DetectedQuads {
  return traceBoxes(cv, map, destWidth, destHeight, opts, (contour, prob, track) => {
    const approx = track(new cv.Mat());
    cv.approxPolyDP(contour, approx, 0.002 * cv.arcLength(contour, true), true);
    const points = contourPoints(approx);
    if (points.length < 4) return undefined;
    const score = boxScoreFast(cv, prob, points);
    if (score < opts.boxThresh) return undefined;
    const grown = unclipPaths(points, opts.unclipRatio);
    if (grown.length !== 1 || grown[0]!.length === 0) return undefined;
    if (minAreaBox(cv, grown[0]!).shortSide < MIN_BOX_SIDE + 2) return undefined;
    return { points: grown[0]!, score };
  });
}

/** PaddleX's SortPolyBoxes: by the smallest y of each polygon (ties keep detection order). */
export function sortPolyBoxes(found: DetectedQuads): DetectedQuads {
  const top = found.polys.map((poly) => Math.min(...poly.map((p) => p[1])));
  const order = found.polys.map((_, i) => i).sort((a, b) => top[a]! - top[b]!);
  return { polys: order.map((i) => found.polys[i]!), scores: order.map((i) => found.scores[i]!) };
}

/**
 * Reading order, as PaddleOCR's sorted_boxes: by (y, x) of the first corner, then neighbours whose
 * first corners are less than 10 px apart vertically are put left to right.
 */
export function sortQuadBoxes(found: DetectedQuads): DetectedQuads {
  const order = found.polys.map((_, i) => i);
  const corner = (i: number) => found.polys[i]![0]!;
  order.sort((a, b) => corner(a)[1] - corner(b)[1] || corner(a)[0] - corner(b)[0]);
  for (let i = 0; i < order.length - 1; i++) {
    for (let j = i; j >= 0; j--) {
      const upper = corner(order[j]!);
      const lower = corner(order[j + 1]!);
      if (Math.abs(lower[1] - upper[1]) < 10 && lower[0] < upper[0]) {
        [order[j], order[j + 1]] = [order[j + 1]!, order[j]!];
      } else {
        break;
      }
    }
  }
  return { polys: order.map((i) => found.polys[i]!), scores: order.map((i) => found.scores[i]!) };
}
