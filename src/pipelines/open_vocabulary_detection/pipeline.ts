import { z } from 'zod';
import { defineEndpoint, definePipeline, type OpsOf } from '../define.js';
import { predictImage } from '../shared/output.js';
import { optional } from '../shared/request.js';
import { base64Image, boundingBox, noServingExtra } from '../shared/schemas.js';
import type worker from './worker.js';

type Ops = OpsOf<typeof worker>;

/** Longest prompt accepted, in characters; the model's own limit (256 tokens) is checked by the worker. */
export const MAX_PROMPT_CHARS = 2000;

const request = z.object({
  image: z.string(),
  prompt: z
    .string()
    .max(MAX_PROMPT_CHARS, `prompt is longer than ${MAX_PROMPT_CHARS} characters`)
    .refine((p) => p.trim().length > 0, 'prompt is empty: name what to find, e.g. "cat . remote control"'),
  thresholds: optional(z.record(z.string(), z.number())),
});

const result = z.object({
  detectedObjects: z.array(z.object({ bbox: boundingBox, categoryName: z.string(), score: z.number() })),
  image: base64Image().optional(),
});

/**
 * PaddleX `open_vocabulary_detection`: POST /open-vocabulary-detection {image, prompt, thresholds?} →
 * boxes named by the prompt's words (+ the drawing when Serving.visualize; the request has no `visualize`).
 */
export const openVocabularyDetectionPipeline = definePipeline<Ops, Record<string, unknown>>({
  pipelineName: 'open_vocabulary_detection',
  worker: new URL('./worker.js', import.meta.url).href,
  servingExtra: noServingExtra,
  endpoints: [
    defineEndpoint<Ops>()({
      path: '/open-vocabulary-detection',
      operationId: 'infer',
      summary: 'Find the objects a text prompt names (GroundingDINO)',
      request,
      result,
      input: { kind: 'image', field: 'image' },
      // PaddleX's request has no `visualize`: Serving.visualize decides
      handle: (req, ctx) => predictImage<Ops>(ctx, { image: req.image }, { prompt: req.prompt, thresholds: req.thresholds }),
    }),
  ],
});
