import { z } from 'zod';
import type { EndpointContext } from './types.js';

/** PaddleX request fields are Optional[...] = None: absent and null both mean "use the default". */
export const optional = <T extends z.ZodType>(schema: T) => schema.nullish();

/** `visualize` of a request, falling back to `Serving.visualize` of the YAML. */
export function wantsVisualization(requested: boolean | null | undefined, ctx: EndpointContext): boolean {
  return requested ?? ctx.serving.visualize;
}

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** ArrayBuffer of a Uint8Array, for transferring it to a worker (Node Buffers may share a pool: copy then). */
export function transferable(bytes: Uint8Array): { bytes: Uint8Array; transfer: ArrayBuffer[] } {
  const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer;
  const copy = own ? bytes : new Uint8Array(bytes);
  return { bytes: copy, transfer: [copy.buffer as ArrayBuffer] };
}

/** Map with at most `limit` calls in flight, results in input order. */
export async function mapConcurrent<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!, index);
    }
  });
  await Promise.all(lanes);
  return results;
}
