/**
 * PaddleX's OCR pipeline and its `/ocr` endpoint, HTTP side: validate the request, work out which
 * sub-models it needs, and run it as a document (image or PDF pages) on the workers.
 */
import { z } from 'zod';
import type { PipelineConfig } from '../../config/pipelineConfig.js';
import { readParam } from '../../config/pipelineConfig.js';
import type { LimitType } from '../../models/textDetection.js';
import { defineEndpoint, definePipeline, type EndpointContext, type OpsOf } from '../define.js';
import { activeDocPreprocessingConfig, resolveDocPreprocessingSteps } from '../shared/docPreprocessing.js';
import { documentRequestFields, documentServingExtra, runDocument, type DocumentServingExtra } from '../shared/documentInput.js';
import { toBase64 } from '../shared/output.js';
import { optional, unloadedModelRequested, visualizeField, wantsVisualization } from '../shared/request.js';
import { base64Image, dataInfo } from '../shared/schemas.js';
import { searchablePdfCollector, searchablePdfField, searchablePdfResult } from '../shared/searchablePdf.js';
import { DOC_PREPROCESSOR, ocrPrunedResult, type OcrPage, type OcrSettings } from '../shared/ocrSettings.js';
import type worker from './worker.js';

type Ops = OpsOf<typeof worker>;

const unitInterval = z.number().min(0).max(1);

const request = z.object({
  ...documentRequestFields,
  useDocOrientationClassify: optional(z.boolean()),
  useDocUnwarping: optional(z.boolean()),
  useTextlineOrientation: optional(z.boolean()),
  // 0 (or an empty limit type) is allowed: PaddleX's model then uses its default (Python's `or`).
  textDetLimitSideLen: optional(z.number().int().nonnegative()),
  textDetLimitType: optional(z.enum(['min', 'max', 'resize_long', ''] satisfies Array<LimitType | ''>)),
  textDetThresh: optional(unitInterval),
  textDetBoxThresh: optional(unitInterval),
  textDetUnclipRatio: optional(z.number().nonnegative()),
  textRecScoreThresh: optional(unitInterval),
  returnWordBox: optional(z.boolean()),
  visualize: visualizeField,
  searchablePdf: searchablePdfField,
});
type OcrRequest = z.output<typeof request>;

const result = z.object({
  ocrResults: z.array(
    z.object({
      prunedResult: ocrPrunedResult,
      ocrImage: base64Image().optional(),
      docPreprocessingImage: base64Image().optional(),
      inputImage: base64Image().optional(),
    }),
  ),
  dataInfo,
  searchablePdf: searchablePdfResult,
});

/** PaddleX's get_model_settings: either doc flag true ⇒ on, any given but none true ⇒ off, none given ⇒ YAML. */
function resolveSettings(req: OcrRequest, ctx: EndpointContext<Ops, DocumentServingExtra>): OcrSettings {
  const { config } = ctx;
  const useDocPreprocessor =
    req.useDocOrientationClassify == null && req.useDocUnwarping == null
      ? Boolean(config.use_doc_preprocessor)
      : req.useDocOrientationClassify === true || req.useDocUnwarping === true;
  // The active config holds only the sub-models and sub-pipelines that were loaded (see activeOcrConfig below).
  const doc = config.SubPipelines?.[DOC_PREPROCESSOR];
  const docKeys = `SubPipelines.${DOC_PREPROCESSOR}.`;
  let docSteps = { useDocOrientationClassify: false, useDocUnwarping: false };
  if (useDocPreprocessor) {
    // Without a loaded doc preprocessor, an unmentioned step is not asked for: the refusal names the one that was.
    const asked = doc
      ? req
      : { useDocOrientationClassify: req.useDocOrientationClassify ?? false, useDocUnwarping: req.useDocUnwarping ?? false };
    docSteps = resolveDocPreprocessingSteps(asked, doc, docKeys);
  }
  const useTextlineOrientation = req.useTextlineOrientation ?? Boolean(config.use_textline_orientation);
  if (useTextlineOrientation && !config.SubModules?.TextLineOrientation) {
    throw unloadedModelRequested(
      'Text-line orientation was requested, but this server has no ' +
        'text-line orientation model loaded (SubModules.TextLineOrientation; set use_textline_orientation: True in the pipeline YAML).',
    );
  }

  const textDet: OcrSettings['textDet'] = {};
  if (req.textDetLimitSideLen != null) textDet.limitSideLen = req.textDetLimitSideLen;
  if (req.textDetLimitType != null) textDet.limitType = req.textDetLimitType;
  if (req.textDetThresh != null) textDet.thresh = req.textDetThresh;
  if (req.textDetBoxThresh != null) textDet.boxThresh = req.textDetBoxThresh;
  if (req.textDetUnclipRatio != null) textDet.unclipRatio = req.textDetUnclipRatio;

  const recConfig = config.SubModules?.TextRecognition ?? {};
  return {
    useDocPreprocessor,
    docSteps,
    useTextlineOrientation,
    returnWordBox: req.returnWordBox ?? readParam(recConfig, 'return_word_box', z.boolean(), 'SubModules.TextRecognition', false),
    textDet,
    textRecScoreThresh: req.textRecScoreThresh ?? readParam(recConfig, 'score_thresh', z.number(), 'SubModules.TextRecognition', 0),
    visualize: wantsVisualization(req.visualize, ctx),
    maxOutputImgSize: ctx.serving.extra.max_output_img_size,
    searchablePdf: req.searchablePdf ?? false,
  };
}

function toOcrResult(page: OcrPage): z.input<typeof result>['ocrResults'][number] {
  const out: z.input<typeof result>['ocrResults'][number] = { prunedResult: page.prunedResult };
  for (const key of ['ocrImage', 'docPreprocessingImage', 'inputImage'] as const) {
    const bytes = page.images[key];
    if (bytes) out[key] = toBase64(bytes);
  }
  return out;
}

/** Drop what the YAML switches off, so those models are neither required nor loaded. */
function activeOcrConfig(config: PipelineConfig): PipelineConfig {
  const SubModules = { ...config.SubModules };
  if (!config.use_textline_orientation) delete SubModules.TextLineOrientation;
  const SubPipelines = { ...config.SubPipelines };
  const doc = SubPipelines[DOC_PREPROCESSOR];
  if (config.use_doc_preprocessor && doc) SubPipelines[DOC_PREPROCESSOR] = activeDocPreprocessingConfig(doc);
  else delete SubPipelines[DOC_PREPROCESSOR];
  return { ...config, SubModules, SubPipelines };
}

export const ocrPipeline = definePipeline<Ops, DocumentServingExtra>({
  pipelineName: 'OCR',
  worker: new URL('./worker.js', import.meta.url).href,
  servingExtra: documentServingExtra,
  activeConfig: activeOcrConfig,
  endpoints: [
    defineEndpoint<Ops, DocumentServingExtra>()({
      path: '/ocr',
      operationId: 'infer',
      summary: 'OCR of an image or a PDF (PaddleX OCR pipeline)',
      request,
      result,
      input: { kind: 'document', field: 'file' },
      async handle(req, ctx) {
        const searchable = searchablePdfCollector(req.searchablePdf, toOcrResult);
        const { pages, dataInfo } = await runDocument(req, ctx, resolveSettings(req, ctx), searchable.toResult);
        return { ocrResults: pages, dataInfo, ...(await searchable.pdf(pages)) };
      },
    }),
  ],
});
