/**
 * PaddleX's layout_parsing (v1) and PP-StructureV3 pipelines on `/layout-parsing`, HTTP side; the
 * YAML's `pipeline_name` picks one. PP-StructureV3 also has `/concatenate-pages`: in PaddleX only an
 * HPS (Triton) model of that name, served here over HTTP with the model's request and result.
 *
 * Seal, table and formula blocks are read by the YAML's SealRecognition, TableRecognition and
 * FormulaRecognition sub-pipelines. Chart recognition (PP-Chart2Table, a vision-language model)
 * cannot run here: asking for it gets PaddleX's invalid-settings error.
 */
import { z } from 'zod';
import { readParam, type PipelineConfig } from '../../config/pipelineConfig.js';
import { ConfigError } from '../../errors.js';
import { mergeModeSchema, unclipRatioSchema } from '../../config/layoutParams.js';
import { defineEndpoint, definePipeline, type EndpointContext, type OpsOf } from '../define.js';
import { requestLayoutParams, thresholdSchema } from '../shared/detection.js';
import { activeDocPreprocessingConfig, resolveDocPreprocessingSteps } from '../shared/docPreprocessing.js';
import { documentRequestFields, documentServingExtra, runDocument, type DocumentServingExtra } from '../shared/documentInput.js';
import { requestedDet, resolveTextlineOrientation, sealOcrRequestFields, textOcrRequestFields } from '../shared/ocrSettings.js';
import { toBase64 } from '../shared/output.js';
import { generalOcrSettings, TABLE_ROLES, tableV2Flags } from '../shared/tableRecognition.js';
import { optional, unloadedModelRequested, visualizeField, wantsVisualization } from '../shared/request.js';
import { base64Image, base64ImageMap, dataInfo } from '../shared/schemas.js';
import { searchablePdfCollector, searchablePdfField, searchablePdfResult } from '../shared/searchablePdf.js';
import type { DocumentParsingStage } from '../shared/documentParsingStage.js';
import { concatenatePages } from './markdown.js';
import {
  CHART_RECOGNITION,
  FORMULA_RECOGNITION,
  GENERAL_OCR,
  LAYOUT_DETECTION,
  type LayoutParsingPage,
  type LayoutParsingSettings,
  MARKDOWN_IGNORE_LABELS,
  REGION_DETECTION,
  SEAL_OCR,
  SEAL_RECOGNITION,
  TABLE_RECOGNITION,
  v1PrunedResult,
  v3PrunedResult,
} from './settings.js';
import type worker from './worker.js';

type Ops = OpsOf<typeof worker>;
type Ctx = EndpointContext<Ops, DocumentServingExtra>;

const v1Fields = {
  ...documentRequestFields,
  useDocOrientationClassify: optional(z.boolean()),
  useDocUnwarping: optional(z.boolean()),
  useTextlineOrientation: optional(z.boolean()),
  useSealRecognition: optional(z.boolean()),
  useTableRecognition: optional(z.boolean()),
  useFormulaRecognition: optional(z.boolean()),
  layoutThreshold: optional(thresholdSchema),
  layoutNms: optional(z.boolean()),
  layoutUnclipRatio: optional(unclipRatioSchema),
  layoutMergeBboxesMode: optional(mergeModeSchema),
  ...textOcrRequestFields,
  ...sealOcrRequestFields,
  visualize: visualizeField,
  searchablePdf: searchablePdfField,
};

const v1Request = z.object(v1Fields);

