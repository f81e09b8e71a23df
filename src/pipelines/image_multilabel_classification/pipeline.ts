import { z } from 'zod';
import { defineEndpoint, definePipeline, type OpsOf } from '../define.js';
import { transferable, withImage } from '../shared/output.js';
import { multiLabelThresholdField, optional, visualizeField, wantsVisualization } from '../shared/request.js';
import { base64Image, category, noServingExtra } from '../shared/schemas.js';
import type worker from './worker.js';

type Ops = OpsOf<typeof worker>;

const request = z.object({
  image: z.string(),
  threshold: optional(multiLabelThresholdField),
  visualize: visualizeField,
});

const result = z.object({
  categories: z.array(category),
  image: base64Image().optional(),
});

/** PaddleX `image_multilabel_classification`: POST /multilabel-image-classification → every class above its threshold. */
export const imageMultilabelClassificationPipeline = definePipeline<Ops, Record<string, unknown>>({
  pipelineName: 'image_multilabel_classification',
  worker: new URL('./worker.js', import.meta.url).href,
  servingExtra: noServingExtra,
  endpoints: [
    defineEndpoint<Ops>()({
      path: '/multilabel-image-classification',
      operationId: 'infer',
      summary: 'Tag an image with every class whose score passes its threshold',
      request,
      result,
      input: { kind: 'image', field: 'image' },
      async handle(req, ctx) {
        const { bytes, transfer } = transferable(await ctx.loadInput(req.image, 'image'));
        const task = { image: bytes, threshold: req.threshold, visualize: wantsVisualization(req.visualize, ctx) };
        const { image, ...fields } = await ctx.run('predict', task, { transfer });
        return withImage(fields, image);
      },
    }),
  ],
});
