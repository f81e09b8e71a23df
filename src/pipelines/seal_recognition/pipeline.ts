/** PaddleX's seal_recognition pipeline and its `/seal-recognition` endpoint, HTTP side. */
import { z } from 'zod';
import type { PipelineConfig } from '../../config/pipelineConfig.js';
import { readParam } from '../../config/pipelineConfig.js';
import { ConfigError } from '../../errors.js';
import { defineEndpoint, definePipeline, type EndpointContext, type OpsOf } from '../define.js';
import { activeNestedDocPreprocessing, DOC_PREPROCESSOR, resolveNestedDocPreprocessing } from '../shared/docPreprocessing.js';
import { documentRequestFields, documentServingExtra, runDocument, type DocumentServingExtra } from '../shared/documentInput.js';
import { LAYOUT_DETECTION, layoutRequestFields, resolveLayout } from '../shared/layoutRegions.js';
import { prunedPageResult } from '../shared/output.js';
import { optional, visualizeField, wantsVisualization } from '../shared/request.js';
import { dataInfo, pageWithOutputImages } from '../shared/schemas.js';
import { SEAL_OCR, sealPrunedResult, type SealSettings } from './settings.js';
import { requestedDet, sealOcrRequestFields } from '../shared/ocrSettings.js';
import type worker from './worker.js';

type Ops = OpsOf<typeof worker>;

const request = z.object({
  ...documentRequestFields,
  useDocOrientationClassify: optional(z.boolean()),
  useDocUnwarping: optional(z.boolean()),
  ...layoutRequestFields,
  ...sealOcrRequestFields,
  visualize: visualizeField,
});
type SealRequest = z.output<typeof request>;

const result = z.object({ sealRecResults: z.array(pageWithOutputImages(sealPrunedResult)), dataInfo });

function resolveSettings(req: SealRequest, ctx: EndpointContext<Ops, DocumentServingExtra>): SealSettings {
  const { config } = ctx;
  // PaddleX's get_model_settings (its default: doc preprocessing on)
  const docPreprocessing = resolveNestedDocPreprocessing(req, config, Boolean(config.use_doc_preprocessor ?? true));
  const sealOcr = config.SubPipelines?.[SEAL_OCR];
  const recConfig = sealOcr?.SubModules?.TextRecognition ?? {};
  const visualize = wantsVisualization(req.visualize, ctx);
  const maxOutputImgSize = ctx.serving.extra.max_output_img_size;
  return {
    ...docPreprocessing,
    ...resolveLayout(req, config),
    ocr: {
      useDocPreprocessor: false,
      docSteps: { useDocOrientationClassify: false, useDocUnwarping: false },
      returnWordBox: false,
      useTextlineOrientation: Boolean(sealOcr?.use_textline_orientation) && Boolean(sealOcr?.SubModules?.TextLineOrientation),
      textDet: requestedDet(req, 'seal'),
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

/** Drop what the YAML switches off, so those models are neither required nor loaded. */
function activeSealConfig(config: PipelineConfig): PipelineConfig {
  const sealOcr = config.SubPipelines?.[SEAL_OCR];
  if (!sealOcr) throw new ConfigError(`SubPipelines.${SEAL_OCR} is missing (the seal OCR sub-pipeline, text_type: seal)`);
  readParam(sealOcr, 'text_type', z.literal('seal'), `SubPipelines.${SEAL_OCR}`, 'seal');
  const SubModules = { ...config.SubModules };
  if (!(config.use_layout_detection ?? true)) delete SubModules[LAYOUT_DETECTION];
  const ocrModules = { ...sealOcr.SubModules };
  if (!sealOcr.use_textline_orientation) delete ocrModules.TextLineOrientation;
  const SubPipelines = activeNestedDocPreprocessing(config.SubPipelines, Boolean(config.use_doc_preprocessor ?? true));
  const { [DOC_PREPROCESSOR]: _ocrDoc, ...ocrPipelines } = sealOcr.SubPipelines ?? {};
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
        const { pages, dataInfo } = await runDocument(req, ctx, resolveSettings(req, ctx), prunedPageResult);
        return { sealRecResults: pages, dataInfo };
      },
    }),
  ],
});
