/**
 * PaddleX's doc_preprocessor pipeline and its `/document-preprocessing` endpoint, HTTP side: which
 * steps a request runs, then the document (image or PDF pages) on the workers.
 */
import { z } from 'zod';
import { defineEndpoint, definePipeline, type OpsOf } from '../define.js';
import { activeDocPreprocessingConfig, docPreprocessingResult, resolveDocPreprocessingSteps } from '../shared/docPreprocessing.js';
import { documentRequestFields, documentServingExtra, runDocument, type DocumentServingExtra } from '../shared/documentInput.js';
import { toBase64 } from '../shared/output.js';
import { optional, visualizeField, wantsVisualization } from '../shared/request.js';
import { base64Image, dataInfo } from '../shared/schemas.js';
import type { DocPreprocessingPage } from './worker.js';
import type worker from './worker.js';

type Ops = OpsOf<typeof worker>;

const request = z.object({
  ...documentRequestFields,
  useDocOrientationClassify: optional(z.boolean()),
  useDocUnwarping: optional(z.boolean()),
  visualize: visualizeField,
});

const pageResult = z.object({
  outputImage: base64Image('image/png'),
  prunedResult: docPreprocessingResult,
  docPreprocessingImage: base64Image().optional(),
  inputImage: base64Image().optional(),
});

const result = z.object({ docPreprocessingResults: z.array(pageResult), dataInfo });

function toPageResult(page: DocPreprocessingPage): z.input<typeof pageResult> {
  const out: z.input<typeof pageResult> = { outputImage: toBase64(page.outputImage), prunedResult: page.prunedResult };
  if (page.docPreprocessingImage) out.docPreprocessingImage = toBase64(page.docPreprocessingImage);
  if (page.inputImage) out.inputImage = toBase64(page.inputImage);
  return out;
}

export const docPreprocessorPipeline = definePipeline<Ops, DocumentServingExtra>({
  pipelineName: 'doc_preprocessor',
  worker: new URL('./worker.js', import.meta.url).href,
  servingExtra: documentServingExtra,
  activeConfig: activeDocPreprocessingConfig,
  endpoints: [
    defineEndpoint<Ops, DocumentServingExtra>()({
      path: '/document-preprocessing',
      operationId: 'infer',
      summary: 'Document orientation correction and unwarping of an image or a PDF (PaddleX doc_preprocessor pipeline)',
      request,
      result,
      input: { kind: 'document', field: 'file' },
      async handle(req, ctx) {
        const settings = {
          steps: resolveDocPreprocessingSteps(req, ctx.config, ''),
          visualize: wantsVisualization(req.visualize, ctx),
          maxOutputImgSize: ctx.serving.extra.max_output_img_size,
        };
        const { pages, dataInfo } = await runDocument(req, ctx, settings, toPageResult);
        return { docPreprocessingResults: pages, dataInfo };
      },
    }),
  ],
});
