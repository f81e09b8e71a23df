/** What both sides of the formula recognition pipeline share: per-request settings and the page result. */
import { z } from 'zod';
import { formulaResEntry, layoutDetResult } from '../shared/schemas.js';
import type { LayoutParams } from '../../models/layoutDetection.js';
import { docPreprocessingResult, type NestedDocPreprocessing } from '../shared/docPreprocessing.js';

/** Settings of one request, resolved on the HTTP side. */
export interface FormulaSettings extends NestedDocPreprocessing {
  useLayoutDetection: boolean;
  layout: LayoutParams;
  visualize: boolean;
  /** [height, width] of Serving.extra.max_output_img_size */
  maxOutputImgSize: [number, number];
}

/** PaddleX's FormulaRecognitionResult as `prunedResult`, keys in its order. */
export const formulaPrunedResult = z.object({
  model_settings: z.object({ use_doc_preprocessor: z.boolean(), use_layout_detection: z.boolean() }),
  doc_preprocessor_res: docPreprocessingResult.optional(),
  layout_det_res: layoutDetResult.optional(),
  formula_res_list: z.array(formulaResEntry),
});

export interface FormulaPage {
  prunedResult: z.input<typeof formulaPrunedResult>;
  /** PaddleX's image keys: preprocessed_img, layout_det_res, formula_res_img */
  outputImages: Record<string, Uint8Array>;
  inputImage?: Uint8Array;
  width: number;
  height: number;
}
