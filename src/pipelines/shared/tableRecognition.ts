/**
 * PaddleX's table_recognition and table_recognition_v2 pipelines, HTTP side (both serve
 * `/table-recognition`): the request fields of each, the per-request settings, the result schema
 * and the active config. The worker side is `tableRecognitionWorker.ts`.
 */
import { z } from 'zod';
import type { PipelineConfig } from '../../config/pipelineConfig.js';
import { readParam } from '../../config/pipelineConfig.js';
import { ConfigError } from '../../errors.js';
import { defineEndpoint, definePipeline, type EndpointContext } from '../define.js';
import { activeDocPreprocessingConfig, docPreprocessingResult, resolveDocPreprocessingSteps } from './docPreprocessing.js';
import { type DocumentOps, documentRequestFields, documentServingExtra, type DocumentServingExtra, runDocument } from './documentInput.js';
import { DOC_PREPROCESSOR, ocrPrunedResult, type OcrSettings, requestedDet, textOcrRequestFields } from './ocrSettings.js';
import { LAYOUT_DETECTION } from './layoutRegions.js';
import { type PrunedPage, prunedPageResult } from './output.js';
import { optional, unloadedModelRequested, visualizeField, wantsVisualization } from './request.js';
import { base64Image, base64ImageMap, dataInfo, layoutDetResult } from './schemas.js';

export const GENERAL_OCR = 'GeneralOCR';
/** table_recognition's one structure model */
export const TABLE_STRUCTURE = 'TableStructureRecognition';
/** table_recognition_v2's models */
export const TABLE_ROLES = {
  classification: 'TableClassification',
  orientation: 'TableOrientationClassify',
  wiredStructure: 'WiredTableStructureRecognition',
  wirelessStructure: 'WirelessTableStructureRecognition',
  wiredCells: 'WiredTableCellsDetection',
  wirelessCells: 'WirelessTableCellsDetection',
} as const;

/** v2's table switches (PaddleX's predict keyword arguments, defaults of its serving schema). */
export interface TableV2Flags {
  useE2eWiredTableRecModel: boolean;
  useE2eWirelessTableRecModel: boolean;
  useWiredTableCellsTransToHtml: boolean;
  useWirelessTableCellsTransToHtml: boolean;
  useTableOrientationClassify: boolean;
}

/**
 * table_recognition_v2's request switches with PaddleX's defaults; the end-to-end wireless model is
 * off in table_recognition_v2's own request and on in PP-StructureV3's (`wirelessE2eDefault`).
 */
export function tableV2Flags(req: Partial<TableV2Flags>, wirelessE2eDefault: boolean): TableV2Flags {
  return {
    useE2eWiredTableRecModel: req.useE2eWiredTableRecModel ?? false,
    useE2eWirelessTableRecModel: req.useE2eWirelessTableRecModel ?? wirelessE2eDefault,
    useWiredTableCellsTransToHtml: req.useWiredTableCellsTransToHtml ?? false,
    useWirelessTableCellsTransToHtml: req.useWirelessTableCellsTransToHtml ?? false,
    useTableOrientationClassify: req.useTableOrientationClassify ?? true,
  };
}

/** Settings of one request, resolved on the HTTP side and sent to the workers. */
export interface TableSettings {
  useDocPreprocessor: boolean;
  docSteps: { useDocOrientationClassify: boolean; useDocUnwarping: boolean };
  useLayoutDetection: boolean;
  /** the GeneralOCR run on the page, with the request's text-det/rec parameters */
  ocr: OcrSettings;
  /** GeneralOCR with its YAML defaults, as PaddleX runs it on each table cell (v1, use_ocr_results_with_table_cells) */
  cellOcr: OcrSettings;
  useOcrResultsWithTableCells: boolean;
  /** table_recognition_v2 only */
  v2?: TableV2Flags;
  visualize: boolean;
  maxOutputImgSize: [number, number];
}

const number = z.number();
const int = number.int();
const ocrLines = z.object({
  rec_polys: z.array(z.array(z.tuple([int, int]))),
  rec_texts: z.array(z.string()),
  rec_scores: z.array(number),
  rec_boxes: z.array(z.array(number)),
});

/** PaddleX's SingleTableRecognitionResult JSON: cells on the page, the HTML, the table's OCR lines. */
export const tableResJson = z.object({
  cell_box_list: z.array(z.array(number)),
  pred_html: z.string(),
  table_ocr_pred: ocrLines,
});

