/**
 * PaddleX's speech and video apps write the client's file to a temporary file named with an
 * extension they infer first (`infer_file_ext`): from a URL's last path segment through Python's
 * `mimetypes`, from Base64 content by magic numbers (the `filetype` library). No extension → the
 * request is refused. We infer the same way (magic numbers through `file-type`, its npm
 * counterpart) and answer both cases with 422 "File extension cannot be inferred"; PaddleX answers
 * unrecognised Base64 content with a 500 (README, "Where we differ from PaddleX on purpose").
 */
import { fileTypeFromBuffer } from 'file-type';
import { invalidInput } from '../errors.js';
import { splitUrl } from './input.js';

export type MediaKind = 'audio' | 'video';

/** Extensions Python's `mimetypes` maps to audio/* or video/* (plus the common ones newer Pythons add). */
const EXTENSIONS: Record<MediaKind, ReadonlySet<string>> = {
  audio: new Set([
    'wav',
    'mp3',
    'mp2',
    'flac',
    'ogg',
    'oga',
    'opus',
    'm4a',
    'aac',
    'aif',
    'aifc',
    'aiff',
    'au',
    'snd',
    'ra',
    'weba',
    'wma',
  ]),
  video: new Set(['mp4', 'm4v', 'avi', 'mov', 'qt', 'mkv', 'webm', 'mpeg', 'mpg', 'mpe', 'm1v', 'mpa', 'wmv', 'flv', '3gp', 'ts', 'ogv']),
};

const NOT_INFERRED = 'File extension cannot be inferred';

/** A URL's extension as PaddleX infers it (without the dot), or a 422 naming why it cannot be inferred. */
export function urlMediaExtension(url: string, kind: MediaKind, field: string): string {
  const name = splitUrl(url).path.split('/').pop() ?? '';
  const dot = name.lastIndexOf('.');
  const extension = dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
  if (!EXTENSIONS[kind].has(extension)) {
    throw invalidInput(`${NOT_INFERRED}: ${field}: the URL's file name ${JSON.stringify(name)} has no ${kind} extension`);
  }
  return extension;
}

/** The extension of a file sent as Base64, from its content, or a 422 naming why it cannot be inferred. */
export async function contentMediaExtension(bytes: Uint8Array, kind: MediaKind, field: string): Promise<string> {
  const sniffed = await fileTypeFromBuffer(bytes);
  if (!sniffed) throw invalidInput(`${NOT_INFERRED}: ${field}: the content is not a file type that can be recognised`);
  if (!sniffed.mime.startsWith(`${kind}/`) && !(kind === 'video' && sniffed.ext === 'mkv')) {
    throw invalidInput(`${field}: the content is ${sniffed.mime} (.${sniffed.ext}), not ${kind === 'audio' ? 'an audio' : 'a video'} file`);
  }
  return sniffed.ext;
}
