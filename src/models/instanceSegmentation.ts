import type { ResolvedSubModule } from '../config/models.js';
import { ConfigError } from '../errors.js';
import type { RgbImage } from '../io/image.js';
import { roundHalfEven } from '../ops/dbPostprocess.js';
import type { RuntimeContext } from '../runtime/context.js';
import { type DetectedObject, ObjectDetector } from './objectDetection.js';

/** A detection with its mask cut to its box, as PaddleX's InstanceSegPostProcess returns it. */
export interface SegmentedInstance extends Omit<DetectedObject, 'mask'> {
  /** the mask inside the box: `height` rows of `width` values, 1 inside the instance; (left, top) is its place in the image */
  mask: { left: number; top: number; width: number; height: number; data: Uint8Array };
}

/**
 * PaddleDetection instance segmentation export (PaddleX module `instance_segmentation`, e.g.
 * Mask-RT-DETR-S): the detector's pre-processing and box rows plus a third output, one mask per
 * box at the original image size. PaddleX keeps boxes scoring above `threshold` (a number) and cuts
 * each mask to its box rounded to whole pixels.
 */
export class InstanceSegmenter {
  private constructor(private readonly detector: ObjectDetector) {}

  /** `draw_threshold` of inference.yml (0.5 when absent) */
  get drawThreshold(): number {
    return this.detector.drawThreshold;
  }

  static async load(sub: ResolvedSubModule, rt: RuntimeContext, keyPath: string): Promise<InstanceSegmenter> {
    const detector = await ObjectDetector.load(sub, rt, keyPath);
    if (!detector.outputsMasks) {
      throw new ConfigError(
        `${keyPath} (model ${sub.model_name} from ${sub.resolved.source}): inference.onnx has no mask output; ` +
          'an instance segmentation export outputs boxes, box counts and masks',
      );
    }
    return new InstanceSegmenter(detector);
  }

  async predict(images: RgbImage[], opts: { threshold?: number | null } = {}): Promise<SegmentedInstance[][]> {
    const detections = await this.detector.predict(images, { threshold: opts.threshold });
    return detections.map((objects) => objects.map(cutMaskToBox));
  }
}

/** numpy's `mask[y1:y2, x1:x2]` with the box rounded as Python's round() does (slices clamp to the mask). */
function cutMaskToBox({ mask, ...object }: DetectedObject): SegmentedInstance {
  const [x1, y1, x2, y2] = object.coordinate.map(roundHalfEven) as [number, number, number, number];
  const full = mask!;
  const left = Math.min(x1, full.width);
  const top = Math.min(y1, full.height);
  const width = Math.max(0, Math.min(x2, full.width) - left);
  const height = Math.max(0, Math.min(y2, full.height) - top);
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data[y * width + x] = full.data[(top + y) * full.width + left + x] ? 1 : 0;
  }
  return { ...object, mask: { left, top, width, height, data } };
}
