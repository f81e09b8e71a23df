/**
 * PaddleX `3d_bev_detection` (BEVFusion), as its `BEVDet3DPredictor` and processors prepare a
 * sample: `LoadPointsFromFile` (raw float32, `load_dim` columns, `use_dim` kept),
 * `LoadPointsFromMultiSweeps` (key frame's column 4 zeroed; the first `sweeps_num` sweeps moved
 * into the LiDAR frame with their `sensor2lidar` rotation and translation, column 4 the time lag in
 * seconds; then `use_dim`), `LoadMultiViewImageFromFiles` (six images), `ResizeImage` (keep ratio:
 * factor min(long/long side, short/short side), sizes rounded half up, bilinear), `NormalizeImage`
 * (BGR → RGB, − mean, / std), `PadImage` (bottom and right to a multiple of `size_divisor`, zeros),
 * the lidar→image matrices of `ReadNuscenesData`, and `GetInferInput`'s three inputs in order:
 * images [6, 3, H, W], lidar2img [6, 4, 4], points [N, dims] (fed by position, as PaddleX's
 * StaticInfer does). Outputs by position: boxes [N, 9] (x, y, z, w, l, h, yaw, vx, vy), labels [N],
 * scores [N], all returned (the model applies its own score threshold and NMS).
 *
 * Where PaddleX would sample sweeps at random (more sweeps than `sweeps_num` and `test_mode`
 * false), the first `sweeps_num` are taken, as its `test_mode` does: a served answer must not vary.
 */
import type { InferenceSession } from 'onnxruntime-node';
import { z } from 'zod';
import type { ResolvedSubModule } from '../config/models.js';
import { invalidInput } from '../errors.js';
import type { BevCamera, BevSample, BevSweep } from '../io/bevSample.js';
import { decodeImage } from '../io/codec.js';
import type { RgbImage } from '../io/image.js';
import { cvResize, loadCv } from '../ops/cv.js';
import type { RuntimeContext } from '../runtime/context.js';
import { ort } from '../runtime/session.js';
import { InferenceConfigReader } from './common.js';
import { positiveInt } from './preprocessOps.js';

const dims = z.union([positiveInt, z.array(z.number().int().min(0)).min(1)]);
const loadPoints = z.object({ load_dim: positiveInt.default(6), use_dim: dims.default([0, 1, 2]) });
const loadSweeps = z.object({
  sweeps_num: z.number().int().min(0).default(10),
  load_dim: positiveInt.default(5),
  use_dim: dims.default([0, 1, 2, 4]),
  pad_empty_sweeps: z.boolean().default(false),
  remove_close: z.boolean().default(false),
  point_cloud_angle_range: z.tuple([z.number(), z.number()]).nullable().default(null),
});
const resizeImage = z.object({
  img_scale: z.array(z.tuple([positiveInt, positiveInt])).length(1),
  keep_ratio: z.literal(true).default(true),
});
const normalizeImage = z.object({
  mean: z.array(z.number()).length(3),
  std: z.array(z.number().positive()).length(3),
  to_rgb: z.boolean().default(true),
});
const padImage = z.object({ size_divisor: positiveInt });

/** PaddleX's `use_dim`: an int n means columns 0…n−1. */
function columns(useDim: z.output<typeof dims>): number[] {
  return typeof useDim === 'number' ? Array.from({ length: useDim }, (_, i) => i) : useDim;
}

export interface BevDetections {
  boxes: number[][];
  labels: number[];
  scores: number[];
}

/** Points of a raw float32 file as rows of `loadDim` values; a size that is not a whole number of rows is the client's error. */
function pointRows(bytes: Uint8Array, loadDim: number, what: string): Float32Array {
  if (bytes.length % (4 * loadDim) !== 0) {
    throw invalidInput(`tar: ${what} has ${bytes.length} bytes, not a whole number of points of ${loadDim} float32 values`);
  }
  const copy = new Uint8Array(bytes); // aligned, and the sweep transform writes into it
  return new Float32Array(copy.buffer);
}

function selectColumns(rows: Float32Array, width: number, keep: number[]): Float32Array {
  const n = rows.length / width;
  const out = new Float32Array(n * keep.length);
  for (let i = 0; i < n; i++) for (let k = 0; k < keep.length; k++) out[i * keep.length + k] = rows[i * width + keep[k]!]!;
  return out;
}

