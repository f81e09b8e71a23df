import { z } from 'zod';
import type { InferenceSession } from 'onnxruntime-node';
import type { ResolvedSubModule } from '../config/models.js';
import { ConfigError } from '../errors.js';
import type { RgbImage } from '../io/image.js';
import { normalizeToChw, type NormalizeSpec } from '../ops/normalize.js';
import { resizeImage } from '../ops/resize.js';
import { ort } from '../runtime/session.js';
import type { RuntimeContext } from '../runtime/context.js';
import { batchSizeOf, InferenceConfigReader, runInBatches } from './common.js';
import { normalizeSpec, readPreprocessOps } from './preprocessOps.js';

/** [x1, y1, x2, y2] */
export type Box = [number, number, number, number];
/** [x1, y1, x2, y2, x3, y3, x4, y4], the corners of a rotated box */
export type RotatedBox = [number, number, number, number, number, number, number, number];

/** One detection as PaddleX's DetResult holds it (`boxes` entries); coordinates in original-image pixels, clipped to the image. */
export interface Detection<C extends Box | RotatedBox> {
  clsId: number;
  label: string;
  score: number;
  coordinate: C;
  /** the model's mask for this box (instance segmentation exports), row-major, nonzero = inside */
  mask?: { width: number; height: number; data: Int32Array };
}

/** One image's share of a session run: its box rows and, for instance segmentation models, their masks. */
interface RawDetections {
  rows: Float32Array;
  masks?: { width: number; height: number; data: Int32Array };
}
export type DetectedObject = Detection<Box>;
export type RotatedDetectedObject = Detection<RotatedBox>;

/**
 * Values per output row: (class, score, x1, y1, x2, y2), or (class, score, 4 corners) for rotated
 * detectors (PP-YOLOE-R), whose NMS runs inside the exported graph as for the others.
 */
const ROW_LENGTH = { box: 6, rotated: 10 } as const;
type BoxKind = keyof typeof ROW_LENGTH;

/** A score threshold for every class, or per class id (classes not listed use `draw_threshold`). */
export type DetectionThreshold = number | Record<number, number>;

/** Inputs PaddleX feeds a PaddleDetection export, by name. */
const KNOWN_INPUTS = ['image', 'scale_factor', 'im_shape'];

const drawThresholdParam = z.number().nullish();

/** A padding step with its per-channel fill value, in normalized units. */
type Pad = ({ kind: 'size'; height: number; width: number } | { kind: 'stride'; stride: number }) & { fill: number[] };

interface DetectorConfig {
  resize?: { height: number; width: number; keepRatio: boolean; interp: number };
  normalize: NormalizeSpec;
  pads: Pad[];
  labels?: string[];
  drawThreshold: number;
}

function hw(size: number | [number, number]): { height: number; width: number } {
  return typeof size === 'number' ? { height: size, width: size } : { height: size[0], width: size[1] };
}

