import { z } from 'zod';
import { invalidInput } from '../../errors.js';
import type { EndpointContext } from '../define.js';

/** PaddleX request fields are Optional[...] = None: absent and null both mean "use the default". */
export const optional = <T extends z.ZodType>(schema: T) => schema.nullish();

/** `visualize` of a request, falling back to `Serving.visualize` of the YAML. */
export function wantsVisualization(requested: boolean | null | undefined, ctx: Pick<EndpointContext, 'serving'>): boolean {
  return requested ?? ctx.serving.visualize;
}

/** The `visualize` request field of PaddleX 3.2+ image, document and time-series pipelines. */
export const visualizeField = optional(z.boolean());

/** A per-class score threshold as PaddleX's multi-label requests give it: a number, {"default": n, "<class id>": n}, or one number per class. */
export const multiLabelThresholdField = z.union([
  z.number(),
  z.record(z.union([z.literal('default'), z.string().regex(/^\d+$/, 'class ids must be integers >= 0')]), z.number()),
  z.array(z.number()),
]);

/**
 * A request asked for a sub-model the server did not load: PaddleX's message, with what to configure.
 * A 422 where PaddleX answers 500 (README, "Where we differ from PaddleX on purpose").
 */
export function unloadedModelRequested(detail: string): Error {
  return invalidInput(`the input params for model settings are invalid! ${detail}`);
}
