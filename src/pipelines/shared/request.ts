import { z } from 'zod';
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