/** Reads PaddleDetection's exported `Preprocess` list, `label_list` and `draw_threshold`, as PaddleX's DetPredictor does. */
function parseDetectorConfig(yml: InferenceConfigReader): DetectorConfig {
  const cfg = yml.config;
  if (cfg.NMS)
    throw yml.error('NMS', 'the model was exported without post-process; export it with post-process (PaddleX official models are)');
  if (!Array.isArray(cfg.Preprocess)) throw yml.error('Preprocess', 'missing or not a list');

  let resize: DetectorConfig['resize'];
  let normalize: NormalizeSpec | undefined;
  let permuted = false;
  // A Pad placed before NormalizeImage gives its fill in pixel units; it is normalized once the spec is known.
  const pads: Array<Pad & { beforeNormalize: boolean }> = [];
  for (const op of readPreprocessOps(yml, ['Resize', 'NormalizeImage', 'Permute', 'Pad', 'PadStride'])) {
    switch (op.name) {
      case 'Resize': {
        // sharp resizes 8-bit pixels, so Resize must run before anything turns them into floats.
        if (resize || normalize || permuted || pads.length)
          throw yml.error(op.setting, 'only one Resize, placed before the other ops, is supported');
        const size = op.params.target_size;
        if (size === -1 || (Array.isArray(size) && size[0] === -1)) throw yml.error(`${op.setting}.target_size`, 'must be positive');
        resize = { ...hw(size as number | [number, number]), keepRatio: op.params.keep_ratio ?? false, interp: op.params.interp ?? 2 };
        break;
      }
      case 'NormalizeImage':
        if (normalize) throw yml.error(op.setting, 'NormalizeImage appears twice');
        normalize = normalizeSpec(op.params, 'rgb');
        break;
      case 'Permute':
        permuted = true;
        break;
      case 'Pad': {
        const fill = op.params.fill_value ?? 127.5;
        pads.push({
          kind: 'size',
          ...hw(op.params.size ?? 640),
          fill: typeof fill === 'number' ? [fill, fill, fill] : fill,
          beforeNormalize: !normalize,
        });
        break;
      }
      case 'PadStride': {
        const stride = op.params.stride ?? 32;
        if (stride > 0) pads.push({ kind: 'stride', stride, fill: [0, 0, 0], beforeNormalize: !normalize });
        break;
      }
    }
  }
  if (!permuted) throw yml.error('Preprocess', 'no Permute op (only NCHW detection models are supported)');
  const spec: NormalizeSpec = normalize ?? { scale: 1, mean: [0, 0, 0], std: [1, 1, 1], channelOrder: 'rgb' };

  const labels = z
    .array(z.union([z.string(), z.number()]).transform(String))
    .nullish()
    .safeParse(cfg.label_list);
  if (!labels.success) throw yml.error('label_list', 'must be a list of class names');
  const drawThreshold = drawThresholdParam.safeParse(cfg.draw_threshold);
  if (!drawThreshold.success) throw yml.error('draw_threshold', 'must be a number');
  return {
    resize,
    normalize: spec,
    pads: pads.map(({ beforeNormalize, ...pad }) => ({
      ...pad,
      fill: beforeNormalize ? pad.fill.map((v, c) => (v * spec.scale - spec.mean[c]!) / spec.std[c]!) : pad.fill,
    })),
    labels: labels.data ?? undefined,
    drawThreshold: drawThreshold.data ?? 0.5,
  };
}

interface PreparedImage {
  /** normalized planar pixels, 3 × height × width */
  chw: Float32Array;
  height: number;
  width: number;
  /** [h_resized / h_orig, w_resized / w_orig] */
  scaleFactor: [number, number];
  /** [h_resized, w_resized] (before padding) */
  imShape: [number, number];
}

/**
 * Bottom/right padding of a planar float image. Hand-written: sharp pads 8-bit interleaved pixels,
 * and padding here happens after normalization (PadStride sits after Permute in every export).
 */
function padChw(img: PreparedImage, height: number, width: number, fill: number[]): PreparedImage {
  if (height === img.height && width === img.width) return img;
  if (height < img.height || width < img.width) {
    throw new Error(
      `Pad to ${width}x${height} cannot hold the resized ${img.width}x${img.height} image; check Preprocess in inference.yml`,
    );
  }
  const out = new Float32Array(3 * height * width);
  for (let c = 0; c < 3; c++) {
    const dstPlane = c * height * width;
    out.fill(fill[c]!, dstPlane, dstPlane + height * width);
    for (let y = 0; y < img.height; y++) {
      const src = c * img.height * img.width + y * img.width;
      out.set(img.chw.subarray(src, src + img.width), dstPlane + y * width);
    }
  }
  return { ...img, chw: out, height, width };
}

function passesThreshold(clsId: number, score: number, threshold: DetectionThreshold, drawThreshold: number): boolean {
  const min = typeof threshold === 'number' ? threshold : (threshold[clsId] ?? drawThreshold);
  return score > min;
}

/** PaddleDetection model exported with post-process (PaddleX module `object_detection` and its kin). */
export class ObjectDetector {
  private constructor(
    private readonly session: InferenceSession,
    private readonly config: DetectorConfig,
    private readonly batchSize: number,
  ) {}

  /** `draw_threshold` of inference.yml (0.5 when absent): PaddleX's threshold when request and YAML give none */
  get drawThreshold(): number {
    return this.config.drawThreshold;
  }

