/**
 * Top-down keypoint models (PaddleX module `keypoint_detection`, e.g. PP-TinyPose): a person box is
 * warped onto the model input (TopDownEvalAffine), the model outputs one heatmap per joint, and
 * PaddleX's KptPostProcess turns them into points: argmax, DARK sub-pixel refinement, back to the image.
 */
import { z } from 'zod';
import type { InferenceSession } from 'onnxruntime-node';
import { readParam } from '../config/pipelineConfig.js';
import type { ResolvedSubModule } from '../config/models.js';
import { ConfigError } from '../errors.js';
import type { RgbImage } from '../io/image.js';
import { type CV, loadCv, withMats } from '../ops/cv.js';
import { normalizeToChw, type NormalizeSpec } from '../ops/normalize.js';
import { type Affine, applyAffine, boxToOutput, outputToBox, type Point, udpBoxToOutput, warpAffine } from '../ops/topDownAffine.js';
import { ort } from '../runtime/session.js';
import type { RuntimeContext } from '../runtime/context.js';
import { InferenceConfigReader } from './common.js';
import { normalizeSpec, readPreprocessOps } from './preprocessOps.js';

/** A person box as the crop takes it: centre and size (pixels, already padded to the input's aspect ratio). */
export interface PersonBox {
  center: Point;
  scale: Point;
}

export interface Keypoints {
  /** [x, y, score] per joint, in image pixels */
  keypoints: Array<[number, number, number]>;
  /** the mean joint score */
  kptScore: number;
}

/** COCO's left/right joint pairs, swapped when a mirrored heatmap is flipped back (PaddleX's flip_perm). */
const FLIP_PAIRS: ReadonlyArray<readonly [number, number]> = [
  [1, 2],
  [3, 4],
  [5, 6],
  [7, 8],
  [9, 10],
  [11, 12],
  [13, 14],
  [15, 16],
];

interface KeypointConfig {
  /** model input [width, height] */
  inputSize: Point;
  useUdp: boolean;
  normalize: NormalizeSpec;
}

function parseKeypointConfig(yml: InferenceConfigReader, useUdpOverride: boolean | undefined): KeypointConfig {
  if (!Array.isArray(yml.config.Preprocess)) throw yml.error('Preprocess', 'missing or not a list');
  let affine: { trainsize: [number, number]; use_udp?: boolean | null } | undefined;
  let normalize: NormalizeSpec | undefined;
  let permuted = false;
  for (const op of readPreprocessOps(yml, ['TopDownEvalAffine', 'NormalizeImage', 'Permute'])) {
    if (op.name === 'TopDownEvalAffine') affine = op.params;
    // PaddleX hands the keypoint model the detector's RGB image and reads it again as if it were BGR,
    // so the channels arrive swapped; matched here so the scores are PaddleX's.
    else if (op.name === 'NormalizeImage') normalize = normalizeSpec(op.params, 'bgr');
    else permuted = true;
  }
  if (!affine) throw yml.error('Preprocess', 'no TopDownEvalAffine op (a top-down keypoint model crops each person with it)');
  if (!permuted) throw yml.error('Preprocess', 'no Permute op (only NCHW keypoint models are supported)');
  return {
    inputSize: affine.trainsize,
    useUdp: useUdpOverride ?? affine.use_udp ?? false,
    normalize: normalize ?? { scale: 1, mean: [0, 0, 0], std: [1, 1, 1], channelOrder: 'bgr' },
  };
}

/** One joint's heatmap, H × W, row-major. */
type Heatmap = Float64Array;

/**
 * PaddleX's gaussian_blur for DARK: the map padded by a zero border, cv2.GaussianBlur 3×3 with sigma 0,
 * the border cut off again, rescaled so its maximum is the original maximum.
 */
