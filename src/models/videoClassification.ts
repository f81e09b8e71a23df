/**
 * PaddleX `video_classification` (PP-TSM, PP-TSMv2 exports), as its predictor and processors run
 * them: `ReadVideo` (decord: RGB frames; `sample_type: uniform` takes `seg_len` frames from the
 * middle of each of `num_seg` equal segments), `Scale` (short side to `short_size`, the other side
 * to 4/3 of it: `fixed_ratio`), `CenterCrop` (`target_size`, offsets rounded), `Image2Array`
 * (T×C×H×W), `NormalizeVideo` (/255, − mean, / std), one batch `[1, T, 3, H, W]`, then
 * `Topk`: softmax, the k best, scores rounded to 5 decimals, names from `label_list`.
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

const readVideo = z.object({
  num_seg: positiveInt.default(8),
  seg_len: positiveInt.default(1),
  sample_type: z.string().nullable().default(null),
});
const scale = z.object({ short_size: positiveInt.default(224) });
const centerCrop = z.object({ target_size: positiveInt.default(224) });
const normalizeVideo = z.object({
  mean: z.array(z.number()).length(3).default([0.485, 0.456, 0.406]),
  std: z.array(z.number()).length(3).default([0.229, 0.224, 0.225]),
});
const topkSchema = z.object({ topk: positiveInt, label_list: z.array(z.union([z.string(), z.number()])).optional() });

export interface VideoCategory {
  id: number;
  name: string;
  score: number;
}

/** decord's `sample` in valid mode: the frame indices of `numSeg` segments of `segLen` frames. */
export function uniformFrameIndices(frames: number, numSeg: number, segLen: number): number[] {
  const averageDuration = Math.floor(frames / numSeg);
  const indices: number[] = [];
  for (let i = 0; i < numSeg; i++) {
    let idx = 0;
    if (averageDuration >= segLen) idx = Math.floor((averageDuration - 1) / 2) + i * averageDuration;
    else if (averageDuration >= 1) idx = i * averageDuration;
    else idx = i;
    for (let j = idx; j < idx + segLen; j++) indices.push(j % frames);
  }
  return indices;
}

/** PaddleX's `Scale` with `fixed_ratio`: the short side becomes `shortSize`, the long side `int(shortSize * 4 / 3)`. */
export function scaledSize(width: number, height: number, shortSize: number): { width: number; height: number } {
  if ((width <= height && width === shortSize) || (height <= width && height === shortSize)) return { width, height };
  const long = Math.trunc((shortSize * 4.0) / 3.0);
  return width <= height ? { width: shortSize, height: long } : { width: long, height: shortSize };
}

