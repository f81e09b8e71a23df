import type { InferenceSession } from 'onnxruntime-node';
import type { ResolvedSubModule } from '../config/models.js';
import { ConfigError } from '../errors.js';
import type { RgbImage } from '../io/image.js';
import { normalizeToChw, parseScale, type NormalizeSpec } from '../ops/normalize.js';
import { cropImage, interpolationCode, resizeImage } from '../ops/resize.js';
import type { RuntimeContext } from '../pipelines/types.js';
import { ort } from '../runtime/session.js';
import { checkNonEmpty, describeModule } from './textRecognition.js';

type GeometryStep = (img: RgbImage) => Promise<RgbImage>;

/** `size: n` or `size: [width, height]`, as PaddleClas writes it. */
function readSize(value: unknown, what: string): { width: number; height: number } {
  if (Number.isInteger(value) && (value as number) > 0) return { width: value as number, height: value as number };
  if (Array.isArray(value) && value.length === 2 && value.every((v) => Number.isInteger(v) && v > 0)) {
    return { width: value[0], height: value[1] };
  }
  throw new ConfigError(`${what} must be a positive integer or [width, height] (got ${JSON.stringify(value)})`);
}

function resizeStep(params: Record<string, unknown>, where: string): GeometryStep {
  const interp = interpolationCode(params.interpolation, 1);
  if (params.resize_short !== undefined && params.resize_short !== null) {
    const shortSide = params.resize_short;
    if (!Number.isInteger(shortSide) || (shortSide as number) <= 0) {
      throw new ConfigError(`${where}: ResizeImage.resize_short must be a positive integer (got ${JSON.stringify(shortSide)})`);
    }
    // PaddleX ResizeByShort: scale the shorter side to resize_short, rounding both sides.
    return (img) => {
      const scale = (shortSide as number) / Math.min(img.width, img.height);
      return resizeImage(img, Math.round(img.width * scale), Math.round(img.height * scale), interp);
    };
  }
  const { width, height } = readSize(params.size, `${where}: ResizeImage.size (or resize_short)`);
  return (img) => resizeImage(img, width, height, interp);
}

function centerCropStep(params: Record<string, unknown>, where: string): GeometryStep {
  const { width, height } = readSize(params.size, `${where}: CropImage.size`);
  // PaddleX Crop mode 'C': the window starts at floor((side - size) / 2), clamped to the image.
  return async (img) =>
    cropImage(img, Math.max(0, Math.floor((img.width - width) / 2)), Math.max(0, Math.floor((img.height - height) / 2)), width, height);
}

function readNormalize(params: Record<string, unknown>, where: string): NormalizeSpec {
  const triple = (value: unknown, name: string): number[] => {
    if (Array.isArray(value) && value.length === 3 && value.every((v) => typeof v === 'number')) return value;
    throw new ConfigError(`${where}: NormalizeImage.${name} must be a list of 3 numbers (got ${JSON.stringify(value)})`);
  };
  const std = triple(params.std, 'std');
  if (std.some((s) => s === 0)) throw new ConfigError(`${where}: NormalizeImage.std must not contain 0`);
  // PaddleX's classification predictor reads images as RGB.
  return { scale: parseScale(params.scale, 1 / 255), mean: triple(params.mean, 'mean'), std, channelOrder: 'rgb' };
}

/**
 * A PaddleClas `PreProcess.transform_ops` list (ResizeImage, CropImage, NormalizeImage, ToCHWImage),
 * applied as PaddleX's classification predictor does; the result is always CHW.
 */
export class PaddleClasPreprocess {
  private constructor(
    private readonly geometry: GeometryStep[],
    private readonly normalize: NormalizeSpec,
  ) {}

  static fromConfig(sub: ResolvedSubModule, keyPath: string): PaddleClasPreprocess {
    const where = describeModule(sub, keyPath);
    const ops: unknown = sub.resolved.inferenceConfig.PreProcess?.transform_ops;
    if (!Array.isArray(ops)) throw new ConfigError(`${where}: inference.yml has no PreProcess.transform_ops list`);
    const geometry: GeometryStep[] = [];
    let normalize: NormalizeSpec = { scale: 1, mean: [0, 0, 0], std: [1, 1, 1], channelOrder: 'rgb' };
    for (const op of ops) {
      const name = op && typeof op === 'object' ? Object.keys(op)[0] : undefined;
      const params = ((name && op[name]) ?? {}) as Record<string, unknown>;
      switch (name) {
        case 'ResizeImage':
          geometry.push(resizeStep(params, where));
          break;
        case 'CropImage':
          geometry.push(centerCropStep(params, where));
          break;
        case 'NormalizeImage':
          normalize = readNormalize(params, where);
          break;
        case 'ToCHWImage':
          break; // tensors are always written CHW
        default:
          throw new ConfigError(
            `${where}: unsupported PreProcess.transform_ops entry ${JSON.stringify(op)} ` +
              '(supported: ResizeImage, CropImage, NormalizeImage, ToCHWImage)',
          );
      }
    }
    return new PaddleClasPreprocess(geometry, normalize);
  }