  static async load(sub: ResolvedSubModule, rt: RuntimeContext, keyPath: string): Promise<ObjectDetector> {
    const yml = new InferenceConfigReader(sub, keyPath);
    const config = parseDetectorConfig(yml);
    const session = await rt.loadSession(sub.resolved);
    const unknownInputs = session.inputNames.filter((name) => !KNOWN_INPUTS.includes(name));
    if (unknownInputs.length || !session.inputNames.includes('image')) {
      throw new ConfigError(
        `${yml.where}: inference.onnx takes [${session.inputNames.join(', ')}]; a PaddleDetection export takes image plus scale_factor and/or im_shape`,
      );
    }
    if (session.outputNames.length < 2) {
      throw new ConfigError(
        `${yml.where}: inference.onnx must output boxes [M, 6] (rotated: [M, 10]) and per-image box counts (export with post-process)`,
      );
    }
    return new ObjectDetector(session, config, batchSizeOf(sub, session));
  }

  /** Detections per image, in the model's order (grouped by ascending class id when `threshold` is a per-class map, as PaddleX does). */
  predict(images: RgbImage[], opts: { threshold?: DetectionThreshold | null } = {}): Promise<DetectedObject[][]> {
    return this.detect(images, opts.threshold, 'box', (v, img) => [
      Math.max(0, v[0]!),
      Math.max(0, v[1]!),
      Math.min(img.width, v[2]!),
      Math.min(img.height, v[3]!),
    ]);
  }

  /**
   * Like `predict`, with the coordinates as the model gives them (not clipped): the layout post-process
   * (layoutDetection.ts) works on these and clips last, as PaddleX's DetPostProcess does.
   */
  predictUnclipped(images: RgbImage[], opts: { threshold?: DetectionThreshold | null } = {}): Promise<DetectedObject[][]> {
    return this.detect(images, opts.threshold, 'box', (v) => [v[0]!, v[1]!, v[2]!, v[3]!]);
  }

  /** The class names of inference.yml `label_list`, when it has one. */
  get labels(): readonly string[] | undefined {
    return this.config.labels;
  }

  /** Like `predict`, for a rotated detector: each corner clamped into the image, as PaddleX's restructured_rotated_boxes. */
  predictRotated(images: RgbImage[], opts: { threshold?: DetectionThreshold | null } = {}): Promise<RotatedDetectedObject[][]> {
    return this.detect(
      images,
      opts.threshold,
      'rotated',
      (v, img) => Array.from(v, (value, i) => Math.min(Math.max(0, value), i % 2 === 0 ? img.width : img.height)) as RotatedBox,
    );
  }

  private async detect<C extends Box | RotatedBox>(
    images: RgbImage[],
    requested: DetectionThreshold | null | undefined,
    kind: BoxKind,
    toCoordinate: (values: Float32Array, img: RgbImage) => C,
  ): Promise<Array<Array<Detection<C>>>> {
    const threshold = requested ?? this.config.drawThreshold;
    return runInBatches(images, this.batchSize, {
      prepare: (img) => this.preprocess(img),
      shapeOf: (p) => `${p.width}x${p.height}`,
      run: async (prepared, originals) => {
        const raw = await this.run(prepared, kind);
        return originals.map((original, i) => this.postprocess(raw[i]!, ROW_LENGTH[kind], threshold, (v) => toCoordinate(v, original)));
      },
    });
  }

  /** Whether the model outputs a mask per box (Mask-RT-DETR and other PaddleDetection instance segmentation exports). */
  get outputsMasks(): boolean {
    return this.session.outputNames.length >= 3;
  }

  private async preprocess(img: RgbImage): Promise<PreparedImage> {
    const { resize, normalize, pads } = this.config;
    let resized = img;
    if (resize) {
      let { width, height } = resize;
      if (resize.keepRatio) {
        const scale = Math.min(
          Math.max(width, height) / Math.max(img.width, img.height),
          Math.min(width, height) / Math.min(img.width, img.height),
        );
        width = Math.round(img.width * scale);
        height = Math.round(img.height * scale);
      }
      resized = await resizeImage(img, width, height, resize.interp);
    }
    let prepared: PreparedImage = {
      chw: normalizeToChw(resized, normalize),
      height: resized.height,
      width: resized.width,
      scaleFactor: [resized.height / img.height, resized.width / img.width],
      imShape: [resized.height, resized.width],
    };
    for (const pad of pads) {
      const [height, width] =
        pad.kind === 'size'
          ? [pad.height, pad.width]
          : [Math.ceil(prepared.height / pad.stride) * pad.stride, Math.ceil(prepared.width / pad.stride) * pad.stride];
      prepared = padChw(prepared, height, width, pad.fill);
    }
    return prepared;
  }

