import { z } from 'zod';
import { defineEndpoint, definePipeline, type OpsOf } from '../define.js';
import { predictImage } from '../shared/output.js';
import { multiLabelThresholdField, optional, visualizeField } from '../shared/request.js';
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
      handle: (req, ctx) => predictImage<Ops>(ctx, req, { threshold: req.threshold }),
    }),
  ],
});
