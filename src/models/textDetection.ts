import type { InferenceSession } from 'onnxruntime-node';
import { z } from 'zod';
import type { ResolvedSubModule } from '../config/models.js';
import { readParam } from '../config/pipelineConfig.js';
import { invalidInput } from '../errors.js';
import type { RgbImage } from '../io/image.js';
import { loadCv, cvResize, type CV } from '../ops/cv.js';
import {
  dbPolygons,
  dbPostprocess,
  roundHalfEven,
  sortPolyBoxes,
  sortQuadBoxes,
  type DbPostprocessOptions,
  type Point,
} from '../ops/dbPostprocess.js';
import { normalizeToChw, type NormalizeSpec } from '../ops/normalize.js';
import type { RuntimeContext } from '../runtime/context.js';
import { ort } from '../runtime/session.js';
import { InferenceConfigReader } from './common.js';
import { findPreprocessOp, normalizeSpec, positiveInt, readPreprocessOps } from './preprocessOps.js';

/** The `limit_type` values PaddleX's DetResizeForTest accepts. */
export const LIMIT_TYPES = ['min', 'max', 'resize_long'] as const;
export type LimitType = (typeof LIMIT_TYPES)[number];

/** How DetResizeForTest sizes the detector input (limit-side mode). */
export interface DetResizeLimits {
  limitSideLen: number;
  limitType: LimitType;
  maxSideLimit: number;
}

/** The per-request text detection parameters: input sizing and DB post-processing. */
export type TextDetParams = DetResizeLimits & Pick<DbPostprocessOptions, 'thresh' | 'boxThresh' | 'unclipRatio' | 'maxCandidates'>;

/** Parameters as a request gives them: zeros and an empty limit type stand for the defaults (see effectiveParams). */
export type RequestedTextDetParams = Omit<TextDetParams, 'limitType'> & { limitType: LimitType | '' };

/**
 * What PaddleX's OCR pipeline (general text) uses for a key its YAML leaves out; these override the
 * model's inference.yml, as the pipeline passes them to the model.
 */
const GENERAL_TEXT_DEFAULTS = { limitSideLen: 960, limitType: 'max', thresh: 0.3, boxThresh: 0.6, unclipRatio: 2.0 } as const;
/** The same for seal text (PaddleX's OCR pipeline with `text_type: seal`). */
const SEAL_TEXT_DEFAULTS = { limitSideLen: 736, limitType: 'min', thresh: 0.2, boxThresh: 0.6, unclipRatio: 0.5 } as const;
type TextDefaults = typeof GENERAL_TEXT_DEFAULTS | typeof SEAL_TEXT_DEFAULTS;
const DEFAULT_MAX_SIDE_LIMIT = 4000;
/** The network downsamples by 32. */
const SIZE_STEP = 32;

/**
 * Input size for the detector, as PaddleX's DetResizeForTest (limit-side mode): 'max' shrinks so the
 * long side is at most limitSideLen, 'min' grows so the short side is at least limitSideLen,
 * 'resize_long' scales the long side to limitSideLen; then the long side is capped at maxSideLimit
 * and each side rounded to a multiple of 32 (at least 32).
 */