const v3Request = z.object({
  ...v1Fields,
  useChartRecognition: optional(z.boolean()),
  useRegionDetection: optional(z.boolean()),
  // PaddleX declares these `bool = ...` (not Optional): null is refused
  useWiredTableCellsTransToHtml: z.boolean().optional().default(false),
  useWirelessTableCellsTransToHtml: z.boolean().optional().default(false),
  useTableOrientationClassify: z.boolean().optional().default(true),
  useOcrResultsWithTableCells: z.boolean().optional().default(true),
  useE2eWiredTableRecModel: z.boolean().optional().default(false),
  useE2eWirelessTableRecModel: z.boolean().optional().default(true),
  formatBlockContent: optional(z.boolean()),
  // pipeserve's: false leaves `markdown.images` empty (the Markdown still names the image paths)
  returnMarkdownImages: z.boolean().optional().default(true),
  // pipeserve's: PaddleX's title_level rules (its restructure_pages' relevel_titles), applied within each page
  relevelTitles: z
    .boolean()
    .optional()
    .default(false)
    .describe(
      "pipeserve: give each page's paragraph titles Markdown levels by PaddleX's title-level rules (numbering style, its order of appearance, text height), instead of by their numbering alone",
    ),
});
type V1Request = z.output<typeof v1Request>;
type V3Request = z.output<typeof v3Request>;

const pageImages = {
  outputImages: base64ImageMap().optional(),
  inputImage: base64Image().optional(),
};

const v1Result = z.object({
  layoutParsingResults: z.array(z.object({ prunedResult: v1PrunedResult, ...pageImages })),
  dataInfo,
  searchablePdf: searchablePdfResult,
});

const markdownData = z.object({ text: z.string(), images: base64ImageMap(), isStart: z.boolean(), isEnd: z.boolean() });
const v3Result = z.object({
  layoutParsingResults: z.array(z.object({ prunedResult: v3PrunedResult, markdown: markdownData, ...pageImages })),
  dataInfo,
  searchablePdf: searchablePdfResult,
});

/** A sub-recogniser the request asks for (else the YAML's switch) and the YAML has not loaded: refused as PaddleX refuses unloaded models. */
function useSubRecognizer(
  requested: boolean | null | undefined,
  config: PipelineConfig,
  yamlKey: string,
  what: string,
  sub: string,
): boolean {
  const use = requested ?? Boolean(config[yamlKey] ?? true);
  if (use && (!(config[yamlKey] ?? true) || !config.SubPipelines?.[sub])) {
    throw unloadedModelRequested(
      `${what} was requested, but this server has no ${what.toLowerCase()} loaded (set ${yamlKey}: True and SubPipelines.${sub} in the pipeline YAML).`,
    );
  }
  return use;
}

/** The sub-recognisers a request runs; chart recognition is refused (its model cannot run here). */
function checkSubRecognizers(req: V1Request & Partial<V3Request>, config: PipelineConfig) {
  const useSeal = useSubRecognizer(req.useSealRecognition, config, 'use_seal_recognition', 'Seal recognition', SEAL_RECOGNITION);
  const useTable = useSubRecognizer(req.useTableRecognition, config, 'use_table_recognition', 'Table recognition', TABLE_RECOGNITION);
  const useFormula = useSubRecognizer(
    req.useFormulaRecognition,
    config,
    'use_formula_recognition',
    'Formula recognition',
    FORMULA_RECOGNITION,
  );
  if (req.useChartRecognition ?? Boolean(config.use_chart_recognition ?? false)) {
    throw unloadedModelRequested(
      `Chart recognition was requested, but its model (SubModules.${CHART_RECOGNITION}, PP-Chart2Table, a vision-language model) cannot run in this server; chart blocks stay images.`,
    );
  }
  if (useTable && req.useTableOrientationClassify) {
    const table = config.SubPipelines![TABLE_RECOGNITION]!;
    if (table.pipeline_name === 'table_recognition_v2' && !table.SubModules?.[TABLE_ROLES.orientation]) {
      throw unloadedModelRequested(
        `Table orientation classification was requested (useTableOrientationClassify defaults to true), but this server has no SubPipelines.${TABLE_RECOGNITION}.SubModules.${TABLE_ROLES.orientation} model (e.g. PP-LCNet_x1_0_doc_ori): add it to the pipeline YAML or send useTableOrientationClassify: false.`,
      );
    }
  }
  return { useSeal, useTable, useFormula };
}