function blurForDark(cv: CV, map: Heatmap, width: number, height: number): Heatmap {
  const originalMax = map.reduce((m, v) => Math.max(m, v), Number.NEGATIVE_INFINITY);
  const blurred = withMats((track) => {
    const padded = track(cv.Mat.zeros(height + 2, width + 2, cv.CV_64F));
    const paddedData = padded.data64F;
    for (let y = 0; y < height; y++) paddedData.set(map.subarray(y * width, (y + 1) * width), (y + 1) * (width + 2) + 1);
    const out = track(new cv.Mat());
    cv.GaussianBlur(padded, out, new cv.Size(3, 3), 0, 0, cv.BORDER_DEFAULT);
    const result = new Float64Array(width * height);
    for (let y = 0; y < height; y++)
      result.set(out.data64F.subarray((y + 1) * (width + 2) + 1, (y + 1) * (width + 2) + 1 + width), y * width);
    return result;
  });
  const blurredMax = blurred.reduce((m, v) => Math.max(m, v), Number.NEGATIVE_INFINITY);
  return blurred.map((v) => (v * originalMax) / blurredMax);
}

/** PaddleX's dark_parse: one Newton step on the log-heatmap from the integer peak, when the 5×5 stencil fits. */
function darkRefine(logMap: Heatmap, width: number, height: number, [x, y]: Point): Point {
  const px = Math.trunc(x);
  const py = Math.trunc(y);
  if (!(1 < px && px < width - 2 && 1 < py && py < height - 2)) return [x, y];
  const at = (dx: number, dy: number) => logMap[(py + dy) * width + px + dx]!;
  const dx = 0.5 * (at(1, 0) - at(-1, 0));
  const dy = 0.5 * (at(0, 1) - at(0, -1));
  const dxx = 0.25 * (at(2, 0) - 2 * at(0, 0) + at(-2, 0));
  const dxy = 0.25 * (at(1, 1) - at(1, -1) - at(-1, 1) + at(-1, -1));
  const dyy = 0.25 * (at(0, 2) - 2 * at(0, 0) + at(0, -2));
  const det = dxx * dyy - dxy * dxy;
  if (det === 0) return [x, y];
  // offset = -Hessian⁻¹ · gradient
  return [x - (dyy * dx - dxy * dy) / det, y - (-dxy * dx + dxx * dy) / det];
}

/** PaddleX module `keypoint_detection` (top-down, heatmap output) on an ONNX session. */
export class KeypointDetector {
  private constructor(
    private readonly session: InferenceSession,
    private readonly cv: CV,
    private readonly config: KeypointConfig,
    private readonly flip: boolean,
    /** PP-TinyPose's mirrored heatmaps are one column off; PaddleX shifts them back */
    private readonly shiftFlipped: boolean,
  ) {}

  /** model input [width, height] */
  get inputSize(): Point {
    return this.config.inputSize;
  }

  static async load(sub: ResolvedSubModule, rt: RuntimeContext, keyPath: string): Promise<KeypointDetector> {
    const yml = new InferenceConfigReader(sub, keyPath);
    // PaddleX: the sub-module's `flip` (default false) and `use_udp` (null = the export's TopDownEvalAffine setting)
    const flip = readParam(sub, 'flip', z.boolean(), keyPath, false);
    const useUdp = readParam<boolean | undefined>(sub, 'use_udp', z.boolean(), keyPath, undefined);
    const config = parseKeypointConfig(yml, useUdp);
    const session = await rt.loadSession(sub.resolved);
    if (session.inputNames.length !== 1) {
      throw new ConfigError(
        `${yml.where}: inference.onnx takes [${session.inputNames.join(', ')}]; a keypoint export takes one image input`,
      );
    }
    const modelName = String(yml.config.Global?.model_name ?? sub.model_name);
    return new KeypointDetector(session, await loadCv(), config, flip, modelName.includes('PP-TinyPose'));
  }

  /** Keypoints for each box of `img`, one model run per box (and a mirrored one with `flip`), as PaddleX's pipeline runs them. */
  async predict(img: RgbImage, boxes: PersonBox[]): Promise<Keypoints[]> {
    const results: Keypoints[] = [];
    for (const box of boxes) results.push(await this.predictOne(img, box));
    return results;
  }

