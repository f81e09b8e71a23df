import type { EndpointContext } from '../define.js';
import { transferable } from './output.js';

/**
 * The bytes of an image request field (URL or Base64), ready to move to a worker: pass `bytes` in
 * the payload and `{ transfer }` as the run options.
 */
export async function loadImageInput(ctx: Pick<EndpointContext, 'loadInput'>, value: string, field = 'image') {
  return transferable(await ctx.loadInput(value, field));
}
