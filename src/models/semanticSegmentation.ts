import type { InferenceSession } from 'onnxruntime-node';
import { z } from 'zod';
import type { ResolvedSubModule } from '../config/models.js';
import { readParam } from '../config/pipelineConfig.js';
import type { RgbImage } from '../io/image.js';
import { argmaxPlanes, type LabelMap, resizeNearest } from '../ops/labelMap.js';
import type { ort } from '../runtime/session.js';
import type { RuntimeContext } from '../runtime/context.js';
import { batchSizeOf, InferenceConfigReader, runInBatches } from './common.js';
import { PaddleSegPreprocess, type SegResize, shapeOf, stackChw, type TargetSize, toTargetSize } from './paddleSegPreprocess.js';

/**
 * PaddleX's segmentation Resize defaults (`SegPredictor.build_resize`): the model's own Resize op
 * and one made for a `target_size` keep the ratio and round up to a multiple of 32 unless told otherwise.
 */
const SEG_RESIZE_DEFAULTS = { keepRatio: true, sizeDivisor: 32 };

/** `target_size`: an int (square, -1 = the image's own size) or [width, height]. */
export const targetSizeParam = z.union([
  z.literal(-1),
  z.number().int().positive(),
  z.union([z.tuple([z.literal(-1), z.literal(-1)]), z.tuple([z.number().int().positive(), z.number().int().positive()])]),
]);

/**
 * PaddleSeg model (PaddleX module `semantic_segmentation`) on an ONNX session. PaddleX's exports end
 * in argmax (int labels `[N, H, W]`); PaddleSeg exports made without it (`output_op: none`, e.g.
 * PP-HumanSeg) give scores `[N, C, H, W]`, and take the argmax over C here.
 */
export class SemanticSegmenter {
  private constructor(
    private readonly session: InferenceSession,
    private readonly preprocess: PaddleSegPreprocess,
    private readonly batchSize: number,
    /** the sub-module's `target_size` (PaddleX swaps the model's Resize for a default one of that size) */
    private readonly moduleResize: SegResize | undefined,
  ) {}

  static async load(sub: ResolvedSubModule, rt: RuntimeContext, keyPath: string): Promise<SemanticSegmenter> {
    const preprocess = PaddleSegPreprocess.fromConfig(new InferenceConfigReader(sub, keyPath), SEG_RESIZE_DEFAULTS);
    // PaddleX's own semantic_segmentation.yaml writes `target_size: None`, which YAML reads as the string "None".
    const configured = sub.target_size === 'None' ? undefined : readParam(sub, 'target_size', targetSizeParam, keyPath, undefined);
    const session = await rt.loadSession(sub.resolved);
    const moduleResize = configured === undefined ? undefined : { target: toTargetSize(configured), ...SEG_RESIZE_DEFAULTS, interp: 1 };
    return new SemanticSegmenter(session, preprocess, batchSizeOf(sub, session), moduleResize);
  }

  /**
   * One label map per image, at the image's size. `targetSize` (PaddleX's per-call `target_size`)
   * replaces the target of the Resize in force; without any Resize the image goes in as it is.
   */
  async predict(images: RgbImage[], opts: { targetSize?: TargetSize | null } = {}): Promise<LabelMap[]> {
    const base = this.moduleResize ?? this.preprocess.resize ?? { target: 'original' as const, ...SEG_RESIZE_DEFAULTS, interp: 1 };
    const resize = opts.targetSize == null ? base : { ...base, target: opts.targetSize };
    return runInBatches(images, this.batchSize, {
      prepare: (img) => this.preprocess.prepare(img, resize),
      shapeOf,
      run: async (prepared, originals) => {
        const output = (await this.session.run({ [this.session.inputNames[0]!]: stackChw(prepared) }))[this.session.outputNames[0]!]!;
        return originals.map((img, i) => resizeNearest(labelsOf(output, i), img.width, img.height));
      },
    });
  }
}

/** Image `index`'s labels of a `[N, H, W]` / `[N, 1, H, W]` label output or a `[N, C, H, W]` score output. */
function labelsOf(output: ort.Tensor, index: number): LabelMap {
  const dims = output.dims.map(Number);
  const isLabels = output.type !== 'float32' && output.type !== 'float16' && output.type !== 'float64';
  if (dims.length === 3 || (dims.length === 4 && dims[1] === 1 && isLabels)) {
    const [height, width] = dims.slice(-2) as [number, number];
    const plane = width * height;
    const data = Int32Array.from(output.data.slice(index * plane, (index + 1) * plane) as ArrayLike<number>, Number);
    return { width, height, data };
  }
  if (dims.length === 4 && !isLabels) {
    const [, classes, height, width] = dims as [number, number, number, number];
    return argmaxPlanes(output.data as Float32Array, index * classes * height * width, classes, width, height);
  }
  throw new Error(`semantic segmentation: expected labels [N, H, W] or scores [N, C, H, W], got ${output.type} [${dims.join(', ')}]`);
}
