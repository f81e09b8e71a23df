/**
 * PaddleX module `layout_detection` (PP-DocLayout*, PP-DocBlockLayout, PicoDet / RT-DETR layout
 * models): a PaddleDetection export run as object detection, then PaddleX's layout extras of
 * `DetPostProcess` (paddlex/inference/models/object_detection/processors.py), in its order:
 * score threshold → `layout_nms` → drop page-sized `image` boxes → `layout_merge_bboxes_mode` →
 * `layout_unclip_ratio` → clip to the image, dropping empty boxes.
 */
import { z } from 'zod';
import type { ResolvedSubModule } from '../config/models.js';
import { readParam } from '../config/pipelineConfig.js';
import type { RgbImage } from '../io/image.js';
import type { RuntimeContext } from '../runtime/context.js';
import { InferenceConfigReader } from './common.js';
import { type Box, type DetectedObject, type DetectionThreshold, ObjectDetector } from './objectDetection.js';
import {
  layoutThresholdSchema,
  type MergeBboxesMode,
  mergeModeSchema,
  type UnclipPair,
  type UnclipRatio,
  unclipRatioSchema,
} from '../config/layoutParams.js';

export {
  layoutThresholdSchema,
  MERGE_MODES,
  type MergeBboxesMode,
  type MergeMode,
  mergeModeSchema,
  type UnclipPair,
  type UnclipRatio,
  unclipRatioSchema,
} from '../config/layoutParams.js';

/** The layout settings of one prediction; absent or null ones take the model's defaults. */
export interface LayoutParams {
  threshold?: DetectionThreshold | null;
  layoutNms?: boolean | null;
  layoutUnclipRatio?: UnclipRatio | null;
  layoutMergeBboxesMode?: MergeBboxesMode | null;
}

/** Python truthiness of a setting: PaddleX combines request and default values with `or`. */
function truthy(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === 0 || value === '') return false;
  if (typeof value === 'object' && !Array.isArray(value)) return Object.keys(value).length > 0;
  return true;
}

/** `requested or fallback`, as PaddleX's DetPredictor.process picks layout settings. */
function orElse<T>(requested: T | null | undefined, fallback: T | undefined): T | undefined {
  return truthy(requested) ? (requested as T) : fallback;
}

/** PaddleX's IoU for layout NMS: inclusive pixel extents (the +1). */
function inclusiveIou(a: Box, b: Box): number {
  const iw = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]) + 1);
  const ih = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]) + 1);
  const inter = iw * ih;
  const areaA = (a[2] - a[0] + 1) * (a[3] - a[1] + 1);
  const areaB = (b[2] - b[0] + 1) * (b[3] - b[1] + 1);
  return inter / (areaA + areaB - inter);
}

/**
 * PaddleX's layout NMS: boxes by descending score; a box is dropped when its IoU with a kept box
 * reaches 0.6 (same class) or 0.98 (different classes). Equal scores: numpy's `argsort(...)[::-1]`
 * puts the later box first (its sort is stable on the small arrays layout models produce).
 */
export function layoutNms(boxes: DetectedObject[], iouSame = 0.6, iouDiff = 0.98): DetectedObject[] {
  let order = boxes
    .map((_, i) => i)
    .sort((a, b) => boxes[a]!.score - boxes[b]!.score)
    .reverse();
  const kept: DetectedObject[] = [];
  while (order.length) {
    const current = boxes[order[0]!]!;
    kept.push(current);
    order = order.slice(1).filter((i) => {
      const other = boxes[i]!;
      const limit = other.clsId === current.clsId ? iouSame : iouDiff;
      return inclusiveIou(current.coordinate, other.coordinate) < limit;
    });
  }
  return kept;
}

/** Whether at least 90% of `inner`'s area lies inside `outer` (PaddleX's is_contained). */
function isContained(inner: Box, outer: Box): boolean {
  const area = (inner[2] - inner[0]) * (inner[3] - inner[1]);
  const iw = Math.max(0, Math.min(inner[2], outer[2]) - Math.max(inner[0], outer[0]));
  const ih = Math.max(0, Math.min(inner[3], outer[3]) - Math.max(inner[1], outer[1]));
  return (area > 0 ? (iw * ih) / area : 0) >= 0.9;
}

