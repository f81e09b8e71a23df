/**
 * PaddleX module `open_vocabulary_segmentation` with SAM (SAM-H_box, SAM-H_point): an image and
 * box or point prompts in, one mask per prompt out, as PaddleX's OVSegPredictor and SAMProcessor
 * (paddlex/inference/models/open_vocabulary_segmentation/processors/sam_processer.py) do it.
 *
 * PaddleX's SAM export is one graph: the image tensor and all of a request's prompts go in
 * together, the image encoder runs once inside it and the mask decoder once per prompt.
 */
import type { InferenceSession } from 'onnxruntime-node';
import { z } from 'zod';
import type { ResolvedSubModule } from '../config/models.js';
import { ConfigError } from '../errors.js';
import type { RgbImage } from '../io/image.js';
import { resizeBilinear } from '../ops/bilinear.js';
import { resizeImage } from '../ops/resize.js';
import type { RuntimeContext } from '../runtime/context.js';
import { ort } from '../runtime/session.js';
import { InferenceConfigReader } from './common.js';

/** SamImageProcessor's pixel mean and std (0-255 scale), which PaddleX always uses. */
const SAM_MEAN = [123.675, 116.28, 103.53];
const SAM_STD = [58.395, 57.12, 57.375];

/** Boxes are [x1, y1, x2, y2]; a point prompt is one [x, y] (PaddleX's SAM takes one point only). */
export type SamPrompt = { kind: 'box'; boxes: number[][] } | { kind: 'point'; point: [number, number] };

/** A full-image binary mask: `height` rows of `width` values, 1 inside. */
export interface SamMask {
  width: number;
  height: number;
  data: Uint8Array;
}

const configSchema = z.looseObject({
  Processor: z.looseObject({
    type: z.literal('SAMProcessor'),
    size: z.number().int().positive().default(1024),
    // PaddleX hands mean/std to its processor under names it does not read: the defaults always apply
    mean: z.unknown().optional(),
    std: z.unknown().optional(),
  }),
  Preprocess: z.array(z.unknown()).max(0, 'PaddleX registers no pre-processing steps for SAM besides its Processor').optional(),
});

/** SAM's resize target: the longer side becomes `size`, each side rounded half up. */
export function samResizeShape(width: number, height: number, size: number): [number, number] {
  const scale = size / Math.max(width, height);
  return [Math.trunc(height * scale + 0.5), Math.trunc(width * scale + 0.5)];
}

/** The mask logit above which a pixel is inside (SAMProcessor.postprocess's mask_threshold). */
const MASK_THRESHOLD = 0;

export class SamSegmenter {
  private constructor(
    private readonly session: InferenceSession,
    private readonly size: number,
    private readonly where: string,
  ) {}

  static async load(sub: ResolvedSubModule, rt: RuntimeContext, keyPath: string): Promise<SamSegmenter> {
    const yml = new InferenceConfigReader(sub, keyPath);
    const config = yml.parse(configSchema, yml.config, '');
    const session = await rt.loadSession(sub.resolved);
    if (session.inputNames.length !== 2 || session.outputNames.length < 1) {
      throw new ConfigError(
        `${yml.where}: inference.onnx has inputs [${session.inputNames.join(', ')}]; a SAM export takes the image and the prompts and outputs low-resolution masks`,
      );
    }
    return new SamSegmenter(session, config.Processor.size, yml.where);
  }

  /** One mask per prompt (per box; one for the point), at the image's size. */
  async predict(image: RgbImage, prompt: SamPrompt): Promise<SamMask[]> {
    const { size } = this;
    const [newHeight, newWidth] = samResizeShape(image.width, image.height, size);
    const resized = await resizeImage(image, newWidth, newHeight, 1);
    // (pixel - mean) / std, zero padding right and bottom to size × size
    const pixels = new Float32Array(3 * size * size);
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < newHeight; y++) {
        for (let x = 0; x < newWidth; x++) {
          pixels[c * size * size + y * size + x] = (resized.data[(y * newWidth + x) * 3 + c]! - SAM_MEAN[c]!) / SAM_STD[c]!;
        }
      }
    }
    const sx = newWidth / image.width;
    const sy = newHeight / image.height;
    const promptTensor =
      prompt.kind === 'box'
        ? new ort.Tensor(
            'float32',
            Float32Array.from(prompt.boxes.flatMap(([x1, y1, x2, y2]) => [x1! * sx, y1! * sy, x2! * sx, y2! * sy])),
            [prompt.boxes.length, 4],
          )
        : new ort.Tensor('float32', Float32Array.from([prompt.point[0] * sx, prompt.point[1] * sy]), [1, 1, 2]);
    const outputs = await this.session.run({
      [this.session.inputNames[0]!]: new ort.Tensor('float32', pixels, [1, 3, size, size]),
      [this.session.inputNames[1]!]: promptTensor,
    });
    const lowRes = outputs[this.session.outputNames[0]!]!;
    const expected = prompt.kind === 'box' ? prompt.boxes.length : 1;
    const [count, channels, lowHeight, lowWidth] = lowRes.dims.map(Number);
    if (lowRes.dims.length !== 4 || count !== expected || channels !== 1) {
      throw new Error(`${this.where}: expected low-resolution masks [${expected}, 1, h, w], got [${lowRes.dims.join(', ')}]`);
    }
    const logits = lowRes.data as Float32Array;
    const plane = lowHeight! * lowWidth!;
    return Array.from({ length: count! }, (_, k) => {
      // up to size × size, cut to the resized image, then to the original size (PaddleX's two interpolations)
      const padded = resizeBilinear(logits.subarray(k * plane, (k + 1) * plane), lowWidth!, lowHeight!, size, size, newWidth, newHeight);
      const full = resizeBilinear(padded, newWidth, newHeight, image.width, image.height);
      return { width: image.width, height: image.height, data: Uint8Array.from(full, (v) => (v > MASK_THRESHOLD ? 1 : 0)) };
    });
  }
}