/** numpy.linalg.inv of a row-major 3×3 matrix. */
function invert3(m: number[]): number[] {
  const [a, b, c, d, e, f, g, h, i] = m as [number, number, number, number, number, number, number, number, number];
  const det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
  if (det === 0 || !Number.isFinite(det)) throw invalidInput('tar: a camera sensor2lidar_rotation is singular');
  return [
    e * i - f * h,
    c * h - b * i,
    b * f - c * e,
    f * g - d * i,
    a * i - c * g,
    c * d - a * f,
    d * h - e * g,
    b * g - a * h,
    a * e - b * d,
  ].map((v) => v / det);
}

/** ReadNuscenesData's lidar→image matrix (row-major 4×4): viewpad(intrinsic) @ lidar2cam_rt.T. */
export function lidarToImage(camera: Pick<BevCamera, 'sensor2lidarRotation' | 'sensor2lidarTranslation' | 'intrinsic'>): number[] {
  const r = invert3(camera.sensor2lidarRotation); // lidar2cam_r
  const t = camera.sensor2lidarTranslation;
  // lidar2cam_t = t @ lidar2cam_r.T
  const lidarToCamT = [0, 1, 2].map((row) => t[0]! * r[row * 3]! + t[1]! * r[row * 3 + 1]! + t[2]! * r[row * 3 + 2]!);
  // lidar2cam_rt.T: rows 0-2 = [lidar2cam_r | -lidar2cam_t], row 3 = [0 0 0 1]
  const rtT = [...[0, 1, 2].flatMap((row) => [r[row * 3]!, r[row * 3 + 1]!, r[row * 3 + 2]!, -lidarToCamT[row]!]), 0, 0, 0, 1];
  const view = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
  for (let row = 0; row < 3; row++) for (let col = 0; col < 3; col++) view[row * 4 + col] = camera.intrinsic[row * 3 + col]!;
  const out = new Array<number>(16).fill(0);
  for (let row = 0; row < 4; row++)
    for (let col = 0; col < 4; col++) for (let k = 0; k < 4; k++) out[row * 4 + col]! += view[row * 4 + k]! * rtT[k * 4 + col]!;
  return out;
}

/** ResizeImage's `rescale_size` with `keep_ratio` and a [long, short] scale: new (width, height). */
export function rescaledSize(width: number, height: number, scale: [number, number]): { width: number; height: number } {
  const factor = Math.min(Math.max(...scale) / Math.max(width, height), Math.min(...scale) / Math.min(width, height));
  return { width: Math.trunc(width * factor + 0.5), height: Math.trunc(height * factor + 0.5) };
}

export class BevDetector {
  private constructor(
    private readonly session: InferenceSession,
    private readonly points: z.output<typeof loadPoints>,
    private readonly sweeps: z.output<typeof loadSweeps>,
    private readonly scale: [number, number],
    private readonly normalize: z.output<typeof normalizeImage>,
    private readonly sizeDivisor: number,
  ) {}

  static async load(sub: ResolvedSubModule, rt: RuntimeContext, keyPath: string): Promise<BevDetector> {
    const yml = new InferenceConfigReader(sub, keyPath);
    const ops = yml.config.PreProcess?.transform_ops;
    if (!Array.isArray(ops)) {
      throw yml.error(
        'PreProcess.transform_ops',
        'missing (expected LoadPointsFromFile, LoadPointsFromMultiSweeps, LoadMultiViewImageFromFiles, ResizeImage, NormalizeImage, PadImage, SampleFilterByKey)',
      );
    }
    const op = <S extends z.ZodType>(name: string, schema: S): z.output<S> => {
      const entry = ops.find((o: Record<string, unknown>) => o && name in o);
      if (!entry) throw yml.error('PreProcess.transform_ops', `has no ${name}`);
      return yml.parse(schema, entry[name], `PreProcess.transform_ops.${name}`);
    };
    const points = op('LoadPointsFromFile', loadPoints);
    const sweeps = op('LoadPointsFromMultiSweeps', loadSweeps);
    const keyColumns = columns(points.use_dim);
    if (Math.max(...keyColumns) >= points.load_dim)
      throw yml.error('LoadPointsFromFile.use_dim', `columns must be below load_dim ${points.load_dim}`);
    // the sweeps' rows are stacked under the key frame's, and both have column 4 set to the time lag
    if (keyColumns.length !== sweeps.load_dim || keyColumns.length < 5) {
      throw yml.error(
        'LoadPointsFromMultiSweeps.load_dim',
        `must equal the ${keyColumns.length} columns LoadPointsFromFile keeps (at least 5)`,
      );
    }
    if (Math.max(...columns(sweeps.use_dim)) >= sweeps.load_dim) {
      throw yml.error('LoadPointsFromMultiSweeps.use_dim', `columns must be below load_dim ${sweeps.load_dim}`);
    }
    const session = await rt.loadSession(sub.resolved);
    const ranks = session.inputMetadata.map((m) => (m.isTensor ? m.shape.length : -1));
    if (session.inputNames.length !== 3 || ranks.join() !== '4,3,2' || session.outputNames.length < 3) {
      throw yml.error(
        'model',
        `inputs [${session.inputNames.join(', ')}] / outputs [${session.outputNames.join(', ')}] are not BEVFusion's (images [6, 3, H, W], lidar2img [6, 4, 4], points [N, dims] → boxes, labels, scores)`,
      );
    }
    return new BevDetector(
      session,
      points,
      sweeps,
      op('ResizeImage', resizeImage).img_scale[0]!,
      op('NormalizeImage', normalizeImage),
      op('PadImage', padImage).size_divisor,
    );
  }

