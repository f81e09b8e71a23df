/**
 * PaddleX's OCR pipeline and its `/ocr` endpoint, HTTP side: validate the request, work out which
 * sub-models it needs, and run it as a document (image or PDF pages) on the workers.
 */
import { z } from 'zod';
import type { PipelineConfig } from '../../config/pipelineConfig.js';
import { readParam } from '../../config/pipelineConfig.js';
import { ConfigError, invalidInput } from '../../errors.js';
import type { LimitType } from '../../models/textDetection.js';
import { defineEndpoint, definePipeline, type EndpointContext, type OpsOf } from '../define.js';
import { documentRequestFields, documentServingExtra, runDocument, type DocumentServingExtra } from '../shared/documentInput.js';
import { toBase64 } from '../shared/output.js';
import { optional, visualizeField, wantsVisualization } from '../shared/request.js';
import { base64Image, dataInfo } from '../shared/schemas.js';
import { DOC_ORIENTATION, DOC_PREPROCESSOR, ocrPrunedResult, type OcrPage, type OcrSettings } from './settings.js';
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
  visualize: visualizeField,
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
});

/** PaddleX's get_model_settings: either doc flag true ⇒ on, any given but none true ⇒ off, none given ⇒ YAML. */
function resolveSettings(req: OcrRequest, ctx: EndpointContext<Ops, DocumentServingExtra>): OcrSettings {
  const { config } = ctx;
  const doc = config.SubPipelines?.[DOC_PREPROCESSOR];
  const useDocPreprocessor =
    req.useDocOrientationClassify == null && req.useDocUnwarping == null
      ? Boolean(config.use_doc_preprocessor)
      : req.useDocOrientationClassify === true || req.useDocUnwarping === true;
  const useDocOrientationClassify = useDocPreprocessor && (req.useDocOrientationClassify ?? Boolean(doc?.use_doc_orientation_classify));
  const useDocUnwarping = useDocPreprocessor && (req.useDocUnwarping ?? Boolean(doc?.use_doc_unwarping));
  const useTextlineOrientation = req.useTextlineOrientation ?? Boolean(config.use_textline_orientation);

  // The active config holds only the sub-models that were loaded (see activeOcrConfig below).
  if (useDocOrientationClassify && !doc?.SubModules?.[DOC_ORIENTATION]) {
    throw invalidInput(
      'the input params for model settings are invalid! Document orientation classification was requested, but this server ' +
        `has no doc orientation model loaded (SubPipelines.${DOC_PREPROCESSOR}.SubModules.${DOC_ORIENTATION}, e.g. PP-LCNet_x1_0_doc_ori). ` +
        'Set use_doc_preprocessor: True in the pipeline YAML and provide the model dir.',
    );
  }
  if (useDocUnwarping) {
    throw invalidInput('the input params for model settings are invalid! Document unwarping (UVDoc) is not available in this server yet.');
  }
  if (useTextlineOrientation && !config.SubModules?.TextLineOrientation) {
    throw invalidInput(
      'the input params for model settings are invalid! Text-line orientation was requested, but this server has no ' +
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
    useDocOrientationClassify,
    useDocUnwarping,
    useTextlineOrientation,
    textDet,
    textRecScoreThresh: req.textRecScoreThresh ?? readParam(recConfig, 'score_thresh', z.number(), 'SubModules.TextRecognition', 0),
    visualize: wantsVisualization(req.visualize, ctx),
    maxOutputImgSize: ctx.serving.extra.max_output_img_size,
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
  if (!config.use_doc_preprocessor || !doc) {
    delete SubPipelines[DOC_PREPROCESSOR];
  } else {
    if (doc.use_doc_unwarping) {
      throw new ConfigError(
        `SubPipelines.${DOC_PREPROCESSOR}.use_doc_unwarping: document unwarping (UVDoc) is not available in this server yet; set it to False`,
      );
    }
    const docModules = { ...doc.SubModules };
    if (!doc.use_doc_orientation_classify) delete docModules[DOC_ORIENTATION];
    if (!doc.use_doc_unwarping) delete docModules.DocUnwarping;
    SubPipelines[DOC_PREPROCESSOR] = { ...doc, SubModules: docModules };
  }
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
        const { pages, dataInfo } = await runDocument(req, ctx, resolveSettings(req, ctx), toOcrResult);
        return { ocrResults: pages, dataInfo };
      },
    }),
  ],
});