/**
 * The table step's options. PaddleX's v1 calls table_recognition with its defaults (no cell OCR);
 * PP-StructureV3 passes the request's table switches to table_recognition_v2.
 */
function tableOptions(req: Partial<V3Request>, config: PipelineConfig, variant: 'v1' | 'v3', maxOutputImgSize: [number, number]) {
  const table = config.SubPipelines?.[TABLE_RECOGNITION] ?? { pipeline_name: 'table_recognition' };
  const ocr = generalOcrSettings(table, {}, false, maxOutputImgSize);
  const v2 = table.pipeline_name === 'table_recognition_v2';
  return {
    ocr,
    cellOcr: ocr,
    useOcrResultsWithTableCells: variant === 'v3' ? (req.useOcrResultsWithTableCells ?? true) : false,
    ...(v2 ? { v2: tableV2Flags(req, true) } : {}),
  };
}

/** The YAML's doc preprocessor switch: PaddleX's PP-StructureV3 also turns it on by top-level use_doc_orientation_classify / use_doc_unwarping (both default True). */
function yamlUsesDocPreprocessor(config: PipelineConfig): boolean {
  const on = (key: string) => Boolean(config[key] ?? true);
  if (config.pipeline_name === 'layout_parsing') return on('use_doc_preprocessor');
  return on('use_doc_preprocessor') || on('use_doc_orientation_classify') || on('use_doc_unwarping');
}

function resolveSettings(req: V1Request & Partial<V3Request>, ctx: Ctx, variant: 'v1' | 'v3'): LayoutParsingSettings {
  const { config } = ctx;
  const { useSeal, useTable, useFormula } = checkSubRecognizers(req, config);
  // PaddleX's get_model_settings
  const useDocPreprocessor =
    req.useDocOrientationClassify == null && req.useDocUnwarping == null
      ? yamlUsesDocPreprocessor(config)
      : req.useDocOrientationClassify === true || req.useDocUnwarping === true;
  const doc = config.SubPipelines?.DocPreprocessor;
  if (useDocPreprocessor && !doc) {
    throw unloadedModelRequested(
      'Document preprocessing was requested, but this server has no doc preprocessor loaded (set use_doc_preprocessor: True and SubPipelines.DocPreprocessor in the pipeline YAML).',
    );
  }
  const docSteps = useDocPreprocessor
    ? resolveDocPreprocessingSteps(req, doc, 'SubPipelines.DocPreprocessor.')
    : { useDocOrientationClassify: false, useDocUnwarping: false };
  const useRegionDetection = variant === 'v3' && (req.useRegionDetection ?? Boolean(config.use_region_detection ?? true));
  if (useRegionDetection && !config.SubModules?.[REGION_DETECTION]) {
    throw unloadedModelRequested(
      `Region detection was requested, but no region detection model is loaded (set use_region_detection: True and SubModules.${REGION_DETECTION} in the pipeline YAML).`,
    );
  }
  const generalOcr = config.SubPipelines![GENERAL_OCR]!;
  const useTextlineOrientation = resolveTextlineOrientation(req.useTextlineOrientation, generalOcr, `SubPipelines.${GENERAL_OCR}.`);
  const ocrKey = `SubPipelines.${GENERAL_OCR}.SubModules.TextRecognition`;
  const ocrRecThresh = readParam(generalOcr.SubModules?.TextRecognition ?? {}, 'score_thresh', z.number(), ocrKey, 0);
  const sealOcr = config.SubPipelines?.[SEAL_RECOGNITION]?.SubPipelines?.[SEAL_OCR];
  const sealKey = `SubPipelines.${SEAL_RECOGNITION}.SubPipelines.${SEAL_OCR}.SubModules.TextRecognition`;
  const visualize = wantsVisualization(req.visualize, ctx);
  const maxOutputImgSize = ctx.serving.extra.max_output_img_size;
  const noDoc = { useDocPreprocessor: false, docSteps: { useDocOrientationClassify: false, useDocUnwarping: false }, returnWordBox: false };
  return {
    variant,
    useDocPreprocessor,
    docSteps,
    useSealRecognition: useSeal,
    useTableRecognition: useTable,
    useFormulaRecognition: useFormula,
    useChartRecognition: false,
    useRegionDetection,
    formatBlockContent: req.formatBlockContent ?? Boolean(config.format_block_content ?? false),
    markdownIgnoreLabels: readParam(config, 'markdown_ignore_labels', z.array(z.string()), '(top level)', MARKDOWN_IGNORE_LABELS),
    layout: requestLayoutParams(req),
    ocr: {
      ...noDoc,
      useTextlineOrientation,
      textDet: requestedDet(req, 'text'),
      textRecScoreThresh: req.textRecScoreThresh ?? ocrRecThresh,
      visualize,
      maxOutputImgSize,
    },
    seal: {
      ...noDoc,
      useTextlineOrientation: false,
      textDet: requestedDet(req, 'seal'),
      textRecScoreThresh:
        req.sealRecScoreThresh ?? readParam(sealOcr?.SubModules?.TextRecognition ?? {}, 'score_thresh', z.number(), sealKey, 0),
      visualize,
      maxOutputImgSize,
    },
    textRecScoreThresh: req.textRecScoreThresh ?? ocrRecThresh,
    ocrYamlRecScoreThresh: ocrRecThresh,
    table: tableOptions(req, config, variant, maxOutputImgSize),
    returnMarkdownImages: req.returnMarkdownImages ?? true,
    relevelTitles: req.relevelTitles ?? false,
    searchablePdf: req.searchablePdf ?? false,
    visualize,
    maxOutputImgSize,
  };
}