/**
 * PaddleX's check_containment: which boxes contain another and which are contained. A formula box is
 * never compared with a non-formula container. With `category` and `mode`, only containers of that
 * class count (`large`), or only contained boxes of that class (`small`).
 */
function containment(
  boxes: DetectedObject[],
  formulaClass: number | undefined,
  only?: { category: number; mode: 'large' | 'small' },
): { containsOther: boolean[]; containedByOther: boolean[] } {
  const containsOther = boxes.map(() => false);
  const containedByOther = boxes.map(() => false);
  boxes.forEach((inner, i) => {
    boxes.forEach((outer, j) => {
      if (i === j) return;
      if (formulaClass !== undefined && inner.clsId === formulaClass && outer.clsId !== formulaClass) return;
      if (only && (only.mode === 'large' ? outer.clsId : inner.clsId) !== only.category) return;
      if (isContained(inner.coordinate, outer.coordinate)) {
        containedByOther[i] = true;
        containsOther[j] = true;
      }
    });
  });
  return { containsOther, containedByOther };
}

/** `large` keeps the containers, `small` the contained boxes (and containers that are themselves contained). */
function keepsUnder(mode: 'large' | 'small', containsOther: boolean, containedByOther: boolean): boolean {
  return mode === 'large' ? !containedByOther : !containsOther || containedByOther;
}

/** PaddleX's layout_merge_bboxes_mode, one mode for all boxes or per class. */
export function mergeLayoutBoxes(boxes: DetectedObject[], mode: MergeBboxesMode, labels: readonly string[]): DetectedObject[] {
  const formulaIndex = labels.indexOf('formula');
  const formulaClass = formulaIndex >= 0 ? formulaIndex : undefined;
  if (typeof mode === 'string') {
    if (mode === 'union') return boxes;
    const { containsOther, containedByOther } = containment(boxes, formulaClass);
    return boxes.filter((_, i) => keepsUnder(mode, containsOther[i]!, containedByOther[i]!));
  }
  const keep = boxes.map(() => true);
  for (const [category, classMode] of Object.entries(mode)) {
    if (classMode === 'union') continue;
    const { containsOther, containedByOther } = containment(boxes, formulaClass, { category: Number(category), mode: classMode });
    boxes.forEach((_, i) => {
      keep[i] = keep[i]! && keepsUnder(classMode, containsOther[i]!, containedByOther[i]!);
    });
  }
  return boxes.filter((_, i) => keep[i]);
}

/** PaddleX's unclip_boxes: each box scaled about its centre (per class: only the classes listed). */
export function unclipLayoutBoxes(boxes: DetectedObject[], ratio: UnclipRatio): DetectedObject[] {
  const pairFor = (clsId: number): UnclipPair | undefined =>
    typeof ratio === 'number' ? [ratio, ratio] : Array.isArray(ratio) ? ratio : ratio[clsId];
  return boxes.map((box) => {
    const pair = pairFor(box.clsId);
    if (!pair) return box;
    const [x1, y1, x2, y2] = box.coordinate;
    const width = x2 - x1;
    const height = y2 - y1;
    const cx = x1 + width / 2;
    const cy = y1 + height / 2;
    const halfW = (width * pair[0]) / 2;
    const halfH = (height * pair[1]) / 2;
    return { ...box, coordinate: [cx - halfW, cy - halfH, cx + halfW, cy + halfH] };
  });
}

/**
 * PaddleX drops an `image` box covering most of the page (over 82% of a landscape page, 93% of a
 * portrait one) when other boxes were found, unless that would leave nothing.
 */
function dropPageSizedImages(boxes: DetectedObject[], labels: readonly string[], width: number, height: number): DetectedObject[] {
  const imageClass = labels.indexOf('image');
  if (boxes.length <= 1 || imageClass < 0) return boxes;
  const limit = (width > height ? 0.82 : 0.93) * width * height;
  const kept = boxes.filter((box) => {
    if (box.clsId !== imageClass) return true;
    const [x1, y1, x2, y2] = box.coordinate;
    return (Math.min(width, x2) - Math.max(0, x1)) * (Math.min(height, y2) - Math.max(0, y1)) <= limit;
  });
  return kept.length ? kept : boxes;
}