  /** LoadPointsFromFile then LoadPointsFromMultiSweeps: the point rows the model reads. */
  pointCloud(sample: BevSample): { data: Float32Array; dims: number } {
    const { load_dim } = this.points;
    const keep = columns(this.points.use_dim);
    const key = selectColumns(pointRows(sample.lidar, load_dim, sample.lidarPath), load_dim, keep);
    const width = keep.length;
    for (let i = 4; i < key.length; i += width) key[i] = 0;
    const sweepsCfg = this.sweeps;
    const parts: Float32Array[] = [key];
    const keySeconds = sample.timestamp / 1e6;
    if (sweepsCfg.pad_empty_sweeps && sample.sweeps.length === 0) {
      for (let s = 0; s < sweepsCfg.sweeps_num; s++) parts.push(sweepsCfg.remove_close ? removeClose(key, width) : key);
    } else {
      for (const sweep of sample.sweeps.slice(0, sweepsCfg.sweeps_num)) parts.push(this.sweepPoints(sweep, keySeconds));
    }
    let rows = concat(parts);
    if (sweepsCfg.point_cloud_angle_range) rows = filterByAngle(rows, width, sweepsCfg.point_cloud_angle_range);
    const use = columns(sweepsCfg.use_dim);
    return { data: selectColumns(rows, width, use), dims: use.length };
  }

  private sweepPoints(sweep: BevSweep, keySeconds: number): Float32Array {
    const width = this.sweeps.load_dim;
    let rows = pointRows(sweep.points, width, sweep.path);
    if (this.sweeps.remove_close) rows = removeClose(rows, width);
    const r = sweep.sensor2lidarRotation;
    const t = sweep.sensor2lidarTranslation;
    // float32 points @ float64 R.T + t, stored back as float32 (numpy's casting of the assignment)
    const lag = Math.fround(keySeconds - sweep.timestamp / 1e6);
    for (let i = 0; i < rows.length; i += width) {
      const [x, y, z] = [rows[i]!, rows[i + 1]!, rows[i + 2]!];
      for (let k = 0; k < 3; k++) rows[i + k] = Math.fround(x * r[k * 3]! + y * r[k * 3 + 1]! + z * r[k * 3 + 2]!) + t[k]!;
      rows[i + 4] = lag;
    }
    return rows;
  }

  /** Load, resize, normalise and pad the six images into one [6, 3, H, W] tensor. */
  private async images(cameras: BevCamera[]): Promise<{ data: Float32Array; height: number; width: number }> {
    const cv = await loadCv();
    const resized: RgbImage[] = [];
    for (const camera of cameras) {
      // cv2.imread(IMREAD_UNCHANGED) then the BGR → RGB of NormalizeImage: decodeImage gives RGB at once
      const image = await decodeImage(camera.image, `tar: ${camera.path}`);
      const size = rescaledSize(image.width, image.height, this.scale);
      resized.push(
        size.width === image.width && size.height === image.height ? image : cvResize(cv, image, size.width, size.height, cv.INTER_LINEAR),
      );
    }
    const first = resized[0]!;
    if (resized.some((img) => img.width !== first.width || img.height !== first.height)) {
      throw invalidInput(
        `tar: the six camera images must have one size (${resized.map((img) => `${img.width}×${img.height}`).join(', ')} after resizing)`,
      );
    }
    const d = this.sizeDivisor;
    const height = Math.ceil(first.height / d) * d;
    const width = Math.ceil(first.width / d) * d;
    const plane = height * width;
    const data = new Float32Array(cameras.length * 3 * plane);
    const { mean, std, to_rgb } = this.normalize;
    const m = mean.map(Math.fround);
    const inv = std.map((s) => Math.fround(1 / s));
    resized.forEach((img, v) => {
      for (let c = 0; c < 3; c++) {
        // to_rgb false keeps OpenCV's BGR order: channel c is RGB channel 2 − c
        const source = to_rgb ? c : 2 - c;
        const base = (v * 3 + c) * plane;
        for (let y = 0; y < img.height; y++)
          for (let x = 0; x < img.width; x++) {
            data[base + y * width + x] = Math.fround(Math.fround(img.data[(y * img.width + x) * 3 + source]! - m[c]!) * inv[c]!);
          }
      }
    });
    return { data, height, width };
  }