function softmax(logits: Float32Array): Float64Array {
  let max = Number.NEGATIVE_INFINITY;
  for (const v of logits) if (v > max) max = v;
  const exps = Float64Array.from(logits, (v) => Math.exp(v - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((v) => v / sum);
}

export class VideoClassifier {
  private constructor(
    private readonly session: InferenceSession,
    private readonly sampling: z.output<typeof readVideo>,
    private readonly shortSize: number,
    private readonly cropSize: number,
    private readonly normalize: z.output<typeof normalizeVideo>,
    /** `PostProcess.Topk.topk` (PaddleX's default when neither request nor pipeline YAML gives one) */
    readonly defaultTopk: number,
    private readonly labels: string[] | undefined,
  ) {}

  static async load(sub: ResolvedSubModule, rt: RuntimeContext, keyPath: string): Promise<VideoClassifier> {
    const yml = new InferenceConfigReader(sub, keyPath);
    const ops = yml.config.PreProcess?.transform_ops;
    if (!Array.isArray(ops))
      throw yml.error('PreProcess.transform_ops', 'missing (expected ReadVideo, Scale, CenterCrop, Image2Array, NormalizeVideo)');
    const op = <S extends z.ZodType>(name: string, schema: S): z.output<S> => {
      const entry = ops.find((o: Record<string, unknown>) => o && name in o);
      if (!entry) throw yml.error('PreProcess.transform_ops', `has no ${name}`);
      return yml.parse(schema, entry[name], `PreProcess.transform_ops.${name}`);
    };
    const topk = yml.parse(topkSchema, yml.config.PostProcess?.Topk, 'PostProcess.Topk');
    const session = await rt.loadSession(sub.resolved);
    return new VideoClassifier(
      session,
      op('ReadVideo', readVideo),
      op('Scale', scale).short_size,
      op('CenterCrop', centerCrop).target_size,
      op('NormalizeVideo', normalizeVideo),
      topk.topk,
      topk.label_list?.map(String),
    );
  }

  /** The frames PaddleX samples, each scaled and centre-cropped. */
  private async clip(file: string, limits: VideoLimits): Promise<RgbImage[]> {
    const info = await probeVideo(file, limits);
    const { num_seg, seg_len, sample_type } = this.sampling;
    const wanted =
      sample_type === 'uniform' ? uniformFrameIndices(info.frames, num_seg, seg_len) : Array.from({ length: info.frames }, (_, i) => i);
    const distinct = [...new Set(wanted)].sort((a, b) => a - b);
    const decoded = new Map<number, RgbImage>();
    await decodeFrames(file, info, limits, (frame, index) => decoded.set(index, frame), distinct);
    const cv = await loadCv();
    return wanted.map((index) => {
      const frame = decoded.get(index);
      if (!frame) throw new Error(`video: frame ${index} of ${info.frames} could not be decoded (the file ends early)`);
      const size = scaledSize(frame.width, frame.height, this.shortSize);
      const scaled = cvResize(cv, frame, size.width, size.height, cv.INTER_LINEAR);
      return this.centerCrop(scaled);
    });
  }

  private centerCrop(img: RgbImage): RgbImage {
    const size = this.cropSize;
    if (img.width < size || img.height < size)
      throw new Error(`image width(${img.width}) and height(${img.height}) should be larger than crop size`);
    const x1 = roundHalfEven((img.width - size) / 2);
    const y1 = roundHalfEven((img.height - size) / 2);
    const data = new Uint8Array(size * size * 3);
    for (let row = 0; row < size; row++) {
      const from = ((y1 + row) * img.width + x1) * 3;
      data.set(img.data.subarray(from, from + size * 3), row * size * 3);
    }
    return { width: size, height: size, data };
  }

  async predict(file: string, limits: VideoLimits, topk: number): Promise<VideoCategory[]> {
    const frames = await this.clip(file, limits);
    const size = this.cropSize;
    const plane = size * size;
    const input = new Float32Array(frames.length * 3 * plane);
    frames.forEach((frame, t) => {
      for (let c = 0; c < 3; c++) {
        const base = (t * 3 + c) * plane;
        const { mean, std } = this.normalize;
        for (let i = 0; i < plane; i++)
          input[base + i] = Math.fround(Math.fround(frame.data[i * 3 + c]! / 255) - Math.fround(mean[c]!)) / Math.fround(std[c]!);
      }
    });
    const feeds = { [this.session.inputNames[0]!]: new ort.Tensor('float32', input, [1, frames.length, 3, size, size]) };
    const output = (await this.session.run(feeds))[this.session.outputNames[0]!]!;
    if (output.dims.length !== 2 || output.dims[0] !== 1)
      throw new Error(`video classification model output [${output.dims.join(', ')}] is not [1, classes]`);
    const probs = softmax(output.data as Float32Array);
    const k = Math.min(topk, probs.length);
    // numpy's ascending argsort, reversed: among equal scores the higher class id comes first
    const order = Array.from(probs.keys()).sort((a, b) => probs[b]! - probs[a]! || b - a);
    return order
      .slice(0, k)
      .map((id) => ({ id, name: this.labels?.[id] ?? String(id), score: Math.fround(Number(Math.fround(probs[id]!).toFixed(5))) }));
  }
}
