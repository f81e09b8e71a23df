/**
 * PaddleX's seal_recognition pipeline and its `/seal-recognition` endpoint, HTTP side. Document
 * preprocessing is not composed into this pipeline yet: the request flags are accepted, and asking
 * for it (or a YAML with `use_doc_preprocessor: True`) gets a clear error.
 */
import { z } from 'zod';
import type { PipelineConfig } from '../../config/pipelineConfig.js';
import { readParam } from '../../config/pipelineConfig.js';
import { ConfigError } from '../../errors.js';
import type { MergeMode } from '../../models/layoutDetection.js';
import { defineEndpoint, definePipeline, type EndpointContext, type OpsOf } from '../define.js';
import { requestLayoutParams, thresholdSchema } from '../shared/detection.js';
import { documentRequestFields, documentServingExtra, runDocument, type DocumentServingExtra } from '../shared/documentInput.js';
import { toBase64 } from '../shared/output.js';
import { optional, unloadedModelRequested, visualizeField, wantsVisualization } from '../shared/request.js';
import { base64Image, base64ImageMap, dataInfo } from '../shared/schemas.js';
import { LAYOUT_DETECTION, SEAL_OCR, sealPrunedResult, type SealPage, type SealSettings } from './settings.js';
import type worker from './worker.js';

type Ops = OpsOf<typeof worker>;

const unitInterval = z.number().min(0).max(1);
const positive = z.number().positive();

const request = z.object({
  ...documentRequestFields,
  useDocOrientationClassify: optional(z.boolean()),
  useDocUnwarping: optional(z.boolean()),
  useLayoutDetection: optional(z.boolean()),
  layoutThreshold: optional(thresholdSchema),
  layoutNms: optional(z.boolean()),
  layoutUnclipRatio: optional(z.union([positive, z.tuple([positive, positive])])),
  layoutMergeBboxesMode: optional(z.enum(['union', 'large', 'small'] satisfies MergeMode[])),
  // 0 (or an empty limit type) is allowed: PaddleX's model then uses its default (Python's `or`).
  sealDetLimitSideLen: optional(z.number().int().nonnegative()),
  sealDetLimitType: optional(z.enum(['min', 'max', 'resize_long', ''])),
  sealDetThresh: optional(unitInterval),
  sealDetBoxThresh: optional(unitInterval),
  sealDetUnclipRatio: optional(z.number().nonnegative()),
  sealRecScoreThresh: optional(unitInterval),
  visualize: visualizeField,
});
type SealRequest = z.output<typeof request>;

const result = z.object({
  sealRecResults: z.array(
    z.object({
      prunedResult: sealPrunedResult,
      outputImages: base64ImageMap().optional(),
      inputImage: base64Image().optional(),
    }),
  ),
  dataInfo,
});

function resolveSettings(req: SealRequest, ctx: EndpointContext<Ops, DocumentServingExtra>): SealSettings {
  const { config } = ctx;
  // PaddleX's get_model_settings
  const useDocPreprocessor =
    req.useDocOrientationClassify == null && req.useDocUnwarping == null
      ? Boolean(config.use_doc_preprocessor)
      : req.useDocOrientationClassify === true || req.useDocUnwarping === true;
  if (useDocPreprocessor) {
    throw unloadedModelRequested(
      'Document preprocessing was requested, but this server runs seal_recognition without it (not available yet).',
    );
  }
  const useLayoutDetection = req.useLayoutDetection ?? Boolean(config.use_layout_detection ?? true);
  if (useLayoutDetection && !config.SubModules?.[LAYOUT_DETECTION]) {
    throw unloadedModelRequested(
      `Layout detection was requested, but no layout model is loaded (set use_layout_detection: True and SubModules.${LAYOUT_DETECTION} in the pipeline YAML).`,
    );
  }
  const sealOcr = config.SubPipelines?.[SEAL_OCR];
  const recConfig = sealOcr?.SubModules?.TextRecognition ?? {};
  const textDet: SealSettings['ocr']['textDet'] = {};
  if (req.sealDetLimitSideLen != null) textDet.limitSideLen = req.sealDetLimitSideLen;
  if (req.sealDetLimitType != null) textDet.limitType = req.sealDetLimitType;
  if (req.sealDetThresh != null) textDet.thresh = req.sealDetThresh;
  if (req.sealDetBoxThresh != null) textDet.boxThresh = req.sealDetBoxThresh;
  if (req.sealDetUnclipRatio != null) textDet.unclipRatio = req.sealDetUnclipRatio;
  const visualize = wantsVisualization(req.visualize, ctx);
  const maxOutputImgSize = ctx.serving.extra.max_output_img_size;
  return {
    useLayoutDetection,
    layout: requestLayoutParams(req),
    ocr: {
      useDocPreprocessor: false,
      docSteps: { useDocOrientationClassify: false, useDocUnwarping: false },
      returnWordBox: false,
      useTextlineOrientation: Boolean(sealOcr?.use_textline_orientation) && Boolean(sealOcr?.SubModules?.TextLineOrientation),
      textDet,
      textRecScoreThresh:
        req.sealRecScoreThresh ??
        readParam(recConfig, 'score_thresh', z.number(), `SubPipelines.${SEAL_OCR}.SubModules.TextRecognition`, 0),
      visualize,
      maxOutputImgSize,
    },
    visualize,
    maxOutputImgSize,
  };
}

