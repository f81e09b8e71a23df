/**
 * The crop of a curved text polygon (seal text) that PaddleX's CropByPolys (`det_box_type: poly`,
 * get_poly_rect_crop in pipelines/components/common/crop_image_regions.py) feeds to recognition: the
 * min-area rectangle when the polygon fills most of it, else the polygon straightened by piecewise
 * homographies between its resampled top and bottom sidelines (seal_det_warp.py, AutoRectifier in
 * `homography` mode). Numbers and orders follow PaddleX's code step by step.
 */
import { createRequire } from 'node:module';
import type { RgbImage } from '../io/image.js';
import { matFromRgb, rgbFromMat, withMats, type CV } from './cv.js';
import { minAreaBox, roundHalfEven, type Point } from './dbPostprocess.js';
import { cropQuad, rotateImage } from './quad.js';

interface ClipperPoint {
  X: number;
  Y: number;
}
interface ClipperLibModule {
  Clipper: {
    new (): {
      AddPath(path: ClipperPoint[], polyType: number, closed: boolean): boolean;
      Execute(clipType: number, solution: ClipperPoint[][], subjFill: number, clipFill: number): boolean;
    };
    Area(path: ClipperPoint[]): number;
    SimplifyPolygon(path: ClipperPoint[], fillType: number): ClipperPoint[][];
  };
  PolyType: { ptSubject: number; ptClip: number };
  ClipType: { ctIntersection: number };
  PolyFillType: { pftEvenOdd: number; pftNonZero: number };
}
// clipper-lib is CommonJS without type declarations; it stands in for shapely's polygon area and validity.
const ClipperLib = createRequire(import.meta.url)('clipper-lib') as ClipperLibModule;

/** clipper works on integers: float corners are scaled by this before clipping */
const CLIP_SCALE = 1000;

const toClipper = (points: readonly Point[], scale = 1): ClipperPoint[] =>
  points.map(([x, y]) => ({ X: Math.round(x * scale), Y: Math.round(y * scale) }));

/** Shapely's Polygon.is_valid for an integer ring: one simple ring (no crossing or touching itself) with an area. */
function isValidPolygon(points: readonly Point[]): boolean {
  const ring = toClipper(points);
  const area = Math.abs(ClipperLib.Clipper.Area(ring));
  if (area === 0) return false;
  const simple = ClipperLib.Clipper.SimplifyPolygon(ring, ClipperLib.PolyFillType.pftEvenOdd);
  return simple.length === 1 && Math.abs(ClipperLib.Clipper.Area(simple[0]!)) === area;
}

/** Shapely's intersection-over-union of two simple polygons. */
function polygonIou(a: readonly Point[], b: readonly Point[]): number {
  const pa = toClipper(a, CLIP_SCALE);
  const pb = toClipper(b, CLIP_SCALE);
  const clipper = new ClipperLib.Clipper();
  clipper.AddPath(pa, ClipperLib.PolyType.ptSubject, true);
  clipper.AddPath(pb, ClipperLib.PolyType.ptClip, true);
  const solution: ClipperPoint[][] = [];
  clipper.Execute(ClipperLib.ClipType.ctIntersection, solution, ClipperLib.PolyFillType.pftNonZero, ClipperLib.PolyFillType.pftNonZero);
  const scale2 = CLIP_SCALE * CLIP_SCALE;
  const intersection = Math.abs(solution.reduce((sum, path) => sum + ClipperLib.Clipper.Area(path), 0)) / scale2;
  const union = (Math.abs(ClipperLib.Clipper.Area(pa)) + Math.abs(ClipperLib.Clipper.Area(pb))) / scale2 - intersection;
  return intersection / (union + 1e-10);
}

const dist = (a: Point, b: Point) => Math.hypot(a[0] - b[0], a[1] - b[1]);

/**
 * PaddleX's sample_points_on_bbox: runs of short edges (under 0.9 × the mean edge) merge their
 * points into one group (the closing edge too), and each group becomes its mean point.
 */
export function mergeShortEdges(line: readonly Point[]): Point[] {
  const lengths = line.slice(0, -1).map((p, i) => dist(p, line[i + 1]!));
  const mean = lengths.reduce((a, b) => a + b, 0) / (lengths.length + 1e-8);
  const groups: number[][] = [[0]];
  let last: number[] = groups[0]!;
  lengths.forEach((length, i) => {
    if (length < 0.9 * mean) {
      const owner = groups.find((g) => g.includes(i));
      if (owner) {
        owner.push(i + 1);
        last = owner;
      }
    } else {
      last = [i + 1];
      groups.push(last);
    }
  });
  if (dist(line[0]!, line.at(-1)!) < 0.9 * mean) {
    groups[0]!.push(...last);
    // Python's list.remove: the first group equal (by value) to the last one touched
    const same = groups.findIndex((g) => g.length === last.length && g.every((v, k) => v === last[k]));
    groups.splice(same, 1);
  }
  return groups.map((g) => [g.reduce((s, i) => s + line[i]![0], 0) / g.length, g.reduce((s, i) => s + line[i]![1], 0) / g.length]);
}