function imagesOf(page: LayoutParsingPage) {
  const out: { outputImages?: Record<string, string>; inputImage?: string } = {};
  const images = Object.entries(page.outputImages);
  if (images.length) out.outputImages = Object.fromEntries(images.map(([key, bytes]) => [key, toBase64(bytes)]));
  if (page.inputImage) out.inputImage = toBase64(page.inputImage);
  return out;
}

function toV1Result(page: LayoutParsingPage): z.input<typeof v1Result>['layoutParsingResults'][number] {
  return { prunedResult: page.prunedResult as z.input<typeof v1PrunedResult>, ...imagesOf(page) };
}

function toV3Result(page: LayoutParsingPage): z.input<typeof v3Result>['layoutParsingResults'][number] {
  const md = page.markdown!;
  return {
    prunedResult: page.prunedResult as z.input<typeof v3PrunedResult>,
    markdown: {
      text: md.text,
      images: Object.fromEntries(Object.entries(md.images).map(([path, bytes]) => [path, toBase64(bytes)])),
      isStart: md.isStart,
      isEnd: md.isEnd,
    },
    ...imagesOf(page),
  };
}

/** An OCR sub-pipeline as a layout parsing stage runs it: on the page it is given (no doc preprocessing), its text-line orientation model only when switched on. */
function activeOcrConfig(ocr: PipelineConfig): PipelineConfig {
  const SubModules = { ...ocr.SubModules };
  if (!ocr.use_textline_orientation) delete SubModules.TextLineOrientation;
  return { ...ocr, use_doc_preprocessor: false, SubModules, SubPipelines: {} };
}