  /** One session run; returns each image's rows (see ROW_LENGTH), and its masks when the model outputs them. */
  private async run(batch: PreparedImage[], kind: BoxKind): Promise<RawDetections[]> {
    const { height, width } = batch[0]!;
    const plane = 3 * height * width;
    const image = new Float32Array(batch.length * plane);
    batch.forEach((p, i) => image.set(p.chw, i * plane));
    const pairs = (pick: (p: PreparedImage) => [number, number]) =>
      new ort.Tensor('float32', Float32Array.from(batch.flatMap(pick)), [batch.length, 2]);
    const inputs: Record<string, InstanceType<typeof ort.Tensor>> = {
      image: new ort.Tensor('float32', image, [batch.length, 3, height, width]),
      scale_factor: pairs((p) => p.scaleFactor),
      im_shape: pairs((p) => p.imShape),
    };
    const feeds = Object.fromEntries(this.session.inputNames.map((name) => [name, inputs[name]!]));
    const outputs = await this.session.run(feeds);
    const boxes = outputs[this.session.outputNames[0]!]!;
    const counts = outputs[this.session.outputNames[1]!]!;
    // The row count comes from the tensor: exports declare a fixed size in metadata but return fewer rows.
    const [numRows = 0, rowLength] = boxes.dims;
    if (rowLength !== ROW_LENGTH[kind]) {
      const expected =
        kind === 'box'
          ? '6 (class, score, x1, y1, x2, y2); a model with rows of 10 is a rotated detector (rotated_object_detection pipeline)'
          : '10 (class, score, x1, y1, ..., x4, y4) of a rotated detector such as PP-YOLOE-R';
      throw new Error(`Detection output ${this.session.outputNames[0]} has rows of ${rowLength} values; expected ${expected}`);
    }
    const data = boxes.data as Float32Array;
    const perImage = Array.from(counts.data as ArrayLike<number | bigint>, Number);
    const masks = this.session.outputNames[2] === undefined ? undefined : outputs[this.session.outputNames[2]]!;
    const [, maskHeight = 0, maskWidth = 0] = masks?.dims ?? [];
    if (masks && (masks.dims.length !== 3 || masks.dims[0] !== numRows)) {
      throw new Error(
        `Mask output ${this.session.outputNames[2]} is [${masks.dims.join(', ')}]; expected one [H, W] mask per box row (${numRows})`,
      );
    }
    // Mask-RT-DETR exports give int32; other exports may give int64 or bool.
    const maskData =
      masks && (masks.type === 'int32' ? (masks.data as Int32Array) : Int32Array.from(masks.data as ArrayLike<number>, Number));
    const results: RawDetections[] = [];
    let offset = 0;
    for (let i = 0; i < batch.length; i++) {
      const count = Math.min(perImage[i] ?? 0, numRows - offset);
      const plane = maskHeight * maskWidth;
      results.push({
        rows: data.subarray(offset * rowLength, (offset + count) * rowLength),
        masks: masks && {
          width: maskWidth,
          height: maskHeight,
          data: maskData!.subarray(offset * plane, (offset + count) * plane),
        },
      });
      offset += count;
    }
    return results;
  }

  private postprocess<C extends Box | RotatedBox>(
    { rows, masks }: RawDetections,
    rowLength: number,
    threshold: DetectionThreshold,
    toCoordinate: (values: Float32Array) => C,
  ): Array<Detection<C>> {
    const objects: Array<Detection<C>> = [];
    for (let r = 0; r < rows.length; r += rowLength) {
      const clsId = rows[r]!;
      const score = rows[r + 1]!;
      if (clsId < 0 || !passesThreshold(clsId, score, threshold, this.config.drawThreshold)) continue;
      objects.push({
        clsId: Math.trunc(clsId),
        label: this.config.labels?.[clsId] ?? String(Math.trunc(clsId)),
        score,
        coordinate: toCoordinate(rows.subarray(r + 2, r + rowLength)),
        ...(masks && {
          mask: {
            width: masks.width,
            height: masks.height,
            data: masks.data.subarray((r / rowLength) * masks.width * masks.height, (r / rowLength + 1) * masks.width * masks.height),
          },
        }),
      });
    }
    // PaddleX filters a per-class map class by class (np.unique order), so its output is grouped by class id.
    return typeof threshold === 'number' ? objects : objects.sort((a, b) => a.clsId - b.clsId);
  }
}