/** PaddleX's sample_points_on_bbox_bp: `n` + 1 points evenly spaced along a polyline, its ends kept. */
export function resampleLine(line: readonly Point[], n: number): Point[] {
  if (line.length < 2) throw new Error('a sideline needs at least 2 points');
  const lengths = line.slice(0, -1).map((p, i) => dist(p, line[i + 1]!));
  const cumsum = [0];
  for (const l of lengths) cumsum.push(cumsum.at(-1)! + l);
  const delta = cumsum.at(-1)! / (n + 1e-8);
  const out: Point[] = [line[0]!];
  let edge = 0;
  for (let i = 1; i < n; i++) {
    const along = i * delta;
    while (edge + 1 < cumsum.length && along >= cumsum[edge + 1]!) edge++;
    if (edge >= lengths.length) break;
    const ratio = (along - cumsum[edge]!) / lengths[edge]!;
    const [a, b] = [line[edge]!, line[edge + 1]!];
    out.push([a[0] + (b[0] - a[0]) * ratio, a[1] + (b[1] - a[1]) * ratio]);
  }
  out.push(line.at(-1)!);
  return out;
}

const norm = (v: Point) => Math.hypot(v[0], v[1]);

/** Angle between two vectors (numpy's arccos of the clipped dot product of units, norms + 1e-8). */
function vectorAngle(a: Point, b: Point): number {
  const na = norm(a) + 1e-8;
  const nb = norm(b) + 1e-8;
  return Math.acos(Math.min(1, Math.max(-1, (a[0] / na) * (b[0] / nb) + (a[1] / na) * (b[1] / nb))));
}

const slope = (v: Point) => Math.abs(v[1] / (v[0] + 1e-8));

/** PaddleX's find_head_tail (orientation threshold 2.0): the two short "end" edges of a text polygon. */
function findHeadTail(points: readonly Point[]): { head: [number, number]; tail: [number, number] } {
  const n = points.length;
  const sub = (a: Point, b: Point): Point => [a[0] - b[0], a[1] - b[1]];
  if (n > 4) {
    const edges = points.map((p, i) => sub(points[(i + 1) % n]!, p));
    const centre: Point = [points.reduce((s, p) => s + p[0], 0) / n, points.reduce((s, p) => s + p[1], 0) / n];
    const edgeDist = points.map((p, i) => Math.max(dist(points[(i + 1) % n]!, centre), dist(p, centre)));
    const maxDist = Math.max(...edgeDist);
    const score = edges.map((edge, i) => {
      const prev = edges[(i - 1 + n) % n]!;
      const next = edges[(i + 1) % n]!;
      const thetaSum = (vectorAngle(edge, prev) + vectorAngle(edge, next)) / Math.PI;
      const adjacent = vectorAngle(prev, next) / Math.PI;
      let position = 0;
      if (n % 2 === 0 && (i === n / 2 - 1 || i === n - 1)) position = 1;
      return 0.5 * thetaSum + 0.15 * adjacent + 0.35 * (edgeDist[i]! / maxDist) + 0.1 * position;
    });
    const cols = n - 3;
    const gaussianRaw = Array.from({ length: cols }, (_, k) => {
      const x = k / (n - 4);
      return (1 / (Math.sqrt(2 * Math.PI) * 0.5)) * Math.exp(-(((x - 0.5) / 0.5) ** 2) / 2);
    });
    const gMax = Math.max(...gaussianRaw);
    let best = -Infinity;
    let headStart = 0;
    let tailIncrement = 0;
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < cols; k++) {
        const value = score[i]! + score[(i + 2 + k) % n]! * (gaussianRaw[k]! / gMax) * 0.3;
        // numpy argmax: the first maximum in row-major order
        if (value > best) {
          best = value;
          headStart = i;
          tailIncrement = k;
        }
      }
    }
    let tailStart = (headStart + tailIncrement + 2) % n;
    let headEnd = (headStart + 1) % n;
    let tailEnd = (tailStart + 1) % n;
    if (headEnd > tailEnd) {
      [headStart, tailStart] = [tailStart, headStart];
      [headEnd, tailEnd] = [tailEnd, headEnd];
    }
    return { head: [headStart, headEnd], tail: [tailStart, tailEnd] };
  }
  const [p0, p1, p2, p3] = points as [Point, Point, Point, Point];
  const [horizontal, vertical]: [Array<[number, number]>, Array<[number, number]>] =
    slope(sub(p1, p0)) + slope(sub(p3, p2)) < slope(sub(p2, p1)) + slope(sub(p0, p3))
      ? [
          [
            [0, 1],
            [2, 3],
          ],
          [
            [3, 0],
            [1, 2],
          ],
        ]
      : [
          [
            [3, 0],
            [1, 2],
          ],
          [
            [0, 1],
            [2, 3],
          ],
        ];
  const edgeLength = ([a, b]: [number, number]) => dist(points[a]!, points[b]!);
  const verticalSum = edgeLength(vertical[0]!) + edgeLength(vertical[1]!);
  const horizontalSum = edgeLength(horizontal[0]!) + edgeLength(horizontal[1]!);
  return verticalSum > horizontalSum * 2.0 ? { head: horizontal[0]!, tail: horizontal[1]! } : { head: vertical[0]!, tail: vertical[1]! };
}

