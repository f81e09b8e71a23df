import { z } from 'zod';
import type { ResolvedSubModule } from '../config/models.js';
import type { PipelineConfig } from '../config/pipelineConfig.js';
import { ConfigError } from '../errors.js';
import type { EndpointContext } from './types.js';

/** PaddleX request fields are Optional[...] = None: absent and null both mean "use the default". */
export const optional = <T extends z.ZodType>(schema: T) => schema.nullish();

/** A sub-module the config may leave out (switched off), with its model resolved. */
export function optionalSubModule(config: PipelineConfig | undefined, role: string): ResolvedSubModule | undefined {
  const sub = config?.SubModules?.[role] as ResolvedSubModule | undefined;
  // Models are resolved on the main thread before workers start; an unresolved one here is a bug.
  if (sub && !sub.resolved) throw new Error(`SubModules.${role}: model ${sub.model_name} was not resolved before the pipeline was created`);
  return sub;
}

/** The sub-module a pipeline cannot run without (`SubModules.<role>`), with its model resolved. */
export function requireSubModule(config: PipelineConfig, role: string): ResolvedSubModule {
  const sub = optionalSubModule(config, role);
  if (!sub) throw new ConfigError(`SubModules.${role} is missing from the ${config.pipeline_name} pipeline config`);
  return sub;
}

/** `visualize` of a request, falling back to `Serving.visualize` of the YAML. */
export function wantsVisualization(requested: boolean | null | undefined, ctx: EndpointContext): boolean {
  return requested ?? ctx.serving.visualize;
}

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** A response body: the result's fields, then the visualization as Base64 `image` when one was drawn. */
export function withImage<T extends object>(fields: T, image: Uint8Array | undefined): T | (T & { image: string }) {
  return image ? { ...fields, image: toBase64(image) } : fields;
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