  async predict(sample: BevSample): Promise<BevDetections> {
    const images = await this.images(sample.cameras);
    const points = this.pointCloud(sample);
    const lidar2img = Float32Array.from(sample.cameras.flatMap(lidarToImage));
    const [imgMeta] = this.session.inputMetadata;
    const fixed = imgMeta?.isTensor ? imgMeta.shape.slice(2) : [];
    if (fixed.every((d) => typeof d === 'number' && d > 0) && (fixed[0] !== images.height || fixed[1] !== images.width)) {
      throw invalidInput(
        `tar: the camera images are ${images.width}×${images.height} after resizing and padding; the model takes ${fixed[1]}×${fixed[0]} (nuScenes' 1600×900 cameras)`,
      );
    }
    const n = sample.cameras.length;
    const [imgName, matName, ptsName] = this.session.inputNames as [string, string, string];
    const outputs = await this.session.run({
      [imgName]: new ort.Tensor('float32', images.data, [n, 3, images.height, images.width]),
      [matName]: new ort.Tensor('float32', lidar2img, [n, 4, 4]),
      [ptsName]: new ort.Tensor('float32', points.data, [points.data.length / points.dims, points.dims]),
    });
    const [boxes, labels, scores] = this.session.outputNames.slice(0, 3).map((name) => outputs[name]!);
    const count = scores!.dims[0] ?? 0;
    if (boxes!.dims.length !== 2 || boxes!.dims[0] !== count || boxes!.dims[1] !== 9 || labels!.dims[0] !== count) {
      throw new Error(
        `BEVFusion outputs [${boxes!.dims}], [${labels!.dims}], [${scores!.dims}] are not boxes [N, 9], labels [N], scores [N]`,
      );
    }
    const boxData = boxes!.data as Float32Array;
    return {
      boxes: Array.from({ length: count }, (_, i) => Array.from(boxData.subarray(i * 9, i * 9 + 9))),
      labels: Array.from(labels!.data as ArrayLike<number | bigint>, Number),
      scores: Array.from(scores!.data as Float32Array),
    };
  }
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** `_remove_close`: drops points within 1 m of the sensor along both x and y. */
function removeClose(rows: Float32Array, width: number): Float32Array {
  const kept: number[] = [];
  for (let i = 0; i < rows.length; i += width) if (!(Math.abs(rows[i]!) < 1 && Math.abs(rows[i + 1]!) < 1)) kept.push(i);
  const out = new Float32Array(kept.length * width);
  kept.forEach((from, k) => out.set(rows.subarray(from, from + width), k * width));
  return out;
}

/** `filter_point_by_angle`: keeps points whose azimuth (degrees, atan(x / y) convention) lies in the range. */
function filterByAngle(rows: Float32Array, width: number, [low, high]: [number, number]): Float32Array {
  const kept: number[] = [];
  for (let i = 0; i < rows.length; i += width) {
    const [x, y] = [rows[i]!, rows[i + 1]!];
    // the sum is positive, so JavaScript's % agrees with numpy's here
    let phi = (Math.atan(x / y) + (y < 0 ? Math.PI : 0) + 2 * Math.PI) % (2 * Math.PI);
    if (phi > Math.PI) phi -= 2 * Math.PI;
    const degrees = (phi / Math.PI) * 180;
    if (degrees >= low && degrees <= high) kept.push(i);
  }
  const out = new Float32Array(kept.length * width);
  kept.forEach((from, k) => out.set(rows.subarray(from, from + width), k * width));
  return out;
}
