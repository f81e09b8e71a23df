import type { InferenceSession } from 'onnxruntime-node';
import { z } from 'zod';
import type { ResolvedSubModule } from '../config/models.js';
import { readParam } from '../config/pipelineConfig.js';
import { invalidInput } from '../errors.js';
import type { RgbImage } from '../io/image.js';
import { loadCv, resizeLinear, type CV } from '../ops/cv.js';
import { dbPostprocess, roundHalfEven, sortQuadBoxes, type DbPostprocessOptions, type Point } from '../ops/dbPostprocess.js';
import { normalizeToChw, type NormalizeSpec } from '../ops/normalize.js';
import type { RuntimeContext } from '../runtime/context.js';
import { ort } from '../runtime/session.js';
import { InferenceConfigReader } from './common.js';
import { findPreprocessOp, normalizeSpec, type OpParams, positiveInt, readPreprocessOps } from './preprocessOps.js';

/** How DetResizeForTest sizes the detector input (limit-side mode). */
export interface DetResizeLimits {
  limitSideLen: number;
  limitType: 'min' | 'max';
  maxSideLimit: number;
}

/** The per-request text detection parameters: input sizing and DB post-processing. */
export type TextDetParams = DetResizeLimits & Pick<DbPostprocessOptions, 'thresh' | 'boxThresh' | 'unclipRatio' | 'maxCandidates'>;

/** PaddleX resizes these with limit_type "max" / 960 by default; every other DB model with "min" / 736. */
const MAX_LIMIT_MODELS = new Set([
  'PP-OCRv5_server_det',
  'PP-OCRv5_mobile_det',
  'PP-OCRv4_server_det',
  'PP-OCRv4_mobile_det',
  'PP-OCRv3_server_det',
  'PP-OCRv3_mobile_det',
]);
const DEFAULT_MAX_SIDE_LIMIT = 4000;
/** The network downsamples by 32. */
const SIZE_STEP = 32;

/**
 * Input size for the detector, as PaddleX's DetResizeForTest (limit-side mode): 'max' shrinks so the
 * long side is at most limitSideLen, 'min' grows so the short side is at least limitSideLen; then the
 * long side is capped at maxSideLimit and each side rounded to a multiple of 32 (at least 32).
 */
export function detResizeShape(width: number, height: number, limits: DetResizeLimits): { width: number; height: number } {
  const { limitSideLen, limitType, maxSideLimit } = limits;
  let ratio = 1;
  if (limitType === 'max' && Math.max(width, height) > limitSideLen) ratio = limitSideLen / Math.max(width, height);
  if (limitType === 'min' && Math.min(width, height) < limitSideLen) ratio = limitSideLen / Math.min(width, height);
  let resizedWidth = Math.trunc(width * ratio);
  let resizedHeight = Math.trunc(height * ratio);
  if (Math.max(resizedWidth, resizedHeight) > maxSideLimit) {
    const cap = maxSideLimit / Math.max(resizedWidth, resizedHeight);
    resizedWidth = Math.trunc(resizedWidth * cap);
    resizedHeight = Math.trunc(resizedHeight * cap);
  }
  const toStep = (side: number) => Math.max(roundHalfEven(side / SIZE_STEP) * SIZE_STEP, SIZE_STEP);
  return { width: toStep(resizedWidth), height: toStep(resizedHeight) };
}

const probability = z.number().min(0).max(1);
const positiveNumber = z.number().positive();
const limitTypeSchema = z.enum(['min', 'max']);

const postProcessSchema = z.object({
  name: z.literal('DBPostProcess'),
  thresh: probability.nullish(),
  box_thresh: probability.nullish(),
  unclip_ratio: positiveNumber.nullish(),
  max_candidates: positiveInt.nullish(),
  use_dilation: z.boolean().nullish(),
  score_mode: z.enum(['fast', 'slow']).nullish(),
  box_type: z.literal('quad', { error: 'only quad boxes are supported (poly is for curved text)' }).nullish(),
});

interface InferenceSettings {
  modelName: string;
  resize: OpParams<'DetResizeForTest'>;
  normalize: NormalizeSpec;
  post: z.infer<typeof postProcessSchema>;
}

/** The parts of inference.yml the detector uses, checked. */
function readInferenceSettings(yml: InferenceConfigReader): InferenceSettings {
  const ops = readPreprocessOps(yml, ['DecodeImage', 'DetResizeForTest', 'NormalizeImage', 'ToCHWImage']);
  const decode = findPreprocessOp(ops, 'DecodeImage')?.params;
  const modelName: unknown = yml.config.Global?.model_name;
  return {
    modelName: typeof modelName === 'string' ? modelName : yml.sub.model_name,
    resize: findPreprocessOp(ops, 'DetResizeForTest')?.params ?? {},
    // PaddleX reads RGB unless the export's DecodeImage asks for BGR (PaddleOCR exports do).
    normalize: normalizeSpec(findPreprocessOp(ops, 'NormalizeImage')?.params, decode?.img_mode === 'BGR' ? 'bgr' : 'rgb'),
    post: yml.parse(postProcessSchema, yml.config.PostProcess, 'PostProcess'),
  };
}

