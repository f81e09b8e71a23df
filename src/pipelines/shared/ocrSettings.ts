/** What both sides of the OCR pipeline share: the per-request settings, the page result and its schema. */
import { z } from 'zod';
import type { RequestedTextDetParams } from '../../models/textDetection.js';
import { type DocPreprocessingSteps, docPreprocessingResult } from '../shared/docPreprocessing.js';
import type { SearchablePage } from './searchablePdf.js';

export const DOC_PREPROCESSOR = 'DocPreprocessor';

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

/** A request's text detection overrides (PaddleX's `*DetLimitSideLen` … `*DetUnclipRatio` fields): null or absent ones stay unset. */
export function textDetOverrides(
  requested: { [K in keyof RequestedTextDetParams]?: RequestedTextDetParams[K] | null },
): Partial<RequestedTextDetParams> {
  return Object.fromEntries(Object.entries(requested).filter(([, v]) => v != null)) as Partial<RequestedTextDetParams>;
}