/** PaddleX's TableRecognitionResult as `prunedResult`. */
export const tablePrunedResult = z.object({
  model_settings: z.object({ use_doc_preprocessor: z.boolean(), use_layout_detection: z.boolean(), use_ocr_model: z.boolean() }),
  doc_preprocessor_res: docPreprocessingResult.optional(),
  layout_det_res: layoutDetResult.optional(),
  overall_ocr_res: ocrPrunedResult,
  table_res_list: z.array(tableResJson),
});

/** A page's result; PaddleX's image keys: layout_det_res, preprocessed_img, ocr_res_img, table_cell_img */
export type TablePage = PrunedPage<z.input<typeof tablePrunedResult>>;

export type TableOps = DocumentOps<TableSettings, TablePage>;

const v1Request = z.object({
  ...documentRequestFields,
  useDocOrientationClassify: optional(z.boolean()),
  useDocUnwarping: optional(z.boolean()),
  useLayoutDetection: optional(z.boolean()),
  useOcrModel: optional(z.boolean()),
  ...textOcrRequestFields,
  // PaddleX declares these `bool = <default>` (not Optional): null is refused
  useOcrResultsWithTableCells: z.boolean().optional().default(false),
  visualize: visualizeField,
});
const v2Request = v1Request.extend({
  useE2eWiredTableRecModel: z.boolean().optional().default(false),
  useE2eWirelessTableRecModel: z.boolean().optional().default(false),
  useWiredTableCellsTransToHtml: z.boolean().optional().default(false),
  useWirelessTableCellsTransToHtml: z.boolean().optional().default(false),
  useTableOrientationClassify: z.boolean().optional().default(true),
  useOcrResultsWithTableCells: z.boolean().optional().default(true),
});
type TableRequest = z.output<typeof v1Request> & Partial<z.output<typeof v2Request>>;

const result = z.object({
  tableRecResults: z.array(
    z.object({
      prunedResult: tablePrunedResult,
      outputImages: base64ImageMap().optional(),
      inputImage: base64Image().optional(),
    }),
  ),
  dataInfo,
});

type Ctx = EndpointContext<TableOps, DocumentServingExtra>;

/** GeneralOCR's settings with the request's text parameters (none: its YAML's). */
export function generalOcrSettings(
  config: PipelineConfig,
  req: Partial<TableRequest>,
  visualize: boolean,
  maxOutputImgSize: [number, number],
): OcrSettings {
  const ocr = config.SubPipelines?.[GENERAL_OCR];
  const recKey = `SubPipelines.${GENERAL_OCR}.SubModules.TextRecognition`;
  return {
    useDocPreprocessor: false,
    docSteps: { useDocOrientationClassify: false, useDocUnwarping: false },
    useTextlineOrientation: Boolean(ocr?.use_textline_orientation) && Boolean(ocr?.SubModules?.TextLineOrientation),
    returnWordBox: false,
    textDet: requestedDet(req, 'text'),
    textRecScoreThresh: req.textRecScoreThresh ?? readParam(ocr?.SubModules?.TextRecognition ?? {}, 'score_thresh', z.number(), recKey, 0),
    visualize,
    maxOutputImgSize,
  };
}