function checkParams(params: TextDetParams): void {
  const problems: string[] = [];
  if (!(Number.isInteger(params.limitSideLen) && params.limitSideLen > 0))
    problems.push(`limit_side_len must be a positive integer (got ${params.limitSideLen})`);
  if (params.limitType !== 'min' && params.limitType !== 'max')
    problems.push(`limit_type must be "min" or "max" (got ${JSON.stringify(params.limitType)})`);
  if (!(Number.isInteger(params.maxSideLimit) && params.maxSideLimit > 0))
    problems.push(`max_side_limit must be a positive integer (got ${params.maxSideLimit})`);
  if (!(params.thresh >= 0 && params.thresh <= 1)) problems.push(`thresh must be between 0 and 1 (got ${params.thresh})`);
  if (!(params.boxThresh >= 0 && params.boxThresh <= 1)) problems.push(`box_thresh must be between 0 and 1 (got ${params.boxThresh})`);
  if (!(params.unclipRatio > 0 && Number.isFinite(params.unclipRatio)))
    problems.push(`unclip_ratio must be a positive number (got ${params.unclipRatio})`);
  if (!(Number.isInteger(params.maxCandidates) && params.maxCandidates > 0))
    problems.push(`max_candidates must be a positive integer (got ${params.maxCandidates})`);
  if (problems.length) throw invalidInput(`Invalid text detection parameters: ${problems.join('; ')}`);
}

/** PaddleX's text_detection module: a DB detector (PP-OCR det models) giving text-line quads. */
export class TextDetector {
  private readonly inputName: string;
  private readonly outputName: string;

  private constructor(
    private readonly cv: CV,
    private readonly session: InferenceSession,
    private readonly normalize: NormalizeSpec,
    private readonly postOptions: Pick<DbPostprocessOptions, 'scoreMode' | 'useDilation'>,
    readonly defaults: TextDetParams,
  ) {
    this.inputName = session.inputNames[0]!;
    this.outputName = session.outputNames[0]!;
  }

  /**
   * Defaults: the pipeline YAML's sub-module params, then the model's inference.yml, then PaddleX's
   * per-model defaults. `keyPath` locates the sub-module in the YAML for error messages.
   */
  static async load(sub: ResolvedSubModule, rt: RuntimeContext, keyPath: string): Promise<TextDetector> {
    const settings = readInferenceSettings(new InferenceConfigReader(sub, keyPath));
    const { resize, post } = settings;
    const limitsByDefault = MAX_LIMIT_MODELS.has(settings.modelName);
    const defaults: TextDetParams = {
      limitSideLen: readParam(
        sub,
        'limit_side_len',
        positiveInt,
        keyPath,
        resize.limit_side_len ?? resize.resize_long ?? (limitsByDefault ? 960 : 736),
      ),
      limitType: readParam(sub, 'limit_type', limitTypeSchema, keyPath, resize.limit_type ?? (limitsByDefault ? 'max' : 'min')),
      maxSideLimit: readParam(sub, 'max_side_limit', positiveInt, keyPath, resize.max_side_limit ?? DEFAULT_MAX_SIDE_LIMIT),
      thresh: readParam(sub, 'thresh', probability, keyPath, post.thresh ?? 0.3),
      boxThresh: readParam(sub, 'box_thresh', probability, keyPath, post.box_thresh ?? 0.6),
      unclipRatio: readParam(sub, 'unclip_ratio', positiveNumber, keyPath, post.unclip_ratio ?? 2.0),
      maxCandidates: post.max_candidates ?? 1000,
    };
    const [cv, session] = await Promise.all([loadCv(), rt.loadSession(sub.resolved)]);
    return new TextDetector(
      cv,
      session,
      settings.normalize,
      { scoreMode: post.score_mode ?? undefined, useDilation: post.use_dilation ?? undefined },
      defaults,
    );
  }

  /** Text-line quads (integers, clockwise from top-left) in image coordinates, in reading order. */
  async predict(img: RgbImage, params: TextDetParams): Promise<{ polys: Array<[number, number][]>; scores: number[] }> {
    checkParams(params);
    const size = detResizeShape(img.width, img.height, params);
    const resized = resizeLinear(this.cv, img, size.width, size.height);
    const input = new ort.Tensor('float32', normalizeToChw(resized, this.normalize), [1, 3, size.height, size.width]);
    const outputs = await this.session.run({ [this.inputName]: input });
    const prob = outputs[this.outputName]!;
    const dims = prob.dims;
    const found = dbPostprocess(
      this.cv,
      { width: dims[dims.length - 1]!, height: dims[dims.length - 2]!, data: prob.data as Float32Array },
      img.width,
      img.height,
      { ...this.postOptions, ...params },
    );
    const sorted = sortQuadBoxes(found);
    return { polys: sorted.polys as Array<Point[]>, scores: sorted.scores };
  }
}