  /** `[N, 3, H, W]` input for a batch; every image must come out of the geometry steps at the same size. */
  async toTensor(images: RgbImage[]): Promise<ort.Tensor> {
    const prepared: RgbImage[] = [];
    for (const img of images) {
      let current = img;
      for (const step of this.geometry) current = await step(current);
      prepared.push(current);
    }
    const { width, height } = prepared[0]!;
    if (prepared.some((p) => p.width !== width || p.height !== height)) {
      throw new Error('PaddleClas preprocessing: images of one batch came out at different sizes (the config has no fixed-size step)');
    }
    const blockSize = 3 * width * height;
    const data = new Float32Array(prepared.length * blockSize);
    prepared.forEach((p, i) => normalizeToChw(p, this.normalize, data, i * blockSize));
    return new ort.Tensor('float32', data, [prepared.length, 3, height, width]);
  }
}

/** Class names: PaddleClas exports keep them in `PostProcess.Topk.label_list`, PaddleOCR's classifier in `PostProcess.label_list`. */
export function readLabelList(sub: ResolvedSubModule, keyPath: string): string[] {
  const post = sub.resolved.inferenceConfig.PostProcess ?? {};
  const labels: unknown = post.Topk?.label_list ?? post.label_list;
  if (!Array.isArray(labels) || labels.length === 0) {
    throw new ConfigError(`${describeModule(sub, keyPath)}: inference.yml has no PostProcess.Topk.label_list (or PostProcess.label_list)`);
  }
  return labels.map((l) => String(l));
}

/** The angle each class stands for, from labels such as '90' or '180_degree'. */
export function labelAngles<A extends number>(labels: string[], allowed: readonly A[], where: string): A[] {
  return labels.map((label) => {
    const angle = Number(/^\d+/.exec(label)?.[0]);
    if (!allowed.includes(angle as A)) {
      throw new ConfigError(`${where}: label ${JSON.stringify(label)} does not name one of the angles ${allowed.join(', ')}`);
    }
    return angle as A;
  });
}

/** Run a classifier and pick the most probable class of each row of its `[N, classes]` output. */
export async function classify(
  session: InferenceSession,
  input: ort.Tensor,
  classes: number,
): Promise<Array<{ classIndex: number; score: number }>> {
  const output = (await session.run({ [session.inputNames[0]!]: input }))[session.outputNames[0]!]!;
  const rows = input.dims[0]!;
  if (output.dims.length !== 2 || output.dims[0] !== rows || output.dims[1] !== classes) {
    throw new Error(`classifier: expected an output [${rows}, ${classes}], got [${output.dims.join(', ')}]`);
  }
  const probs = output.data as Float32Array;
  return Array.from({ length: rows }, (_, row) => {
    let classIndex = 0;
    for (let c = 1; c < classes; c++) if (probs[row * classes + c]! > probs[row * classes + classIndex]!) classIndex = c;
    return { classIndex, score: probs[row * classes + classIndex]! };
  });
}

export type DocAngle = 0 | 90 | 180 | 270;

/**
 * Document image orientation (PaddleX `doc_text_orientation`, PP-LCNet_x1_0_doc_ori): input
 * `x: f32[N, 3, 224, 224]`, output `[N, 4]` probabilities for the labels '0', '90', '180', '270'.
 *
 * `angle` is how far the page content is turned clockwise. PaddleX corrects it with
 * `scipy.ndimage.rotate(img, angle, reshape=True)`, which turns the array counter-clockwise by
 * `angle` as displayed (checked: a top band of a 3×5 array ends up as the left column after 90), so
 * a page whose top edge lies on the right is class 90 and `rotateImage(img, 90)` (counter-clockwise)
 * sets it upright.
 */
export class DocOrientationClassifier {
  private constructor(
    private readonly session: InferenceSession,
    private readonly preprocess: PaddleClasPreprocess,
    private readonly angles: DocAngle[],
  ) {}

  static async load(sub: ResolvedSubModule, rt: RuntimeContext, keyPath: string): Promise<DocOrientationClassifier> {
    const preprocess = PaddleClasPreprocess.fromConfig(sub, keyPath);
    const angles = labelAngles(readLabelList(sub, keyPath), [0, 90, 180, 270] as const, describeModule(sub, keyPath));
    return new DocOrientationClassifier(await rt.loadSession(sub), preprocess, angles);
  }

  async predict(img: RgbImage): Promise<{ angle: DocAngle; score: number }> {
    checkNonEmpty([img], 'document orientation');
    const [best] = await classify(this.session, await this.preprocess.toTensor([img]), this.angles.length);
    return { angle: this.angles[best!.classIndex]!, score: best!.score };
  }
}