function toSealResult(page: SealPage): z.input<typeof result>['sealRecResults'][number] {
  const out: z.input<typeof result>['sealRecResults'][number] = { prunedResult: page.prunedResult };
  const images = Object.entries(page.outputImages);
  if (images.length) out.outputImages = Object.fromEntries(images.map(([key, bytes]) => [key, toBase64(bytes)]));
  if (page.inputImage) out.inputImage = toBase64(page.inputImage);
  return out;
}

/** Drop what the YAML switches off, so those models are neither required nor loaded. */
function activeSealConfig(config: PipelineConfig): PipelineConfig {
  if (config.use_doc_preprocessor ?? true) {
    throw new ConfigError(
      "use_doc_preprocessor: document preprocessing is not available in this server's seal_recognition yet; set use_doc_preprocessor: False",
    );
  }
  const sealOcr = config.SubPipelines?.[SEAL_OCR];
  if (!sealOcr) throw new ConfigError(`SubPipelines.${SEAL_OCR} is missing (the seal OCR sub-pipeline, text_type: seal)`);
  readParam(sealOcr, 'text_type', z.literal('seal'), `SubPipelines.${SEAL_OCR}`, 'seal');
  const SubModules = { ...config.SubModules };
  if (!(config.use_layout_detection ?? true)) delete SubModules[LAYOUT_DETECTION];
  const ocrModules = { ...sealOcr.SubModules };
  if (!sealOcr.use_textline_orientation) delete ocrModules.TextLineOrientation;
  const { DocPreprocessor: _unused, ...SubPipelines } = config.SubPipelines ?? {};
  const { DocPreprocessor: _ocrDoc, ...ocrPipelines } = sealOcr.SubPipelines ?? {};
  return {
    ...config,
    SubModules,
    SubPipelines: {
      ...SubPipelines,
      [SEAL_OCR]: { ...sealOcr, use_doc_preprocessor: false, SubModules: ocrModules, SubPipelines: ocrPipelines },
    },
  };
}

export const sealRecognitionPipeline = definePipeline<Ops, DocumentServingExtra>({
  pipelineName: 'seal_recognition',
  worker: new URL('./worker.js', import.meta.url).href,
  servingExtra: documentServingExtra,
  activeConfig: activeSealConfig,
  endpoints: [
    defineEndpoint<Ops, DocumentServingExtra>()({
      path: '/seal-recognition',
      operationId: 'infer',
      summary: 'Seal (stamp) text recognition of an image or a PDF (PaddleX seal_recognition pipeline)',
      request,
      result,
      input: { kind: 'document', field: 'file' },
      async handle(req, ctx) {
        const { pages, dataInfo } = await runDocument(req, ctx, resolveSettings(req, ctx), toSealResult);
        return { sealRecResults: pages, dataInfo };
      },
    }),
  ],
});
