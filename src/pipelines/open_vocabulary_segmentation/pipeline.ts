import { z } from 'zod';
import { defineEndpoint, definePipeline, type OpsOf } from '../define.js';
import { predictImage } from '../shared/output.js';
import { base64Image, noServingExtra } from '../shared/schemas.js';
import type worker from './worker.js';

type Ops = OpsOf<typeof worker>;

/** Most box prompts one request may carry: each costs a full-image mask (a limit of ours; PaddleX has none). */
export const MAX_BOX_PROMPTS = 32;

const request = z
  .object({
    image: z.string(),
    prompt: z.array(z.array(z.number())),
    promptType: z.string(),
  })
  .superRefine(({ prompt, promptType }, ctx) => {
    const problem = (message: string, path: string) => ctx.addIssue({ code: 'custom', message, path: [path] });
    if (promptType !== 'box' && promptType !== 'point')
      return problem(`promptType must be "box" or "point", got ${JSON.stringify(promptType)}`, 'promptType');
    if (prompt.length === 0) return problem('prompt is empty: give boxes [[x1, y1, x2, y2], ...] or one point [[x, y]]', 'prompt');
    if (promptType === 'point' && (prompt.length !== 1 || prompt[0]!.length !== 2)) {
      return problem('a point prompt is one point, [[x, y]] (PaddleX’s SAM takes one point only)', 'prompt');
    }
    if (promptType === 'box') {
      if (prompt.length > MAX_BOX_PROMPTS)
        return problem(`prompt has ${prompt.length} boxes; at most ${MAX_BOX_PROMPTS} per request`, 'prompt');
      const bad = prompt.findIndex((box) => box.length !== 4);
      if (bad >= 0) return problem(`prompt[${bad}] has ${prompt[bad]!.length} numbers; a box is [x1, y1, x2, y2]`, 'prompt');
    }
  });

/** PaddleX's Mask: COCO compressed RLE `counts` (as pycocotools encodes) and the mask's [height, width]. */
const mask = z.object({ rleResult: z.string(), size: z.tuple([z.number().int(), z.number().int()]) });

const result = z.object({
  masks: z.array(mask),
  maskInfos: z.array(z.object({ label: z.string(), prompt: z.array(z.number()) })),
  image: base64Image().optional(),
});

/**
 * PaddleX `open_vocabulary_segmentation`: POST /open-vocabulary-segmentation {image, prompt,
 * promptType} → one full-image mask per prompt (+ the drawing when Serving.visualize).
 */
export const openVocabularySegmentationPipeline = definePipeline<Ops, Record<string, unknown>>({
  pipelineName: 'open_vocabulary_segmentation',
  worker: new URL('./worker.js', import.meta.url).href,
  servingExtra: noServingExtra,
  endpoints: [
    defineEndpoint<Ops>()({
      path: '/open-vocabulary-segmentation',
      operationId: 'infer',
      summary: 'Segment what box or point prompts point at (SAM)',
      request,
      result,
      input: { kind: 'image', field: 'image' },
      // PaddleX's request has no `visualize`: Serving.visualize decides
      handle: (req, ctx) =>
        predictImage<Ops>(ctx, { image: req.image }, { prompt: req.prompt, promptType: req.promptType as 'box' | 'point' }),
    }),
  ],
});