export function detResizeShape(width: number, height: number, limits: DetResizeLimits): { width: number; height: number } {
  const { limitSideLen, limitType, maxSideLimit } = limits;
  let ratio = 1;
  if (limitType === 'max' && Math.max(width, height) > limitSideLen) ratio = limitSideLen / Math.max(width, height);
  if (limitType === 'min' && Math.min(width, height) < limitSideLen) ratio = limitSideLen / Math.min(width, height);
  if (limitType === 'resize_long') ratio = limitSideLen / Math.max(width, height);
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
const limitTypeSchema = z.enum(LIMIT_TYPES);

const postProcessSchema = z.object({
  name: z.literal('DBPostProcess'),
  thresh: probability.nullish(),
  box_thresh: probability.nullish(),
  unclip_ratio: positiveNumber.nullish(),
  max_candidates: positiveInt.nullish(),
  use_dilation: z.boolean().nullish(),
  score_mode: z.enum(['fast', 'slow']).nullish(),
  box_type: z.enum(['quad', 'poly']).nullish(),
});

interface InferenceSettings {
  normalize: NormalizeSpec;
  post: z.infer<typeof postProcessSchema>;
}

/** The parts of inference.yml the detector uses, checked. */
function readInferenceSettings(yml: InferenceConfigReader): InferenceSettings {
  const ops = readPreprocessOps(yml, ['DecodeImage', 'DetResizeForTest', 'NormalizeImage', 'ToCHWImage']);
  const decode = findPreprocessOp(ops, 'DecodeImage')?.params;
  return {
    // PaddleX reads RGB unless the export's DecodeImage asks for BGR (PaddleOCR exports do).
    normalize: normalizeSpec(findPreprocessOp(ops, 'NormalizeImage')?.params, decode?.img_mode === 'BGR' ? 'bgr' : 'rgb'),
    post: yml.parse(postProcessSchema, yml.config.PostProcess, 'PostProcess'),
  };
}

function checkParams(params: TextDetParams): void {
  const problems: string[] = [];
  if (!(Number.isInteger(params.limitSideLen) && params.limitSideLen > 0))
    problems.push(`limit_side_len must be a positive integer (got ${params.limitSideLen})`);
  if (!LIMIT_TYPES.includes(params.limitType))
    problems.push(`limit_type must be one of ${LIMIT_TYPES.map((t) => `"${t}"`).join(', ')} (got ${JSON.stringify(params.limitType)})`);
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
    /** `poly` (seal models): polygons around curved text; `quad`: four corners per line */
    readonly boxType: 'quad' | 'poly',
    readonly defaults: TextDetParams,
  ) {
    this.inputName = session.inputNames[0]!;
    this.outputName = session.outputNames[0]!;
  }

  /**
   * Defaults: the pipeline YAML's sub-module params, else PaddleX's OCR pipeline defaults for general
   * text (never the model's inference.yml, which PaddleX's pipeline overrides). `keyPath` locates the
   * sub-module in the YAML for error messages.
   */
  static async load(
    sub: ResolvedSubModule,
    rt: RuntimeContext,
    keyPath: string,
    fallback: TextDefaults = GENERAL_TEXT_DEFAULTS,
  ): Promise<TextDetector> {
    const { post, normalize } = readInferenceSettings(new InferenceConfigReader(sub, keyPath));
    const defaults: TextDetParams = {
      limitSideLen: readParam(sub, 'limit_side_len', positiveInt, keyPath, fallback.limitSideLen),
      limitType: readParam(sub, 'limit_type', limitTypeSchema, keyPath, fallback.limitType),
      maxSideLimit: readParam(sub, 'max_side_limit', positiveInt, keyPath, DEFAULT_MAX_SIDE_LIMIT),
      thresh: readParam(sub, 'thresh', probability, keyPath, fallback.thresh),
      boxThresh: readParam(sub, 'box_thresh', probability, keyPath, fallback.boxThresh),
      unclipRatio: readParam(sub, 'unclip_ratio', positiveNumber, keyPath, fallback.unclipRatio),
      maxCandidates: post.max_candidates ?? 1000,
    };
    const [cv, session] = await Promise.all([loadCv(), rt.loadSession(sub.resolved, { widenWhenAlone: true })]);
    return new TextDetector(
      cv,
      session,
      normalize,
      { scoreMode: post.score_mode ?? undefined, useDilation: post.use_dilation ?? undefined },
      post.box_type ?? 'quad',
      defaults,
    );
  }

  /**
   * The parameters a detection runs with: PaddleX's model falls back to its defaults with Python's
   * `or`, so a zero (or empty) request value means "the default" (max_side_limit excepted).
   */
  effectiveParams(requested: RequestedTextDetParams): TextDetParams {
    const d = this.defaults;
    return {
      ...requested,
      limitSideLen: requested.limitSideLen || d.limitSideLen,
      limitType: requested.limitType || d.limitType,
      thresh: requested.thresh || d.thresh,
      boxThresh: requested.boxThresh || d.boxThresh,
      unclipRatio: requested.unclipRatio || d.unclipRatio,
    };
  }

  /**
   * Text-line quads (integers, clockwise from top-left) or, for `box_type: poly`, polygons, in image
   * coordinates, in PaddleX's order (SortQuadBoxes / SortPolyBoxes).
   */
  async predict(img: RgbImage, params: TextDetParams): Promise<{ polys: Array<[number, number][]>; scores: number[] }> {
    checkParams(params);
    // DetResizeForTest pads an image whose sides add up to less than 64 (black, bottom/right) to at
    // least 32×32; the boxes are still scaled to the original size, as PaddleX does.
    const padded = img.width + img.height < 64 ? padToAtLeast(img, 32) : img;
    const size = detResizeShape(padded.width, padded.height, params);
    const resized = cvResize(this.cv, padded, size.width, size.height);
    const input = new ort.Tensor('float32', normalizeToChw(resized, this.normalize), [1, 3, size.height, size.width]);
    const outputs = await this.session.run({ [this.inputName]: input });
    const prob = outputs[this.outputName]!;
    const dims = prob.dims;
    const map = { width: dims[dims.length - 1]!, height: dims[dims.length - 2]!, data: prob.data as Float32Array };
    const options = { ...this.postOptions, ...params };
    const sorted =
      this.boxType === 'poly'
        ? sortPolyBoxes(dbPolygons(this.cv, map, img.width, img.height, options))
        : sortQuadBoxes(dbPostprocess(this.cv, map, img.width, img.height, options));
    return { polys: sorted.polys as Array<Point[]>, scores: sorted.scores };
  }
}

/** PaddleX module `seal_text_detection`: the DB detector with the seal defaults of PaddleX's OCR pipeline (`text_type: seal`). */
export const sealTextDetectorFamily = {
  load: (sub: ResolvedSubModule, rt: RuntimeContext, keyPath: string): Promise<TextDetector> =>
    TextDetector.load(sub, rt, keyPath, SEAL_TEXT_DEFAULTS),
};

/** The image on a black canvas of at least `side` × `side`, at the top left. */
function padToAtLeast(img: RgbImage, side: number): RgbImage {
  const width = Math.max(side, img.width);
  const height = Math.max(side, img.height);
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < img.height; y++) data.set(img.data.subarray(y * img.width * 3, (y + 1) * img.width * 3), y * width * 3);
  return { width, height, data };
}
