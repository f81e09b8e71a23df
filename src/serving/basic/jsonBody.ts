import { isAscii } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { ApiError } from '../../errors.js';
import { invalidJson } from '../validation.js';

/**
 * What a request body's JSON may cost. JSON.parse runs on the HTTP thread, so its cost must be bounded
 * by the body's shape, not only by its size: parsing is cheap per byte of string content (Base64
 * images) but not per value or nesting level.
 */
export interface JsonBodyLimits {
  /** largest body in bytes (`--max-body-mb`, 413) */
  maxBytes: number;
  /** deepest nesting of arrays and objects (serde_json's recursion limit) */
  maxDepth: number;
  /** most values (array items and object members); real requests have a few dozen */
  maxValues: number;
  /** most bytes outside string literals (punctuation, numbers, whitespace) plus escaped quotes */
  maxStructureBytes: number;
}

export const DEFAULT_JSON_BODY_LIMITS: Readonly<Omit<JsonBodyLimits, 'maxBytes'>> = Object.freeze({
  maxDepth: 128,
  maxValues: 10_000,
  maxStructureBytes: 1024 * 1024,
});

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const EQUALS = 0x3d;
/**
 * String literals from this length on are cut out of the text JSON.parse sees (see `parseBody`):
 * every JS string above ~128 KB is a large-object allocation, which costs ~1 ms of CPU on this
 * project's machines, and a Base64 image used to be two of them (the body text and the parsed value).
 */
const LONG_STRING_BYTES = 16 * 1024;
// biome-ignore lint/suspicious/noControlCharactersInRegex: JSON forbids them raw in strings
const CONTROL_CHARACTER = /[\x00-\x1f]/;
/** Base64 decoded this many characters at a time: the strings stay small, each a multiple of 4 */
const BASE64_SLICE_CHARS = 64 * 1024;
const COMMA = 0x2c;
const isOpener = (byte: number) => byte === 0x5b || byte === 0x7b;
const isCloser = (byte: number) => byte === 0x5d || byte === 0x7d;
const isWhitespace = (byte: number) => byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d;

export function bodyTooLarge(maxBytes: number): ApiError {
  return new ApiError(413, `Request body is larger than the server's limit of ${maxBytes / 2 ** 20} MB (--max-body-mb)`);
}

/**
 * Checks a body's shape chunk by chunk as it arrives, so a hostile body is refused after its first
 * offending byte instead of after buffering it, and decodes it as UTF-8 on the way (the cost spread
 * over the upload). String contents are jumped over with Buffer.indexOf (native), so a 100 MB Base64
 * string costs microseconds here. Hand-written: the streaming JSON parsers on npm tokenise every byte
 * in JavaScript, costing more than the JSON.parse they would guard.
 */
class JsonShapeChecker {
  private depth = 0;
  private values = 0;
  private structureBytes = 0;
  private offset = 0;
  private inString = false;
  /** backslashes at the end of the previous chunk, inside a string */
  private carriedBackslashes = 0;
  /** where the current string literal's content starts (body offset) */
  private stringStart = 0;
  /** content ranges [start, end) of string literals of at least LONG_STRING_BYTES */
  readonly longStrings: Array<[number, number]> = [];
  empty = true;

  constructor(private readonly limits: JsonBodyLimits) {}

  private refuse(at: number, what: string): ApiError {
    const position = this.offset + at;
    return invalidJson(`${what} (refused before parsing, at byte ${position})`, position);
  }

  private countStructure(at: number, bytes: number, what: string): void {
    this.structureBytes += bytes;
    if (this.structureBytes > this.limits.maxStructureBytes) throw this.refuse(at, `more than ${this.limits.maxStructureBytes} ${what}`);
  }

  /** Backslashes right before `at` in this chunk, continuing into the previous chunk's tail. */
  private backslashesBefore(chunk: Buffer, at: number): number {
    let count = 0;
    while (at - 1 - count >= 0 && chunk[at - 1 - count] === BACKSLASH) count++;
    return count === at ? count + this.carriedBackslashes : count;
  }

