/** What both sides of the OCR pipeline share: the per-request settings, the page result and its schema. */
import { z } from 'zod';
import type { RequestedTextDetParams } from '../../models/textDetection.js';

export const DOC_PREPROCESSOR = 'DocPreprocessor';
export const DOC_ORIENTATION = 'DocOrientationClassify';

/** Settings of one request, resolved from request → YAML → model defaults. Sent to the workers. */
export interface OcrSettings {
  useDocPreprocessor: boolean;
  useDocOrientationClassify: boolean;
  useDocUnwarping: boolean;
  useTextlineOrientation: boolean;
  /** request overrides only; the worker fills the rest from the detector's YAML/model defaults */
  textDet: Partial<RequestedTextDetParams>;
  textRecScoreThresh: number;
  visualize: boolean;
  /** [height, width] of Serving.extra.max_output_img_size */
  maxOutputImgSize: [number, number];
}

const int = z.number().int();
const polygon = z.array(z.tuple([int, int]));

/** PaddleX's OCRResult as `prunedResult` (input_path and page_index removed). */
export const ocrPrunedResult = z.object({
  model_settings: z.object({ use_doc_preprocessor: z.boolean(), use_textline_orientation: z.boolean() }),
  doc_preprocessor_res: z
    .object({
      model_settings: z.object({ use_doc_orientation_classify: z.boolean(), use_doc_unwarping: z.boolean() }),
      angle: int,
    })
    .optional(),
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
});

/** One page (image) of an OCR request, as a worker returns it. */
export interface OcrPage {
  prunedResult: z.input<typeof ocrPrunedResult>;
  images: { ocrImage?: Uint8Array; docPreprocessingImage?: Uint8Array; inputImage?: Uint8Array };
  width: number;
  height: number;
}