/** Drop what the YAML switches off or this server cannot run, so those models are neither required nor loaded. */
function activeLayoutParsingConfig(config: PipelineConfig): PipelineConfig {
  if (config.pipeline_name !== 'layout_parsing' && config.use_chart_recognition) {
    throw new ConfigError(
      `use_chart_recognition: chart recognition (SubModules.${CHART_RECOGNITION}, PP-Chart2Table) cannot run in this server; set use_chart_recognition: False`,
    );
  }
  if (!config.SubModules?.[LAYOUT_DETECTION])
    throw new ConfigError(`SubModules.${LAYOUT_DETECTION} is missing (the layout detection model)`);
  const generalOcr = config.SubPipelines?.[GENERAL_OCR];
  if (!generalOcr) throw new ConfigError(`SubPipelines.${GENERAL_OCR} is missing (the OCR sub-pipeline)`);
  const { [CHART_RECOGNITION]: _chart, [REGION_DETECTION]: region, ...SubModules } = config.SubModules;
  if (config.pipeline_name !== 'layout_parsing' && (config.use_region_detection ?? true) && region) SubModules[REGION_DETECTION] = region;
  const SubPipelines: Record<string, PipelineConfig> = { [GENERAL_OCR]: activeOcrConfig(generalOcr) };
  const doc = config.SubPipelines?.DocPreprocessor;
  if (yamlUsesDocPreprocessor(config) && doc) SubPipelines.DocPreprocessor = activeDocPreprocessingConfig(doc);
  const seal = config.SubPipelines?.[SEAL_RECOGNITION];
  if ((config.use_seal_recognition ?? true) && seal) {
    const sealOcr = seal.SubPipelines?.[SEAL_OCR];
    if (!sealOcr)
      throw new ConfigError(
        `SubPipelines.${SEAL_RECOGNITION}.SubPipelines.${SEAL_OCR} is missing (the seal OCR sub-pipeline, text_type: seal)`,
      );
    SubPipelines[SEAL_RECOGNITION] = { ...seal, SubModules: {}, SubPipelines: { [SEAL_OCR]: activeOcrConfig(sealOcr) } };
  }
  if (config.use_table_recognition ?? true) {
    const table = config.SubPipelines?.[TABLE_RECOGNITION];
    if (!table) throw new ConfigError(`SubPipelines.${TABLE_RECOGNITION} is missing (use_table_recognition is on)`);
    // layout parsing gives the table step its layout boxes, its page and the page's OCR
    const { [LAYOUT_DETECTION]: _layout, ...tableModules } = table.SubModules ?? {};
    const tableOcr = table.SubPipelines?.[GENERAL_OCR];
    SubPipelines[TABLE_RECOGNITION] = {
      ...table,
      SubModules: tableModules,
      SubPipelines: tableOcr ? { [GENERAL_OCR]: activeOcrConfig(tableOcr) } : {},
    };
  }
  if (config.use_formula_recognition ?? true) {
    const formula = config.SubPipelines?.[FORMULA_RECOGNITION];
    if (!formula) throw new ConfigError(`SubPipelines.${FORMULA_RECOGNITION} is missing (use_formula_recognition is on)`);
    const { [LAYOUT_DETECTION]: _layout, ...formulaModules } = formula.SubModules ?? {};
    SubPipelines[FORMULA_RECOGNITION] = { ...formula, SubModules: formulaModules, SubPipelines: {} };
  }
  return { ...config, SubModules, SubPipelines };
}

const LAYOUT_PARSING_PATH = '/layout-parsing';

/** What both pipelines' descriptors share: one worker module, the document serving extras, the active config. */
const shared = {
  worker: new URL('./worker.js', import.meta.url).href,
  servingExtra: documentServingExtra,
  activeConfig: activeLayoutParsingConfig,
};

/** A document through the pipeline, page by page, with the searchable PDF when asked. */
async function parseDocument<Result extends object>(
  req: V1Request & Partial<V3Request>,
  ctx: Ctx,
  variant: 'v1' | 'v3',
  toResult: (page: LayoutParsingPage) => Result,
) {
  const searchable = searchablePdfCollector(req.searchablePdf, toResult);
  const { pages, dataInfo } = await runDocument(req, ctx, resolveSettings(req, ctx, variant), searchable.toResult);
  return {
    layoutParsingResults: pages,
    dataInfo,
    ...(await searchable.pdf(pages, (parts) => ctx.run('buildSearchablePdf', { pages: parts }))),
  };
}

