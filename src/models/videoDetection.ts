/**
 * PaddleX `video_detection` (YOWO), as its predictor and processors run it: every frame read with
 * OpenCV (BGR), each made a clip of `num_seg` copies of itself (PaddleX's reader refills its frame
 * queue for every frame), resized to `target_size`², scaled by 1/`scale`, `[1, 3, T, H, W]`, one model
 * run per frame; then `get_region_boxes` (YOLOv2 decoding with YOWO's five anchors, objectness
 * above 0.005), NMS on objectness, boxes scaled to 320×240 as PaddleX does (UCF101-24's frame size,
 * whatever the video's), and objects kept whose objectness × class confidence exceeds `score_thresh`.
 */
import type { InferenceSession } from 'onnxruntime-node';
import { z } from 'zod';
import type { ResolvedSubModule } from '../config/models.js';
import type { RgbImage } from '../io/image.js';
import { decodeFrames, probeVideo, type VideoLimits } from '../io/video.js';
import { cvResize, loadCv } from '../ops/cv.js';
import { roundHalfEven } from '../ops/dbPostprocess.js';
import type { RuntimeContext } from '../runtime/context.js';
import { ort } from '../runtime/session.js';
import { InferenceConfigReader } from './common.js';
import { positiveInt } from './preprocessOps.js';

const ANCHORS = [0.70458, 1.18803, 1.26654, 2.55121, 1.59382, 4.08321, 2.30548, 4.9418, 3.52332, 5.91979];
const NUM_ANCHORS = 5;
const CONF_THRESH = 0.005;
/** PaddleX scales the normalised boxes by these constants */
const OUTPUT_WIDTH = 320;
const OUTPUT_HEIGHT = 240;

const readVideo = z.object({ num_seg: positiveInt.default(8) });
const resizeVideo = z.object({ target_size: positiveInt.default(224) });
const normalizeVideo = z.object({ scale: z.number().positive().default(255) });
const postProcess = z.object({ nms_thresh: z.number(), score_thresh: z.number() });

export interface DetectionThresholds {
  nmsThresh: number;
  scoreThresh: number;
}

export interface VideoObject {
  bbox: [number, number, number, number];
  categoryName: string;
  score: number;
}

/** [cx, cy, w, h (normalised), objectness, class confidence, class id] */
type RegionBox = [number, number, number, number, number, number, number];

const sigmoid = (x: number) => Math.fround(1 / (1 + Math.exp(-x)));

/** PaddleX's `get_region_boxes` for one output `[(5 + classes) × 5, h, w]` with `only_objectness`. */
export function regionBoxes(output: Float32Array, classes: number, h: number, w: number): RegionBox[] {
  const cell = h * w;
  const at = (anchor: number, channel: number, index: number) => output[(anchor * (5 + classes) + channel) * cell + index]!;
  const boxes: RegionBox[] = [];
  for (let cy = 0; cy < h; cy++) {
    for (let cx = 0; cx < w; cx++) {
      for (let a = 0; a < NUM_ANCHORS; a++) {
        const index = cy * w + cx;
        const objectness = sigmoid(at(a, 4, index));
        if (!(objectness > CONF_THRESH)) continue;
        let max = Number.NEGATIVE_INFINITY;
        for (let c = 0; c < classes; c++) max = Math.max(max, at(a, 5 + c, index));
        let sum = 0;
        let best = 0;
        let bestValue = Number.NEGATIVE_INFINITY;
        for (let c = 0; c < classes; c++) {
          const value = at(a, 5 + c, index);
          sum += Math.exp(value - max);
          if (value > bestValue) [best, bestValue] = [c, value];
        }
        const classConf = Math.fround(Math.exp(bestValue - max) / sum);
        const bx = Math.fround(sigmoid(at(a, 0, index)) + cx);
        const by = Math.fround(sigmoid(at(a, 1, index)) + cy);
        const bw = Math.fround(Math.exp(at(a, 2, index)) * Math.fround(ANCHORS[2 * a]!));
        const bh = Math.fround(Math.exp(at(a, 3, index)) * Math.fround(ANCHORS[2 * a + 1]!));
        boxes.push([Math.fround(bx / w), Math.fround(by / h), Math.fround(bw / w), Math.fround(bh / h), objectness, classConf, best]);
      }
    }
  }
  return boxes;
}

/** PaddleX's `bbox_iou` on centre-size boxes. */
function iou(a: RegionBox, b: RegionBox): number {
  const mx = Math.min(a[0] - a[2] / 2, b[0] - b[2] / 2);
  const Mx = Math.max(a[0] + a[2] / 2, b[0] + b[2] / 2);
  const my = Math.min(a[1] - a[3] / 2, b[1] - b[3] / 2);
  const My = Math.max(a[1] + a[3] / 2, b[1] + b[3] / 2);
  const cw = a[2] + b[2] - (Mx - mx);
  const ch = a[3] + b[3] - (My - my);
  if (cw <= 0 || ch <= 0) return 0;
  const carea = cw * ch;
  return carea / (a[2] * a[3] + b[2] * b[3] - carea);
}

