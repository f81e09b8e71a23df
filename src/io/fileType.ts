import { invalidInput } from '../errors.js';
import { isUrl, splitUrl } from './input.js';

export type FileKind = 'pdf' | 'image';

/** Extensions Python's `mimetypes` maps to image/* (what PaddleX's inference relies on), plus webp. */
const IMAGE_EXTENSIONS = new Set([
  'avif',
  'bmp',
  'gif',
  'heic',
  'heif',
  'ico',
  'ief',
  'jpe',
  'jpeg',
  'jpg',
  'pbm',
  'pgm',
  'png',
  'pnm',
  'ppm',
  'ras',
  'rgb',
  'svg',
  'tif',
  'tiff',
  'webp',
  'xbm',
  'xpm',
  'xwd',
]);

const HINT = ' (set fileType: 0 for PDF, 1 for image)';

function kindOfFilename(filename: string): FileKind | undefined {
  const dot = filename.lastIndexOf('.');
  if (dot <= 0) return undefined; // like Python's splitext: '.pdf' is a name, not an extension
  const extension = filename.slice(dot + 1).toLowerCase();
  if (extension === 'pdf') return 'pdf';
  return IMAGE_EXTENSIONS.has(extension) ? 'image' : undefined;
}

/** The kind of an uploaded file: by its media type (`application/pdf`, `image/*`), else by its file name's extension. */
export function uploadedFileKind(mediaType: string, filename: string): FileKind | undefined {
  if (mediaType === 'application/pdf') return 'pdf';
  if (mediaType.startsWith('image/')) return 'image';
  return kindOfFilename(filename);
}

/**
 * Baidu BOS download links carry the file name in a query parameter
 * (`responseContentDisposition=attachment;filename=x.pdf`); PaddleX special-cases them.
 */
function bosFilename(netloc: string, query: string): string | undefined {
  if (!/^\w+\.bcebos\.com$/.test(netloc) || query === '') return undefined;
  const values = new URLSearchParams(query).getAll('responseContentDisposition');
  if (values.length !== 1) return undefined;
  return /^attachment;filename=(.*)/.exec(values[0])?.[1];
}

/**
 * PaddleX `fileType` semantics: 0 = PDF, 1 = image; absent/null = infer from a
 * URL's last path segment (Base64 input cannot be inferred).
 */
export function resolveFileType(file: string, fileType: 0 | 1 | null | undefined): FileKind {
  if (fileType === 0) return 'pdf';
  if (fileType === 1) return 'image';
  if (!isUrl(file)) throw invalidInput(`File type cannot be determined${HINT}`);
  const { netloc, path, query } = splitUrl(file);
  const kind = kindOfFilename(path.split('/').pop() ?? '') ?? kindOfFilename(bosFilename(netloc, query) ?? '');
  if (kind === undefined) throw invalidInput(`Unsupported file type${HINT}`);
  return kind;
}