  private async predictOne(img: RgbImage, { center, scale }: PersonBox): Promise<Keypoints> {
    const [width, height] = this.config.inputSize;
    const toInput: Affine = (this.config.useUdp ? udpBoxToOutput : boxToOutput)(center, scale, this.config.inputSize);
    const crop = warpAffine(this.cv, img, toInput, width, height);
    const input = normalizeToChw(crop, this.config.normalize);
    const heatmaps = await this.heatmaps(input);
    if (this.flip) {
      const mirrored = await this.heatmaps(mirrorColumns(input, 3, height, width));
      this.flipBack(mirrored);
      heatmaps.maps.forEach((v, i) => {
        heatmaps.maps[i] = (v + mirrored.maps[i]!) * 0.5;
      });
    }
    return this.decode(heatmaps, center, scale);
  }

  private async heatmaps(input: Float32Array): Promise<{ maps: Float64Array; joints: number; height: number; width: number }> {
    const [width, height] = this.config.inputSize;
    const feeds = { [this.session.inputNames[0]!]: new ort.Tensor('float32', input, [1, 3, height, width]) };
    const output = (await this.session.run(feeds))[this.session.outputNames[0]!]!;
    if (output.dims.length !== 4 || output.dims[0] !== 1) {
      throw new Error(
        `keypoint model output ${this.session.outputNames[0]} is [${output.dims.join(', ')}]; expected heatmaps [1, joints, H, W]`,
      );
    }
    const [, joints, mapHeight, mapWidth] = output.dims as [number, number, number, number];
    return { maps: Float64Array.from(output.data as Float32Array), joints, height: mapHeight, width: mapWidth };
  }

  /** PaddleX's flip_back: mirror each map, swap left/right joints, and (PP-TinyPose) shift one column right. */
  private flipBack(h: { maps: Float64Array; joints: number; height: number; width: number }): void {
    const { joints, height, width } = h;
    const plane = height * width;
    const mirrored = mirrorColumns(h.maps, joints, height, width);
    for (const [a, b] of FLIP_PAIRS) {
      if (a >= joints || b >= joints) continue;
      const left = mirrored.slice(a * plane, (a + 1) * plane);
      mirrored.copyWithin(a * plane, b * plane, (b + 1) * plane);
      mirrored.set(left, b * plane);
    }
    if (this.shiftFlipped) {
      for (let row = 0; row < joints * height; row++) mirrored.copyWithin(row * width + 1, row * width, (row + 1) * width - 1);
    }
    h.maps.set(mirrored);
  }

  /** PaddleX's KptPostProcess (use_dark): argmax per joint, DARK refinement, heatmap → image coordinates. */
  private decode(h: { maps: Float64Array; joints: number; height: number; width: number }, center: Point, scale: Point): Keypoints {
    const { joints, height, width } = h;
    const plane = height * width;
    const toImage = outputToBox(center, scale, [width, height]);
    const keypoints: Array<[number, number, number]> = [];
    for (let j = 0; j < joints; j++) {
      const map = h.maps.subarray(j * plane, (j + 1) * plane);
      let best = 0;
      for (let i = 1; i < plane; i++) if (map[i]! > map[best]!) best = i;
      const maxval = map[best]!;
      // a joint whose heatmap never rises above 0 sits at the heatmap origin, as PaddleX's pred_mask puts it
      let point: Point = maxval > 0 ? [best % width, Math.floor(best / width)] : [0, 0];
      const logMap = blurForDark(this.cv, map, width, height).map((v) => Math.log(Math.max(v, 1e-10)));
      point = darkRefine(logMap, width, height, point);
      const [x, y] = applyAffine(toImage, point);
      keypoints.push([x, y, maxval]);
    }
    return { keypoints, kptScore: keypoints.reduce((sum, k) => sum + k[2], 0) / Math.max(1, joints) };
  }
}

/** Planes (channels × height × width) with every row reversed: a horizontal flip. */
function mirrorColumns<T extends Float32Array | Float64Array>(data: T, planes: number, height: number, width: number): T {
  const out = data.slice() as T;
  for (let row = 0; row < planes * height; row++) out.subarray(row * width, (row + 1) * width).reverse();
  return out;
}
