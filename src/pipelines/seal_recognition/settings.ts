/** What both sides of the seal recognition pipeline share: per-request settings and the page result. */
import { z } from 'zod';
import type { LayoutParams } from '../../models/layoutDetection.js';
import { ocrPrunedResult, type OcrSettings } from '../shared/ocrSettings.js';
import { layoutDetResult } from '../shared/schemas.js';

export const LAYOUT_DETECTION = 'LayoutDetection';
export const SEAL_OCR = 'SealOCR';

/** Settings of one request, resolved on the HTTP side. */
export interface SealSettings {
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
  layout_det_res: layoutDetResult.optional(),
  seal_res_list: z.array(ocrPrunedResult),
});

export interface SealPage {
  prunedResult: z.input<typeof sealPrunedResult>;
  /** PaddleX's image keys: layout_det_res, seal_res_region1, ... */
  outputImages: Record<string, Uint8Array>;
  inputImage?: Uint8Array;
  width: number;
  height: number;
}