export const layoutParsingPipeline = definePipeline<Ops, DocumentServingExtra>({
  pipelineName: 'layout_parsing',
  ...shared,
  endpoints: [
    defineEndpoint<Ops, DocumentServingExtra>()({
      path: LAYOUT_PARSING_PATH,
      operationId: 'infer',
      summary: 'Layout parsing of an image or a PDF: layout blocks with their text in reading order (PaddleX layout_parsing pipeline)',
      request: v1Request,
      result: v1Result,
      input: { kind: 'document', field: 'file' },
      handle: (req, ctx) => parseDocument(req, ctx, 'v1', toV1Result),
    }),
  ],
});

const concatenateRequest = z.object({
  pages: z.array(z.object({ text: z.string(), isStart: z.boolean(), isEnd: z.boolean() })).min(1),
});
const concatenateResult = z.object({ text: z.string() });

export const ppStructureV3Pipeline = definePipeline<Ops, DocumentServingExtra>({
  pipelineName: 'PP-StructureV3',
  ...shared,
  endpoints: [
    defineEndpoint<Ops, DocumentServingExtra>()({
      path: LAYOUT_PARSING_PATH,
      operationId: 'infer',
      summary: 'Document parsing of an image or a PDF to blocks in reading order and Markdown (PaddleX PP-StructureV3 pipeline)',
      request: v3Request,
      result: v3Result,
      input: { kind: 'document', field: 'file' },
      handle: (req, ctx) => parseDocument(req, ctx, 'v3', toV3Result),
    }),
    defineEndpoint<Ops, DocumentServingExtra>()({
      path: '/concatenate-pages',
      operationId: 'concatenatePages',
      summary:
        "One Markdown document from the pages' `markdown` results, a paragraph split over pages joined (PaddleX concatenate_markdown_pages; in PaddleX an HPS model only, this HTTP endpoint is pipeserve's)",
      request: concatenateRequest,
      result: concatenateResult,
      input: { kind: 'none', field: 'pages' },
      usesInstances: false,
      async handle(req) {
        return { text: concatenatePages(req.pages) };
      },
    }),
  ],
});

/**
 * PP-DocTranslation's `analyzeImages` request: PP-StructureV3's without formatBlockContent (nor
 * pipeserve's extras), the doc preprocessing steps and chart recognition off unless asked (PaddleX's
 * `= False` defaults; null still means the YAML's setting).
 */
const analyzeImagesRequest = v3Request.omit({ formatBlockContent: true, searchablePdf: true, returnMarkdownImages: true }).extend({
  useDocOrientationClassify: z.boolean().nullish().default(false),
  useDocUnwarping: z.boolean().nullish().default(false),
  useChartRecognition: z.boolean().nullish().default(false),
});

/** PP-StructureV3 as the visual stage of PP-DocTranslation (handed over by the registry). */
export const ppStructureV3Stage: DocumentParsingStage = {
  worker: shared.worker,
  activeConfig(config) {
    if (config.pipeline_name !== 'PP-StructureV3') {
      throw new ConfigError(`pipeline_name: the visual stage must be PP-StructureV3 (got ${JSON.stringify(config.pipeline_name)})`);
    }
    return activeLayoutParsingConfig(config);
  },
  endpoint: ({ path, operationId, summary }) =>
    defineEndpoint<Ops, DocumentServingExtra>()({
      path,
      operationId,
      summary,
      request: analyzeImagesRequest,
      result: v3Result.omit({ searchablePdf: true }),
      input: { kind: 'document', field: 'file' },
      async handle(req, ctx) {
        const { pages, dataInfo } = await runDocument(
          req,
          ctx,
          resolveSettings(req as V1Request & Partial<V3Request>, ctx, 'v3'),
          toV3Result,
        );
        return { layoutParsingResults: pages, dataInfo };
      },
    }),
};
