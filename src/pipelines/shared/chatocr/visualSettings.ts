/**
 * The visual stage of PP-ChatOCR, the part both sides share: per-request settings, the page result,
 * and PaddleX's config keys. The stage is PaddleX's layout_parsing (v1) built from the OCR engine,
 * layout detection, seal, table and formula recognition and doc preprocessing (see README, PP-ChatOCR).
 */
import { z } from 'zod';
import type { LayoutParams } from '../../../models/layoutDetection.js';
import type { DocPreprocessingSteps } from '../docPreprocessing.js';
import { docPreprocessingResult } from '../docPreprocessing.js';
import { ocrPrunedResult, type OcrSettings } from '../ocrSettings.js';
import { formulaResEntry, layoutDetResult } from '../schemas.js';
import { tableResJson, type TableSettings } from '../tableRecognition.js';

/** PaddleX's YAML keys of the visual stage. */
export const LAYOUT_PARSER = 'LayoutParser';
export const GENERAL_OCR = 'GeneralOCR';
export const SEAL_RECOGNITION = 'SealRecognition';
export const SEAL_OCR = 'SealOCR';
export const TABLE_RECOGNITION = 'TableRecognition';
export const LAYOUT_DETECTION = 'LayoutDetection';
export const FORMULA_PIPELINE = 'FormulaRecognition';

export interface VisualSettings {
  useDocPreprocessor: boolean;
  docSteps: DocPreprocessingSteps;
  useSealRecognition: boolean;
  useTableRecognition: boolean;
  /** the YAML's use_formula_recognition (PaddleX's visual_predict takes no such parameter) */
  useFormulaRecognition: boolean;
  /** the TableRecognition sub-pipeline's options: PaddleX's layout_parsing v1 calls it with its defaults (no cell OCR) */
  table: Pick<TableSettings, 'ocr' | 'cellOcr' | 'useOcrResultsWithTableCells'>;
  layout: LayoutParams;
  ocr: OcrSettings;
  seal: OcrSettings;
  visualize: boolean;
  maxOutputImgSize: [number, number];
}

/** PaddleX's LayoutParsingResult (layout_parsing v1) as `prunedResult`. */
export const layoutParsingPrunedResult = z.object({
  model_settings: z.object({
    use_doc_preprocessor: z.boolean(),
    use_seal_recognition: z.boolean(),
    use_table_recognition: z.boolean(),
    use_formula_recognition: z.boolean(),
  }),
  parsing_res_list: z.array(
    z.object({
      block_bbox: z.tuple([z.number(), z.number(), z.number(), z.number()]),
      block_label: z.string(),
      block_content: z.string(),
    }),
  ),
  doc_preprocessor_res: docPreprocessingResult.optional(),
  layout_det_res: layoutDetResult,
  overall_ocr_res: ocrPrunedResult,
  table_res_list: z.array(tableResJson).optional(),
  seal_res_list: z.array(ocrPrunedResult).optional(),
  formula_res_list: z.array(formulaResEntry).optional(),
});
export type LayoutParsingPrunedResult = z.input<typeof layoutParsingPrunedResult>;

/** PaddleX's decode_visual_result: what the LLM stage reads of a page. */
export interface VisualInfo {
  normal_text_dict: Record<string, string>;
  table_text_list: string[];
  table_html_list: string[];
  /** PP-ChatOCRv4 only */
  table_nei_text_list?: string[];
}

/** One page of the visual stage; its visualInfo is made on the HTTP side (decodeVisualResult), where the version is known. */
export interface VisualPage {
  prunedResult: LayoutParsingPrunedResult;
  /** PaddleX's image keys in its order: preprocessed_img, layout_det_res, overall_ocr_res, table_cell_img, seal_res_region{N}, formula_res_region{N} */
  outputImages: Record<string, Uint8Array>;
  /** each table's neighbor_texts (PaddleX keeps them out of the table's JSON; v4's visualInfo reads them) */
  tableNeighborTexts: string[];
  inputImage?: Uint8Array;
  width: number;
  height: number;
}

/**
 * PaddleX's decode_visual_result: each block that is neither table nor formula adds its text under
 * "words in <label>" (repeats joined by "\n "); each table adds its pred_html, its OCR lines joined
 * by spaces and (v4) its neighbouring lines.
 */
export function decodeVisualResult(page: Pick<VisualPage, 'prunedResult' | 'tableNeighborTexts'>, withNeighbourText: boolean): VisualInfo {
  const normal: Record<string, string> = {};
  for (const block of page.prunedResult.parsing_res_list) {
    if (block.block_label === 'table' || block.block_label === 'formula') continue;
    const key = `words in ${block.block_label}`;
    normal[key] = key in normal ? `${normal[key]}\n ${block.block_content}` : block.block_content;
  }
  const tables = page.prunedResult.table_res_list ?? [];
  return {
    normal_text_dict: normal,
    table_text_list: tables.map((table) => table.table_ocr_pred.rec_texts.join(' ')),
    table_html_list: tables.map((table) => table.pred_html),
    ...(withNeighbourText ? { table_nei_text_list: page.tableNeighborTexts } : {}),
  };
}
