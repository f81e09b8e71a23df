/** What both sides of the OCR pipeline share: the per-request settings, the page result and its schema. */
import { z } from 'zod';
import type { PipelineConfig } from '../../config/pipelineConfig.js';
import type { LimitType, RequestedTextDetParams } from '../../models/textDetection.js';
import { activeNestedDocPreprocessing, type DocPreprocessingSteps, docPreprocessingResult } from '../shared/docPreprocessing.js';
import { optional, unloadedModelRequested } from './request.js';
import type { SearchablePage } from './searchablePdf.js';

export { DOC_PREPROCESSOR } from '../shared/docPreprocessing.js';

const unitInterval = z.number().min(0).max(1);

/** The detection/recognition parameters a request may set, without their `text` / `seal` prefix. */
const ocrParamFields = {
  // 0 (or an empty limit type) is allowed: PaddleX's model then uses its default (Python's `or`).
  DetLimitSideLen: optional(z.number().int().nonnegative()),
  DetLimitType: optional(z.enum(['min', 'max', 'resize_long', ''] satisfies Array<LimitType | ''>)),
  DetThresh: optional(unitInterval),
  DetBoxThresh: optional(unitInterval),
  DetUnclipRatio: optional(z.number().nonnegative()),
  RecScoreThresh: optional(unitInterval),
};
type OcrParamFields<P extends string> = { [K in keyof typeof ocrParamFields as `${P}${K}`]: (typeof ocrParamFields)[K] };

function ocrParamRequestFields<P extends 'text' | 'seal'>(prefix: P): OcrParamFields<P> {
  return Object.fromEntries(Object.entries(ocrParamFields).map(([name, field]) => [`${prefix}${name}`, field])) as OcrParamFields<P>;
}

/** PaddleX's `textDet*` / `textRecScoreThresh` request fields (OCR, table recognition, layout parsing, ChatOCR). */
export const textOcrRequestFields = ocrParamRequestFields('text');
/** PaddleX's `sealDet*` / `sealRecScoreThresh` request fields (seal recognition, layout parsing, ChatOCR). */
export const sealOcrRequestFields = ocrParamRequestFields('seal');

/** The detection parameters a request sets under `prefix` (the others come from the YAML and the model). */
export function requestedDet<P extends 'text' | 'seal'>(
  req: Partial<z.output<z.ZodObject<OcrParamFields<P>>>>,
  prefix: P,
): OcrSettings['textDet'] {
  const field = (name: keyof typeof ocrParamFields) => (req as Record<string, unknown>)[`${prefix}${name}`];
  return textDetOverrides({
    limitSideLen: field('DetLimitSideLen'),
    limitType: field('DetLimitType'),
    thresh: field('DetThresh'),
    boxThresh: field('DetBoxThresh'),
    unclipRatio: field('DetUnclipRatio'),
  } as Parameters<typeof textDetOverrides>[0]);
}

/** Settings of one request, resolved from request → YAML → model defaults. Sent to the workers. */
export interface OcrSettings {
  useDocPreprocessor: boolean;
  /** the doc preprocessor's steps (both false when it is off) */
  docSteps: DocPreprocessingSteps;
  useTextlineOrientation: boolean;
  returnWordBox: boolean;
  /** request overrides only; the worker fills the rest from the detector's YAML/model defaults */
  textDet: Partial<RequestedTextDetParams>;
  textRecScoreThresh: number;
  visualize: boolean;
  /** [height, width] of Serving.extra.max_output_img_size */
  maxOutputImgSize: [number, number];
  /** pipeserve's searchable PDF: return the page image and its lines for it */
  searchablePdf?: boolean;
}

const int = z.number().int();
const polygon = z.array(z.tuple([int, int]));

/** PaddleX's OCRResult as `prunedResult` (input_path and page_index removed). */
export const ocrPrunedResult = z.object({
  model_settings: z.object({ use_doc_preprocessor: z.boolean(), use_textline_orientation: z.boolean() }),
  doc_preprocessor_res: docPreprocessingResult.optional(),
  dt_polys: z.array(polygon),
  text_det_params: z.object({
    limit_side_len: int,
    limit_type: z.string(),
    thresh: z.number(),
    max_side_limit: int,
    box_thresh: z.number(),
    unclip_ratio: z.number(),
  }),
  text_type: z.string(),
  textline_orientation_angles: z.array(int).optional(),
  text_rec_score_thresh: z.number(),
  return_word_box: z.boolean(),
  rec_texts: z.array(z.string()),
  rec_scores: z.array(z.number()),
  rec_polys: z.array(polygon),
  rec_boxes: z.array(z.tuple([int, int, int, int])),
  // with return_word_box: per line, its words and their [x1, y1, x2, y2] boxes
  text_word: z.array(z.array(z.string())).optional(),
  text_word_boxes: z.array(z.array(z.tuple([int, int, int, int]))).optional(),
});

/** One page (image) of an OCR request, as a worker returns it. */
export interface OcrPage {
  prunedResult: z.input<typeof ocrPrunedResult>;
  images: { ocrImage?: Uint8Array; docPreprocessingImage?: Uint8Array; inputImage?: Uint8Array };
  /** with `searchablePdf`: the page as read (after doc preprocessing) and its lines */
  searchable?: SearchablePage;
  width: number;
  height: number;
}

/** An OCR pipeline config without what its YAML switches off, so those models are neither required nor loaded. */
export function activeOcrConfig(config: PipelineConfig): PipelineConfig {
  const SubModules = { ...config.SubModules };
  if (!config.use_textline_orientation) delete SubModules.TextLineOrientation;
  return { ...config, SubModules, SubPipelines: activeNestedDocPreprocessing(config.SubPipelines, Boolean(config.use_doc_preprocessor)) };
}

/** Request text-detection values that override the model's (null ones leave them be). */
export function textDetOverrides(
  values: { [K in keyof RequestedTextDetParams]?: RequestedTextDetParams[K] | null },
): OcrSettings['textDet'] {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value != null)) as OcrSettings['textDet'];
}

/** The request's use_textline_orientation, else the OCR config's; refused when its model is not loaded (`keyPrefix` locates the OCR config). */
export function resolveTextlineOrientation(requested: boolean | null | undefined, ocrConfig: PipelineConfig, keyPrefix: string): boolean {
  const use = requested ?? Boolean(ocrConfig.use_textline_orientation);
  if (use && !ocrConfig.SubModules?.TextLineOrientation) {
    throw unloadedModelRequested(
      'Text-line orientation was requested, but this server has no text-line orientation model loaded ' +
        `(${keyPrefix}SubModules.TextLineOrientation; set ${keyPrefix}use_textline_orientation: True in the pipeline YAML).`,
    );
  }
  return use;
}
