import { invalidInput } from '../errors.js';

/** The parts of a URL that Python's `urllib.parse.urlparse` reports and PaddleX looks at. */
export interface UrlParts {
  scheme: string;
  netloc: string;
  path: string;
  query: string;
}

/**
 * Split a URL the way `urlparse` does (no normalisation, no validation), so that
 * URL detection and file-type inference classify strings exactly as PaddleX does,
 * including ones the WHATWG parser would reject or rewrite.
 */
export function splitUrl(s: string): UrlParts {
  const schemeMatch = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(s);
  const scheme = schemeMatch ? schemeMatch[1].toLowerCase() : '';
  let rest = schemeMatch ? s.slice(schemeMatch[0].length) : s;
  let netloc = '';
  if (rest.startsWith('//')) {
    const end = rest.slice(2).search(/[/?#]/);
    netloc = end === -1 ? rest.slice(2) : rest.slice(2, 2 + end);
    rest = end === -1 ? '' : rest.slice(2 + end);
  }
  const fragmentAt = rest.indexOf('#');
  if (fragmentAt !== -1) rest = rest.slice(0, fragmentAt);
  const queryAt = rest.indexOf('?');
  return {
    scheme,
    netloc,
    path: queryAt === -1 ? rest : rest.slice(0, queryAt),
    query: queryAt === -1 ? '' : rest.slice(queryAt + 1),
  };
}

/** PaddleX `is_url`: literally starts with `http://` or `https://` and has a host part. */
export function isUrl(s: string): boolean {
  if (!s.startsWith('http://') && !s.startsWith('https://')) return false;
  return splitUrl(s).netloc !== '';
}

const DATA_URI_PREFIX = /^data:[^,]*;base64,/i;
const ILLEGAL_BASE64_CHAR = /[^A-Za-z0-9+/\-_=\s]/;
const WHITESPACE = /\s+/g;
/** Standard or URL-safe alphabet (mixing is harmless), then at most two '=' at the very end. */
const BASE64_BODY = /^[A-Za-z0-9+/\-_]*={0,2}$/;

/** Bytes that padded Base64 of this length holds (NaN when the length is not a multiple of 4). */
function paddedDecodedLength(base64: string): number {
  if (base64.length % 4 !== 0) return Number.NaN;
  const padding = base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0;
  return (base64.length / 4) * 3 - padding;
}

/**
 * Decode a client-supplied Base64 string. Strict where Node's decoder is lenient
 * (it silently skips junk), tolerant where clients commonly differ: an optional
 * `data:<mime>;base64,` prefix, embedded whitespace/newlines, the URL-safe
 * alphabet and missing padding.
 */
export function decodeBase64(s: string, field: string): Uint8Array {
  const hint = 'expected Base64-encoded file content or an http(s) URL';
  const payload = s.replace(DATA_URI_PREFIX, '');
  // Fast path for the usual padded Base64: Node's decoder skips every character outside the
  // alphabet and stops at a misplaced '=', so the output has exactly the length the input's length
  // and padding predict only when every character was a data character; the bytes are then the
  // ones the checks below would give. The checks scan a multi-MB string several times on the HTTP
  // thread, 30× the cost of decoding it (and re-encoding to compare would allocate as much again).
  const direct = Buffer.from(payload, 'base64');
  if (direct.length > 0 && direct.length === paddedDecodedLength(payload)) {
    return new Uint8Array(direct.buffer, direct.byteOffset, direct.length);
  }
  const illegal = ILLEGAL_BASE64_CHAR.exec(payload);
  if (illegal) {
    const shown = JSON.stringify(illegal[0]);
    throw invalidInput(
      `${field}: not valid Base64: illegal character ${shown} at position ${illegal.index + s.length - payload.length} (${hint})`,
    );
  }
  const compact = payload.replace(WHITESPACE, '');
  if (!BASE64_BODY.test(compact)) {
    throw invalidInput(`${field}: not valid Base64: misplaced '=' (padding is at most two '=' at the very end) (${hint})`);
  }
  const unpadded = compact.replace(/=+$/, '');
  if (unpadded === '') throw invalidInput(`${field}: empty (${hint})`);
  const padded = unpadded.length !== compact.length;
  if (unpadded.length % 4 === 1 || (padded && compact.length % 4 !== 0)) {
    throw invalidInput(
      `${field}: not valid Base64: ${unpadded.length} data characters${padded ? ' with padding' : ''} is not a possible length (truncated?)`,
    );
  }
  const decoded = Buffer.from(unpadded, 'base64');
  return new Uint8Array(decoded.buffer, decoded.byteOffset, decoded.length);
}
