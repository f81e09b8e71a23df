/**
 * What PaddleX's speech and video apps share on the HTTP side: the file's bytes (URL or Base64)
 * and the extension PaddleX infers for it before it runs anything (422 when it cannot).
 */
import { isUrl } from '../../io/input.js';
import { contentMediaExtension, type MediaKind, urlMediaExtension } from '../../io/mediaFile.js';
import type { EndpointContext, WorkerOps } from '../define.js';

export interface MediaFile {
  bytes: Uint8Array;
  /** without the dot, e.g. `wav`, `avi` */
  extension: string;
}

/** A URL's name is checked before it is fetched (PaddleX fetches first: a file it would refuse is not downloaded here). */
export async function loadMediaFile<Ops extends WorkerOps>(
  ctx: EndpointContext<Ops>,
  value: string,
  kind: MediaKind,
  field: string,
): Promise<MediaFile> {
  if (isUrl(value)) {
    const extension = urlMediaExtension(value, kind, field);
    return { bytes: await ctx.loadInput(value, field), extension };
  }
  const bytes = await ctx.loadInput(value, field);
  return { bytes, extension: await contentMediaExtension(bytes, kind, field) };
}
