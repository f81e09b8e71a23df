/** PaddleX's formula_recognition pipeline and its `/formula-recognition` endpoint, HTTP side. */
import { z } from 'zod';
import type { PipelineConfig } from '../../config/pipelineConfig.js';
import { defineEndpoint, definePipeline, type EndpointContext, type OpsOf } from '../define.js';
import { activeNestedDocPreprocessing, resolveNestedDocPreprocessing } from '../shared/docPreprocessing.js';
import { documentRequestFields, documentServingExtra, runDocument, type DocumentServingExtra } from '../shared/documentInput.js';
import { LAYOUT_DETECTION, layoutRequestFields, resolveLayout } from '../shared/layoutRegions.js';
import { prunedPageResult } from '../shared/output.js';
import { optional, visualizeField, wantsVisualization } from '../shared/request.js';
import { dataInfo, pageWithOutputImages } from '../shared/schemas.js';
import { formulaPrunedResult, type FormulaSettings } from './settings.js';
import type worker from './worker.js';

type Ops = OpsOf<typeof worker>;

const request = z.object({
  ...documentRequestFields,
  useDocOrientationClassify: optional(z.boolean()),
  useDocUnwarping: optional(z.boolean()),
  ...layoutRequestFields,
  visualize: visualizeField,
});
type FormulaRequest = z.output<typeof request>;

const result = z.object({ formulaRecResults: z.array(pageWithOutputImages(formulaPrunedResult)), dataInfo });

/** PaddleX's get_model_settings and check_model_settings_valid (its defaults: both stages on). */
function resolveSettings(req: FormulaRequest, ctx: EndpointContext<Ops, DocumentServingExtra>): FormulaSettings {
  const { config } = ctx;
  return {
    ...resolveNestedDocPreprocessing(req, config, Boolean(config.use_doc_preprocessor ?? true)),
    ...resolveLayout(req, config),
    visualize: wantsVisualization(req.visualize, ctx),
    maxOutputImgSize: ctx.serving.extra.max_output_img_size,
  };
}

/** Drop what the YAML switches off, so those models are neither required nor loaded. */
function activeFormulaConfig(config: PipelineConfig): PipelineConfig {
  const SubModules = { ...config.SubModules };
  if (!(config.use_layout_detection ?? true)) delete SubModules[LAYOUT_DETECTION];
  return {
    ...config,
    SubModules,
    SubPipelines: activeNestedDocPreprocessing(config.SubPipelines, Boolean(config.use_doc_preprocessor ?? true)),
  };
}

export const formulaRecognitionPipeline = definePipeline<Ops, DocumentServingExtra>({
  pipelineName: 'formula_recognition',
  worker: new URL('./worker.js', import.meta.url).href,
  servingExtra: documentServingExtra,
  activeConfig: activeFormulaConfig,
  endpoints: [
    defineEndpoint<Ops, DocumentServingExtra>()({
      path: '/formula-recognition',
      operationId: 'infer',
      summary: 'Formula recognition (LaTeX) of an image or a PDF (PaddleX formula_recognition pipeline)',
      request,
      result,
      input: { kind: 'document', field: 'file' },
      async handle(req, ctx) {
        const { pages, dataInfo } = await runDocument(req, ctx, resolveSettings(req, ctx), prunedPageResult);
        return { formulaRecResults: pages, dataInfo };
      },
    }),
  ],
});