/** PaddleX's `nms`: by objectness, each kept box zeroes the objectness of later boxes overlapping it more than `threshold`. */
export function nms(boxes: RegionBox[], threshold: number): RegionBox[] {
  const order = Array.from(boxes.keys()).sort((i, j) => Math.fround(1 - boxes[i]![4]) - Math.fround(1 - boxes[j]![4]) || i - j);
  const kept: RegionBox[] = [];
  order.forEach((i, rank) => {
    const box = boxes[i]!;
    if (!(box[4] > 0)) return;
    kept.push(box);
    for (const j of order.slice(rank + 1)) if (iou(box, boxes[j]!) > threshold) boxes[j]![4] = 0;
  });
  return kept;
}

export class VideoDetector {
  private constructor(
    private readonly session: InferenceSession,
    private readonly numSeg: number,
    private readonly size: number,
    private readonly scale: number,
    /** the sub-module's / inference.yml's nms_thresh and score_thresh */
    readonly defaults: DetectionThresholds,
    private readonly labels: string[],
  ) {}

  static async load(sub: ResolvedSubModule, rt: RuntimeContext, keyPath: string): Promise<VideoDetector> {
    const yml = new InferenceConfigReader(sub, keyPath);
    const find = (setting: string, list: unknown, name: string) => {
      const entry = Array.isArray(list) ? list.find((o) => o && typeof o === 'object' && name in o) : undefined;
      if (!entry) throw yml.error(setting, `has no ${name}`);
      return entry[name];
    };
    const pre = yml.config.PreProcess?.transform_ops;
    const post = yml.parse(
      postProcess,
      find('PostProcess.transform_ops', yml.config.PostProcess?.transform_ops, 'DetVideoPostProcess'),
      'PostProcess.DetVideoPostProcess',
    );
    const labels = yml.parse(z.array(z.union([z.string(), z.number()])).min(1), yml.config.label_list, 'label_list').map(String);
    const session = await rt.loadSession(sub.resolved);
    return new VideoDetector(
      session,
      yml.parse(readVideo, find('PreProcess.transform_ops', pre, 'ReadVideo'), 'PreProcess.ReadVideo').num_seg,
      yml.parse(resizeVideo, find('PreProcess.transform_ops', pre, 'ResizeVideo'), 'PreProcess.ResizeVideo').target_size,
      yml.parse(normalizeVideo, find('PreProcess.transform_ops', pre, 'NormalizeVideo'), 'PreProcess.NormalizeVideo').scale,
      { nmsThresh: post.nms_thresh, scoreThresh: post.score_thresh },
      labels,
    );
  }

  /** `[1, 3, T, H, W]`: the frame (BGR), resized, `numSeg` times along T. */
  private clip(frame: RgbImage): Float32Array {
    const plane = this.size * this.size;
    const input = new Float32Array(3 * this.numSeg * plane);
    for (let c = 0; c < 3; c++) {
      const source = 2 - c;
      for (let i = 0; i < plane; i++) {
        const value = Math.fround(frame.data[i * 3 + source]! / this.scale);
        for (let t = 0; t < this.numSeg; t++) input[(c * this.numSeg + t) * plane + i] = value;
      }
    }
    return input;
  }

  private async detect(frame: RgbImage, thresholds: DetectionThresholds): Promise<VideoObject[]> {
    const feeds = { [this.session.inputNames[0]!]: new ort.Tensor('float32', this.clip(frame), [1, 3, this.numSeg, this.size, this.size]) };
    const outputs = await this.session.run(feeds);
    const objects: VideoObject[] = [];
    for (const name of this.session.outputNames) {
      const output = outputs[name]!;
      const [, channels, h, w] = output.dims as number[];
      if (output.dims.length !== 4 || channels !== NUM_ANCHORS * (5 + this.labels.length)) {
        throw new Error(
          `video detection output [${output.dims.join(', ')}] is not [1, ${NUM_ANCHORS} × (5 + ${this.labels.length} classes), h, w]`,
        );
      }
      for (const box of nms(regionBoxes(output.data as Float32Array, this.labels.length, h!, w!), thresholds.nmsThresh)) {
        const prob = Math.fround(box[4] * box[5]);
        if (!(prob > thresholds.scoreThresh)) continue;
        const bbox: VideoObject['bbox'] = [
          roundHalfEven((box[0] - box[2] / 2) * OUTPUT_WIDTH),
          roundHalfEven((box[1] - box[3] / 2) * OUTPUT_HEIGHT),
          roundHalfEven((box[0] + box[2] / 2) * OUTPUT_WIDTH),
          roundHalfEven((box[1] + box[3] / 2) * OUTPUT_HEIGHT),
        ];
        objects.push({ bbox, categoryName: this.labels[box[6]]!, score: prob });
      }
    }
    return objects;
  }

  /** Detections of every frame, in frame order. */
  async predict(file: string, limits: VideoLimits, thresholds: DetectionThresholds): Promise<VideoObject[][]> {
    const info = await probeVideo(file, limits);
    const cv = await loadCv();
    // frames are resized as they arrive, so at most one full-size frame is held at a time
    const resized: RgbImage[] = [];
    await decodeFrames(file, info, limits, (frame) => resized.push(cvResize(cv, frame, this.size, this.size, cv.INTER_LINEAR)));
    const frames: VideoObject[][] = [];
    for (const frame of resized) frames.push(await this.detect(frame, thresholds));
    return frames;
  }
}
