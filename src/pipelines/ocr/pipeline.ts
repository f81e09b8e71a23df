/**
 * PaddleX's OCR pipeline and its `/ocr` endpoint, HTTP side: validate the request, work out which
 * sub-models it needs, and run it as a document (image or PDF pages) on the workers.
 */
import { z } from 'zod';
import { readParam } from '../../config/pipelineConfig.js';
import { defineEndpoint, definePipeline, type EndpointContext, type OpsOf } from '../define.js';
import { resolveNestedDocPreprocessing } from '../shared/docPreprocessing.js';
import { documentRequestFields, documentServingExtra, runDocument, type DocumentServingExtra } from '../shared/documentInput.js';
import { toBase64 } from '../shared/output.js';
import { optional, visualizeField, wantsVisualization } from '../shared/request.js';
import { base64Image, dataInfo } from '../shared/schemas.js';
import {
  activeOcrConfig,
  ocrPrunedResult,
  type OcrPage,
  type OcrSettings,
  requestedDet,
  resolveTextlineOrientation,
  textOcrRequestFields,
} from '../shared/ocrSettings.js';
import { searchablePdfCollector, searchablePdfField, searchablePdfResult } from '../shared/searchablePdf.js';
import type worker from './worker.js';

type Ops = OpsOf<typeof worker>;

const request = z.object({
  ...documentRequestFields,
  useDocOrientationClassify: optional(z.boolean()),
  useDocUnwarping: optional(z.boolean()),
  useTextlineOrientation: optional(z.boolean()),
  ...textOcrRequestFields,
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
  // The active config holds only the sub-models and sub-pipelines that were loaded (see activeOcrConfig).
  const { useDocPreprocessor, docSteps } = resolveNestedDocPreprocessing(req, config, Boolean(config.use_doc_preprocessor));
  const useTextlineOrientation = resolveTextlineOrientation(req.useTextlineOrientation, config, '');

  const recConfig = config.SubModules?.TextRecognition ?? {};
  return {
    useDocPreprocessor,
    docSteps,
    useTextlineOrientation,
    returnWordBox: req.returnWordBox ?? readParam(recConfig, 'return_word_box', z.boolean(), 'SubModules.TextRecognition', false),
    textDet: requestedDet(req, 'text'),
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
        return {
          ocrResults: pages,
          dataInfo,
          ...(await searchable.pdf(pages, (parts) => ctx.run('buildSearchablePdf', { pages: parts }))),
        };
      },
    }),
  ],
});