/** The layout steps after the score threshold, on one image's boxes (model coordinates, not clipped). */
export function layoutPostprocess(
  boxes: DetectedObject[],
  img: { width: number; height: number },
  labels: readonly string[],
  settings: { layoutNms?: boolean; layoutUnclipRatio?: UnclipRatio; layoutMergeBboxesMode?: MergeBboxesMode },
): DetectedObject[] {
  let out = boxes;
  if (settings.layoutNms) out = layoutNms(out);
  out = dropPageSizedImages(out, labels, img.width, img.height);
  if (truthy(settings.layoutMergeBboxesMode)) out = mergeLayoutBoxes(out, settings.layoutMergeBboxesMode!, labels);
  if (truthy(settings.layoutUnclipRatio)) out = unclipLayoutBoxes(out, settings.layoutUnclipRatio!);
  return out.flatMap((box) => {
    const [x1, y1, x2, y2] = box.coordinate;
    const clipped: Box = [Math.max(0, x1), Math.max(0, y1), Math.min(img.width, x2), Math.min(img.height, y2)];
    return clipped[2] <= clipped[0] || clipped[3] <= clipped[1] ? [] : [{ ...box, coordinate: clipped }];
  });
}

/** A layout detector: PaddleX's DetPredictor with the layout settings of its sub-module and inference.yml. */
export class LayoutDetector {
  private constructor(
    private readonly detector: ObjectDetector,
    private readonly labels: readonly string[],
    readonly defaults: {
      threshold?: DetectionThreshold;
      layoutNms?: boolean;
      layoutUnclipRatio?: UnclipRatio;
      layoutMergeBboxesMode?: MergeBboxesMode;
    },
  ) {}

  /**
   * Defaults as PaddleX's DetPredictor takes them: the pipeline YAML sub-module's `threshold`,
   * `layout_nms`, `layout_unclip_ratio`, `layout_merge_bboxes_mode`, else the same keys of
   * inference.yml (the threshold: its `draw_threshold`).
   */
  static async load(sub: ResolvedSubModule, rt: RuntimeContext, keyPath: string): Promise<LayoutDetector> {
    const yml = new InferenceConfigReader(sub, keyPath);
    const detector = await ObjectDetector.load(sub, rt, keyPath);
    if (!detector.labels?.length) throw yml.error('label_list', 'missing (a layout model names its classes there)');
    const fromYml = <T>(key: string, schema: z.ZodType<T>): T | undefined =>
      yml.config[key] == null ? undefined : yml.parse(schema, yml.config[key], key);
    const fromSub = <T>(key: string, schema: z.ZodType<T>): T | undefined => readParam(sub, key, schema.optional(), keyPath, undefined);
    const subNms = fromSub('layout_nms', z.boolean());
    return new LayoutDetector(detector, detector.labels, {
      threshold: fromSub('threshold', layoutThresholdSchema),
      layoutNms: subNms || fromYml('layout_nms', z.boolean()),
      layoutUnclipRatio: fromSub('layout_unclip_ratio', unclipRatioSchema) ?? fromYml('layout_unclip_ratio', unclipRatioSchema),
      layoutMergeBboxesMode: fromSub('layout_merge_bboxes_mode', mergeModeSchema) ?? fromYml('layout_merge_bboxes_mode', mergeModeSchema),
    });
  }

  get classNames(): readonly string[] {
    return this.labels;
  }

  /** Layout boxes per image, in PaddleX's order. */
  async predict(images: RgbImage[], params: LayoutParams = {}): Promise<DetectedObject[][]> {
    const d = this.defaults;
    const settings = {
      layoutNms: orElse(params.layoutNms, d.layoutNms),
      layoutUnclipRatio: orElse(params.layoutUnclipRatio, d.layoutUnclipRatio),
      layoutMergeBboxesMode: orElse(params.layoutMergeBboxesMode, d.layoutMergeBboxesMode),
    };
    const raw = await this.detector.predictUnclipped(images, { threshold: params.threshold ?? d.threshold });
    return raw.map((boxes, i) => layoutPostprocess(boxes, images[i]!, this.labels, settings));
  }
}