  check(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.inString) {
        const quote = chunk.indexOf(QUOTE, i);
        if (quote === -1) break;
        const backslashes = this.backslashesBefore(chunk, quote);
        i = quote + 1;
        if (backslashes % 2 === 0) {
          this.inString = false;
          const end = this.offset + quote;
          if (end - this.stringStart >= LONG_STRING_BYTES) this.longStrings.push([this.stringStart, end]);
        } else this.countStructure(quote, backslashes + 1, 'bytes of escaped quotes and JSON structure');
        continue;
      }
      const byte = chunk[i]!;
      if (!isWhitespace(byte)) this.empty = false;
      if (byte === QUOTE) {
        this.inString = true;
        this.carriedBackslashes = 0;
        this.stringStart = this.offset + i + 1;
      } else {
        this.countStructure(i, 1, 'bytes outside strings (whitespace, numbers and punctuation)');
        if (isOpener(byte)) {
          if (++this.depth > this.limits.maxDepth)
            throw this.refuse(i, `arrays and objects nested deeper than ${this.limits.maxDepth} levels`);
          this.values++;
        } else if (isCloser(byte)) {
          this.depth--;
        } else if (byte === COMMA) {
          this.values++;
        }
        if (this.values > this.limits.maxValues) throw this.refuse(i, `more than ${this.limits.maxValues} array items and object members`);
      }
      i++;
    }
    if (this.inString) this.carriedBackslashes = this.backslashesBefore(chunk, chunk.length);
    this.offset += chunk.length;
  }
}

/**
 * A JSON body whose input file (the endpoint's `field`, e.g. `image`) was canonical Base64: the field
 * holds `placeholder`, and `bytes` are the decoded file, as an upload's (see `uploads.ts`).
 */
export class JsonBodyWithFile {
  constructor(
    readonly value: Record<string, unknown>,
    readonly placeholder: string,
    readonly bytes: Uint8Array,
  ) {}
}

/**
 * A request body read as JSON the way FastAPI reads it (UTF-8, a leading BOM allowed), refused as soon
 * as it breaks a limit. Errors are PaddleX envelopes: 413 over --max-body-mb, 400 for bytes that are not
 * UTF-8 (FastAPI's "There was an error parsing the body"), 422 `json_invalid` for text that is not
 * acceptable JSON. An empty body is `undefined`. With `fileField`, a top-level string of that name that
 * is canonical Base64 is decoded straight from the body's bytes (a `JsonBodyWithFile`): the HTTP
 * process then never holds the image as a string.
 */
export function readJsonBody(stream: Readable, declaredLength: number, limits: JsonBodyLimits, fileField?: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    if (declaredLength > limits.maxBytes) return reject(bodyTooLarge(limits.maxBytes));
    const checker = new JsonShapeChecker(limits);
    const chunks: Buffer[] = [];
    let received = 0;
    /** why the body is refused; the rest is then read and dropped, and the answer sent at its end */
    let refusal: ApiError | undefined;
    const finish = (settle: () => void) => {
      stream.off('data', onData).off('end', onEnd).off('error', onError);
      settle();
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      // over the size limit: answered at once (the connection is then closed, as fastify does)
      if (received > limits.maxBytes) return finish(() => reject(bodyTooLarge(limits.maxBytes)));
      if (refusal) return;
      try {
        checker.check(chunk);
        chunks.push(chunk);
      } catch (err) {
        refusal = err as ApiError;
        chunks.length = 0;
      }
    };
    // Answering before the client has sent everything would make Node close the socket under it, and
    // most clients then report a broken pipe instead of the answer.
    const onEnd = () =>
      finish(() => {
        if (refusal) return reject(refusal);
        try {
          const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received);
          resolve(checker.empty ? undefined : parseBody(body, checker.longStrings, fileField));
        } catch (err) {
          reject(err);
        }
      });
    const onError = (err: Error) => finish(() => reject(new ApiError(400, `The request body could not be read (${err.message})`)));
    stream.on('data', onData).once('end', onEnd).once('error', onError);
  });
}

/** Text of body bytes; fatal: invalid UTF-8 is an error, not U+FFFD; a leading BOM is dropped as Python's json does. */
function utf8Text(bytes: Buffer, at: number, keepBom: boolean): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: keepBom }).decode(bytes);
  } catch {
    throw notUtf8(at);
  }
}