/** PaddleX's reorder_poly_edge: the two sidelines between the head and tail edges. */
export function polygonSidelines(points: readonly Point[]): [Point[], Point[]] {
  if (points.length < 4) throw new Error('a text polygon needs at least 4 points');
  const n = points.length;
  const { head, tail } = findHeadTail(points);
  const padded = [...points, ...points];
  const tailEnd = tail[1] < 1 ? n : tail[1];
  return [padded.slice(head[1], tailEnd), padded.slice(tailEnd, head[1] + n)];
}

/** One homography patch of dc_homo: the image quad warped onto a world_width × world_height rectangle. */
function homographyPatch(cv: CV, img: RgbImage, quad: Point[], worldWidth: number, worldHeight: number): RgbImage {
  const width = Math.trunc(worldWidth);
  const height = Math.trunc(worldHeight);
  if (width <= 0 || height <= 0) throw new Error('empty homography patch');
  return withMats((track) => {
    const src = track(matFromRgb(cv, img));
    const from = track(cv.matFromArray(4, 1, cv.CV_32FC2, quad.flat().map(Math.fround)));
    const to = track(cv.matFromArray(4, 1, cv.CV_32FC2, [0, 0, worldWidth, 0, worldWidth, worldHeight, 0, worldHeight].map(Math.fround)));
    const transform = track(cv.getPerspectiveTransform(from, to));
    const dst = track(new cv.Mat());
    cv.warpPerspective(src, dst, transform, new cv.Size(width, height), cv.INTER_LINEAR, cv.BORDER_CONSTANT, new cv.Scalar(0, 0, 0, 0));
    return rgbFromMat(dst);
  });
}

/** CurveTextRectifier.horizontal_text_process: the flat-world position of each point (centred), top then bottom reversed. */
function worldPoints(points: readonly Point[]): Point[] {
  const n = points.length;
  const steps = points.slice(1).map((p, i) => dist(p, points[i]!));
  const heights = Array.from({ length: Math.floor(n / 2) }, (_, i) => dist(points[i]!, points[n - 1 - i]!));
  const widths = Array.from({ length: Math.floor(steps.length / 2) }, (_, i) => (steps[i]! + steps[steps.length - 1 - i]!) / 2);
  const height = roundHalfEven(heights.reduce((a, b) => a + b, 0) / heights.length);
  const top: Point[] = [[0, 0]];
  for (let i = 0; i < Math.floor(n / 2) - 1; i++) top.push([top.at(-1)![0] + widths[i]!, 0]);
  const world: Point[] = [...top, ...[...top].reverse().map(([x]): Point => [x, height])];
  const xs = world.map((p) => p[0]);
  const ys = world.map((p) => p[1]);
  const xMean = (Math.max(...xs) - Math.min(...xs)) / 2;
  const yMean = (Math.max(...ys) - Math.min(...ys)) / 2;
  return world.map(([x, y]) => [x - xMean, y - yMean]);
}

