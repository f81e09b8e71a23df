/** What both sides of the layout parsing pipelines (layout_parsing v1, PP-StructureV3) share: settings and the page result. */
import { z } from 'zod';
import type { LayoutParams } from '../../models/layoutDetection.js';
import { type DocPreprocessingSteps, docPreprocessingResult } from '../shared/docPreprocessing.js';
import { ocrPrunedResult, type OcrSettings } from '../shared/ocrSettings.js';
import { formulaResEntry } from '../shared/schemas.js';
import type { SearchablePage } from '../shared/searchablePdf.js';
import { tableResJson, type TableSettings } from '../shared/tableRecognition.js';

export const LAYOUT_DETECTION = 'LayoutDetection';
export const REGION_DETECTION = 'RegionDetection';
export const CHART_RECOGNITION = 'ChartRecognition';
export const GENERAL_OCR = 'GeneralOCR';
export const SEAL_RECOGNITION = 'SealRecognition';
export const SEAL_OCR = 'SealOCR';
export const TABLE_RECOGNITION = 'TableRecognition';
export const FORMULA_RECOGNITION = 'FormulaRecognition';

/** PaddleX's default markdown_ignore_labels (pipeline_v2.py). */
export const MARKDOWN_IGNORE_LABELS = ['number', 'footnote', 'header', 'header_image', 'footer', 'footer_image', 'aside_text'];

/** Settings of one request, resolved on the HTTP side. */
export interface LayoutParsingSettings {
  variant: 'v1' | 'v3';
  useDocPreprocessor: boolean;
  docSteps: DocPreprocessingSteps;
  useSealRecognition: boolean;
  useTableRecognition: boolean;
  useFormulaRecognition: boolean;
  useChartRecognition: boolean;
  useRegionDetection: boolean;
  formatBlockContent: boolean;
  markdownIgnoreLabels: string[];
  layout: LayoutParams;
  /** the GeneralOCR sub-pipeline */
  ocr: OcrSettings;
  /** the SealRecognition sub-pipeline's SealOCR */
  seal: OcrSettings;
  /** the TableRecognition sub-pipeline's options (its OCR with its YAML defaults: PaddleX passes no text parameters down) */
  table: Pick<TableSettings, 'ocr' | 'cellOcr' | 'useOcrResultsWithTableCells' | 'v2'>;
  /** the score a block read again as one crop must reach (the request's, else GeneralOCR's) */
  textRecScoreThresh: number;
  /** the score a text span a formula splits must reach when read again (PaddleX: GeneralOCR's YAML value, whatever the request) */
  ocrYamlRecScoreThresh: number;
  returnMarkdownImages: boolean;
  /** pipeserve's: paragraph title levels by PaddleX's title_level rules (within the page) */
  relevelTitles: boolean;
  /** pipeserve's searchable PDF */
  searchablePdf: boolean;
  visualize: boolean;
  maxOutputImgSize: [number, number];
}

const int = z.number().int();
const layoutBox = z.object({
  cls_id: int,
  label: z.string(),
  score: z.number(),
  coordinate: z.tuple([z.number(), z.number(), z.number(), z.number()]),
});

const v1Block = z.object({ block_bbox: z.array(z.number()), block_label: z.string(), block_content: z.string() });
const v3Block = z.object({
  block_label: z.string(),
  block_content: z.string(),
  block_bbox: z.array(int),
  block_id: int,
  block_order: int.nullable(),
});

const common = {
  doc_preprocessor_res: docPreprocessingResult.optional(),
  layout_det_res: z.object({ boxes: z.array(layoutBox) }),
  // PP-StructureV3 adds the formulas to the page's OCR with their layout boxes: PaddleX's rec_boxes turn float
  overall_ocr_res: ocrPrunedResult.extend({ rec_boxes: z.array(z.tuple([z.number(), z.number(), z.number(), z.number()])) }),
  table_res_list: z.array(tableResJson).optional(),
  seal_res_list: z.array(ocrPrunedResult).optional(),
  formula_res_list: z.array(formulaResEntry).optional(),
};

/** PaddleX's LayoutParsingResult (v1) as `prunedResult`. */
export const v1PrunedResult = z.object({
  model_settings: z.object({
    use_doc_preprocessor: z.boolean(),
    use_seal_recognition: z.boolean(),
    use_table_recognition: z.boolean(),
    use_formula_recognition: z.boolean(),
  }),
  parsing_res_list: z.array(v1Block),
  ...common,
});

/** PaddleX's LayoutParsingResultV2 (PP-StructureV3) as `prunedResult`. */
export const v3PrunedResult = z.object({
  width: int,
  height: int,
  model_settings: z.object({
    use_doc_preprocessor: z.boolean(),
    use_seal_recognition: z.boolean(),
    use_table_recognition: z.boolean(),
    use_formula_recognition: z.boolean(),
    use_chart_recognition: z.boolean(),
    use_region_detection: z.boolean(),
    format_block_content: z.boolean(),
    markdown_ignore_labels: z.array(z.string()),
  }),
  parsing_res_list: z.array(v3Block),
  ...common,
});

/** One page of a layout parsing request, as a worker returns it. */
export interface LayoutParsingPage {
  prunedResult: z.input<typeof v1PrunedResult> | z.input<typeof v3PrunedResult>;
  /** PP-StructureV3 only */
  markdown?: { text: string; images: Record<string, Uint8Array>; isStart: boolean; isEnd: boolean };
  outputImages: Record<string, Uint8Array>;
  inputImage?: Uint8Array;
  searchable?: SearchablePage;
  width: number;
  height: number;
}
