/** What both sides of the seal recognition pipeline share: per-request settings and the page result. */
import { z } from 'zod';
import type { LayoutParams } from '../../models/layoutDetection.js';
import { docPreprocessingResult, type NestedDocPreprocessing } from '../shared/docPreprocessing.js';
import { ocrPrunedResult, type OcrSettings } from '../shared/ocrSettings.js';
import type { PrunedPage } from '../shared/output.js';
import { layoutDetResult } from '../shared/schemas.js';

export const SEAL_OCR = 'SealOCR';

/** Settings of one request, resolved on the HTTP side. */
export interface SealSettings extends NestedDocPreprocessing {
  useLayoutDetection: boolean;
  layout: LayoutParams;
  /** the SealOCR sub-pipeline's settings (no doc preprocessing, no text-line orientation: as its YAML) */
  ocr: OcrSettings;
  visualize: boolean;
  maxOutputImgSize: [number, number];
}

/** PaddleX's SealRecognitionResult as `prunedResult`. */
export const sealPrunedResult = z.object({
  model_settings: z.object({ use_doc_preprocessor: z.boolean(), use_layout_detection: z.boolean() }),
  doc_preprocessor_res: docPreprocessingResult.optional(),
  layout_det_res: layoutDetResult.optional(),
  seal_res_list: z.array(ocrPrunedResult),
});

/** A page's result; PaddleX's image keys: layout_det_res, seal_res_region1, ... */
export type SealPage = PrunedPage<z.input<typeof sealPrunedResult>>;