function parseText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    const position = /at position (\d+)/.exec(message);
    throw invalidJson(message, position ? Number(position[1]) : 0);
  }
}

/**
 * JSON.parse of the body with its long ASCII string literals (without escapes) left out: each is
 * replaced by a placeholder that no client can send, and put back as a string afterwards, except a
 * canonical Base64 top-level `fileField`, which is decoded from the bytes. A body that does not parse
 * this way is parsed whole, for the error position JSON.parse reports.
 */
function parseBody(body: Buffer, longStrings: Array<[number, number]>, fileField: string | undefined): unknown {
  const cut = longStrings.filter(([start, end]) => {
    const content = body.subarray(start, end);
    return content.indexOf(BACKSLASH) === -1 && isAscii(content);
  });
  if (!cut.length) return parseText(utf8Text(body, 0, false));
  const marker = `\0pipeserve-long-string:${randomUUID()}:`;
  const parts: string[] = [];
  let at = 0;
  for (const [index, [start, end]] of cut.entries()) {
    parts.push(utf8Text(body.subarray(at, start), at, at > 0), JSON.stringify(`${marker}${index}`).slice(1, -1));
    at = end;
  }
  parts.push(utf8Text(body.subarray(at), at, true));
  let value: unknown;
  try {
    value = JSON.parse(parts.join(''));
  } catch {
    return parseText(utf8Text(body, 0, false));
  }
  const rangeOf = (placeholder: string) => cut[Number(placeholder.slice(marker.length))]!;
  let file: JsonBodyWithFile | undefined;
  if (fileField && value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const fields = value as Record<string, unknown>;
    const placeholder = fields[fileField];
    if (typeof placeholder === 'string' && placeholder.startsWith(marker)) {
      const bytes = decodeCanonicalBase64(body.subarray(...rangeOf(placeholder)));
      if (bytes) file = new JsonBodyWithFile(fields, placeholder, bytes);
    }
  }
  const original = (placeholder: string) => {
    const text = body.toString('latin1', ...rangeOf(placeholder));
    // a raw control character makes the body invalid JSON: parsed whole, it is refused with its position
    if (CONTROL_CHARACTER.test(text)) parseText(utf8Text(body, 0, false));
    return text;
  };
  // every other cut string is put back
  const restore = (v: unknown): unknown => {
    if (typeof v === 'string') return v.startsWith(marker) && v !== file?.placeholder ? original(v) : v;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) v[i] = restore(v[i]);
    } else if (v !== null && typeof v === 'object') {
      const members = v as Record<string, unknown>;
      for (const key of Object.keys(members)) members[key] = restore(members[key]);
    }
    return v;
  };
  restore(value);
  return file ?? value;
}

/**
 * Padded Base64 (standard or URL-safe alphabet) decoded from ASCII bytes, a slice at a time; undefined
 * for anything else (whitespace, a data: prefix, junk, missing padding), which then goes through
 * `decodeBase64` as a string, with its checks and messages. Node's decoder skips characters outside
 * the alphabet and stops at a misplaced '=', so the output has the length the input's length and
 * padding predict only when every character was a data character (as decodeBase64's fast path).
 */
function decodeCanonicalBase64(ascii: Buffer): Uint8Array | undefined {
  const length = ascii.length;
  if (length % 4 !== 0) return undefined;
  const padding = ascii[length - 1] === EQUALS ? (ascii[length - 2] === EQUALS ? 2 : 1) : 0;
  const expected = (length / 4) * 3 - padding;
  if (expected <= 0) return undefined;
  const out = Buffer.allocUnsafe(expected);
  let written = 0;
  for (let at = 0; at < length; at += BASE64_SLICE_CHARS) {
    written += out.write(ascii.toString('latin1', at, Math.min(length, at + BASE64_SLICE_CHARS)), written, 'base64');
  }
  return written === expected ? new Uint8Array(out.buffer, out.byteOffset, out.length) : undefined;
}

function notUtf8(chunkStart: number): ApiError {
  return new ApiError(400, `There was an error parsing the body: it is not valid UTF-8 text (in the bytes from ${chunkStart} on)`);
}