/** CurveTextRectifier in homography mode (dc_homo): one patch per pair of neighbouring point pairs, stitched left to right. */
function rectifyByHomography(cv: CV, img: RgbImage, points: readonly Point[]): RgbImage {
  const xs = points.map((p) => Math.trunc(p[0]));
  const ys = points.map((p) => Math.trunc(p[1]));
  const spanX = Math.max(...xs) - Math.min(...xs);
  if (spanX === 0) throw new Error('zero-width text polygon');
  const horizontal = !((Math.max(...ys) - Math.min(...ys)) / spanX > 1.5);
  let imagePoints: Point[];
  let world: Point[];
  if (horizontal) {
    imagePoints = [...points];
    world = worldPoints(points);
  } else {
    // vertical_text_process: start from the second point, solve in a frame turned to horizontal, turn back
    imagePoints = [...points.slice(1), points[0]!];
    const turned = imagePoints.map(([x, y]): Point => [Math.fround(y), Math.fround(img.height - x - 1)]);
    world = worldPoints(turned).map(([x, y]): Point => [-y, x]);
  }
  const n = imagePoints.length;
  const patches: RgbImage[] = [];
  for (let i = 0; i < Math.floor(n / 2) - 1; i++) {
    const pick = (list: readonly Point[]) => [list[i]!, list[i + 1]!, list[n - 2 - i]!, list[n - 1 - i]!];
    const quad = pick(imagePoints);
    const w = pick(world).map(([x, y]): Point => [Math.fround(x), Math.fround(y)]);
    const [worldWidth, worldHeight] = horizontal
      ? [Math.abs(Math.fround(w[1]![0] - w[0]![0])), Math.abs(Math.fround(w[3]![1] - w[0]![1]))]
      : [Math.abs(Math.fround(w[1]![1] - w[0]![1])), Math.abs(Math.fround(w[3]![0] - w[0]![0]))];
    patches.push(homographyPatch(cv, img, quad, worldWidth, worldHeight));
  }
  if (!patches.length) throw new Error('no homography patches');
  const width = patches.reduce((s, p) => s + p.width, 0);
  const height = Math.max(...patches.map((p) => p.height));
  const data = new Uint8Array(width * height * 3);
  let x0 = 0;
  for (const patch of patches) {
    for (let y = 0; y < patch.height; y++) {
      data.set(patch.data.subarray(y * patch.width * 3, (y + 1) * patch.width * 3), (y * width + x0) * 3);
    }
    x0 += patch.width;
  }
  const stitched = { width, height, data };
  return horizontal ? stitched : rotateImage(stitched, 270);
}

/** AutoRectifier.get_rotate_crop_image for a many-point polygon: its axis-aligned bounding box, cut out. */
function boundingBoxCrop(img: RgbImage, points: readonly Point[]): RgbImage {
  const clip = (v: number, max: number) => Math.min(Math.max(v, 0), max - 1);
  const x0 = clip(Math.trunc(Math.min(...points.map((p) => p[0]))), img.width);
  const y0 = clip(Math.trunc(Math.min(...points.map((p) => p[1]))), img.height);
  const x1 = clip(Math.trunc(Math.max(...points.map((p) => p[0]))), img.width);
  const y1 = clip(Math.trunc(Math.max(...points.map((p) => p[1]))), img.height);
  const width = Math.max(0, x1 - x0);
  const height = Math.max(0, y1 - y0);
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    data.set(img.data.subarray(((y0 + y) * img.width + x0) * 3, ((y0 + y) * img.width + x1) * 3), y * width * 3);
  return { width, height, data };
}

/**
 * PaddleX's get_poly_rect_crop. Where PaddleX would stop on an assertion (a polygon whose sidelines
 * cannot be found), this falls back to the min-area rectangle crop instead of failing the request.
 */
export function cropCurvedText(cv: CV, img: RgbImage, polygon: readonly Point[]): RgbImage {
  const points = polygon.map(([x, y]): Point => [Math.trunc(x), Math.trunc(y)]);
  const { box } = minAreaBox(cv, points);
  const rectCrop = cropQuad(cv, img, box);
  if (!isValidPolygon(points) || polygonIou(points, box) >= 0.7) return rectCrop;
  let samples: Point[];
  try {
    const merged = mergeShortEdges(points).map(([x, y]): Point => [Math.trunc(x), Math.trunc(y)]);
    let [top, bottom] = polygonSidelines(merged).map((line) => resampleLine(line, 15)) as [Point[], Point[]];
    const meanY = (line: Point[]) => line.reduce((s, p) => s + p[1], 0) / line.length;
    if (meanY(top) - meanY(bottom) > 0) [top, bottom] = [bottom, top];
    samples = [...top, ...bottom].map(([x, y]): Point => [Math.fround(x), Math.fround(y)]);
  } catch {
    return rectCrop;
  }
  if (samples.length < 10 || samples.length % 2 !== 0) return boundingBoxCrop(img, samples);
  try {
    return rectifyByHomography(cv, img, samples);
  } catch {
    // AutoRectifier logs the exception and falls back to get_rotate_crop_image
    return boundingBoxCrop(img, samples);
  }
}