/** PaddleX's get_model_settings and check_model_settings_valid, then the request's settings. */
function resolveSettings(req: TableRequest, ctx: Ctx, v2: boolean): TableSettings {
  const { config } = ctx;
  const useDocPreprocessor =
    req.useDocOrientationClassify == null && req.useDocUnwarping == null
      ? config.use_doc_preprocessor !== false
      : req.useDocOrientationClassify === true || req.useDocUnwarping === true;
  let docSteps = { useDocOrientationClassify: false, useDocUnwarping: false };
  if (useDocPreprocessor) {
    const doc = config.SubPipelines?.[DOC_PREPROCESSOR];
    if (!doc) {
      throw unloadedModelRequested(
        `Document preprocessing was requested, but this server has no document preprocessor loaded (set use_doc_preprocessor: True and give SubPipelines.${DOC_PREPROCESSOR}'s models in the pipeline YAML).`,
      );
    }
    docSteps = resolveDocPreprocessingSteps(req, doc, `SubPipelines.${DOC_PREPROCESSOR}.`);
  }
  // PaddleX: config.get("use_layout_detection", True), and likewise for the document preprocessor
  const useLayoutDetection = req.useLayoutDetection ?? config.use_layout_detection !== false;
  if (useLayoutDetection && !config.SubModules?.[LAYOUT_DETECTION]) {
    throw unloadedModelRequested(
      `Layout detection was requested, but no layout model is loaded (set use_layout_detection: True and SubModules.${LAYOUT_DETECTION} in the pipeline YAML).`,
    );
  }
  if (req.useOcrModel === false) {
    throw unloadedModelRequested(
      'useOcrModel=false needs an OCR result passed to the pipeline, which a request cannot give: leave it out or set it true.',
    );
  }
  if (v2 && req.useTableOrientationClassify && !config.SubModules?.[TABLE_ROLES.orientation]) {
    throw unloadedModelRequested(
      `Table orientation classification was requested (useTableOrientationClassify defaults to true), but this server has no SubModules.${TABLE_ROLES.orientation} model (e.g. PP-LCNet_x1_0_doc_ori): add it to the pipeline YAML or send useTableOrientationClassify: false.`,
    );
  }
  const visualize = wantsVisualization(req.visualize, ctx);
  const maxOutputImgSize = ctx.serving.extra.max_output_img_size;
  return {
    useDocPreprocessor,
    docSteps,
    useLayoutDetection,
    ocr: generalOcrSettings(config, req, visualize, maxOutputImgSize),
    cellOcr: generalOcrSettings(config, {}, false, maxOutputImgSize),
    useOcrResultsWithTableCells: req.useOcrResultsWithTableCells,
    ...(v2 ? { v2: tableV2Flags(req, false) } : {}),
    visualize,
    maxOutputImgSize,
  };
}

/** Drop what the YAML switches off, so those models are neither required nor loaded. */
export function activeTableConfig(config: PipelineConfig): PipelineConfig {
  const ocr = config.SubPipelines?.[GENERAL_OCR];
  // PaddleX's use_ocr_model: False keeps GeneralOCR aside for cell OCR; a request cannot pass the OCR result it then needs
  if (!ocr || config.use_ocr_model === false) {
    throw new ConfigError(
      `SubPipelines.${GENERAL_OCR} is required and use_ocr_model must stay True (the pipeline reads the page's text with it)`,
    );
  }
  readParam(ocr, 'text_type', z.literal('general'), `SubPipelines.${GENERAL_OCR}`, 'general');
  const SubModules = { ...config.SubModules };
  if (config.use_layout_detection === false) delete SubModules[LAYOUT_DETECTION];
  const ocrModules = { ...ocr.SubModules };
  if (!ocr.use_textline_orientation) delete ocrModules.TextLineOrientation;
  const { [DOC_PREPROCESSOR]: doc, ...SubPipelines } = config.SubPipelines ?? {};
  const { [DOC_PREPROCESSOR]: _ocrDoc, ...ocrPipelines } = ocr.SubPipelines ?? {};
  return {
    ...config,
    SubModules,
    SubPipelines: {
      ...SubPipelines,
      ...(config.use_doc_preprocessor !== false && doc ? { [DOC_PREPROCESSOR]: activeDocPreprocessingConfig(doc) } : {}),
      [GENERAL_OCR]: { ...ocr, use_doc_preprocessor: false, SubModules: ocrModules, SubPipelines: ocrPipelines },
    },
  };
}

/** The descriptor of `table_recognition` or `table_recognition_v2` (same endpoint, v2 adds its table switches). */
export function tableRecognitionDescriptor(pipelineName: 'table_recognition' | 'table_recognition_v2', worker: string) {
  const v2 = pipelineName === 'table_recognition_v2';
  return definePipeline<TableOps, DocumentServingExtra>({
    pipelineName,
    worker,
    servingExtra: documentServingExtra,
    activeConfig: activeTableConfig,
    endpoints: [
      defineEndpoint<TableOps, DocumentServingExtra>()({
        path: '/table-recognition',
        operationId: 'infer',
        summary: `Table recognition of an image or a PDF (PaddleX ${pipelineName} pipeline)`,
        request: v2 ? v2Request : v1Request,
        result,
        input: { kind: 'document', field: 'file' },
        async handle(req, ctx) {
          const { pages, dataInfo } = await runDocument(req, ctx, resolveSettings(req, ctx, v2), (page: TablePage) =>
            prunedPageResult(page),
          );
          return { tableRecResults: pages, dataInfo };
        },
      }),
    ],
  });
}
