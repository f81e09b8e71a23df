/** Turning worker results into response fields. */
import type { EndpointContext } from '../define.js';
import { wantsVisualization } from './request.js';

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** A response body: the result's fields, then the visualization as Base64 `image` when one was drawn. */
export function withImage<T extends object>(fields: T, image: Uint8Array | undefined): T | (T & { image: string }) {
  return image ? { ...fields, image: toBase64(image) } : fields;
}

/**
 * A worker op that takes one encoded image (`image`, `visualize`, plus settings, some of them
 * required) and returns result fields and maybe a drawn image; `predictImage` types the settings.
 */
type ImageOp = (task: any) => Promise<{ image?: Uint8Array }>;

/**
 * The body of a single-image endpoint: load `req.image`, send its bytes to the worker's `predict`
 * with `settings` and the effective `visualize`, return the result with the drawing as Base64 `image`.
 */
export async function predictImage<Ops extends { predict: ImageOp }>(
  ctx: Pick<EndpointContext<Ops>, 'loadInput' | 'run' | 'serving'>,
  req: { image: string; visualize?: boolean | null },
  settings: Omit<Parameters<Ops['predict']>[0], 'image' | 'visualize'>,
): Promise<Omit<Awaited<ReturnType<Ops['predict']>>, 'image'> & { image?: string }> {
  const bytes = await ctx.loadInput(req.image, 'image');
  const task = { ...settings, image: bytes, visualize: wantsVisualization(req.visualize, ctx) } as Parameters<Ops['predict']>[0];
  const { image, ...fields } = (await ctx.run('predict', task)) as Awaited<ReturnType<Ops['predict']>>;
  return withImage(fields, image);
}

/** One page of a document pipeline whose apps answer `{prunedResult, outputImages?, inputImage?}`, as a worker returns it. */
export interface PrunedPage<P> {
  prunedResult: P;
  /** by PaddleX's image names */
  outputImages: Record<string, Uint8Array>;
  inputImage?: Uint8Array;
  width: number;
  height: number;
}

/** A document app's page: its `prunedResult`, `outputImages` (only when there are some) and `inputImage`, images as Base64. */
export function prunedPageResult<P>(page: PrunedPage<P>): {
  prunedResult: P;
  outputImages?: Record<string, string>;
  inputImage?: string;
} {
  const out: { prunedResult: P; outputImages?: Record<string, string>; inputImage?: string } = { prunedResult: page.prunedResult };
  const images = Object.entries(page.outputImages);
  if (images.length) out.outputImages = Object.fromEntries(images.map(([key, bytes]) => [key, toBase64(bytes)]));
  if (page.inputImage) out.inputImage = toBase64(page.inputImage);
  return out;
}
