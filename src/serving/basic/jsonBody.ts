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
        if (backslashes % 2 === 0) this.inString = false;
        else this.countStructure(quote, backslashes + 1, 'bytes of escaped quotes and JSON structure');
        continue;
      }
      const byte = chunk[i]!;
      if (!isWhitespace(byte)) this.empty = false;
      if (byte === QUOTE) {
        this.inString = true;
        this.carriedBackslashes = 0;
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
 * A request body read as JSON the way FastAPI reads it (UTF-8, a leading BOM allowed), refused as soon
 * as it breaks a limit. Errors are PaddleX envelopes: 413 over --max-body-mb, 400 for bytes that are not
 * UTF-8 (FastAPI's "There was an error parsing the body"), 422 `json_invalid` for text that is not
 * acceptable JSON. An empty body is `undefined`.
 */
export function readJsonBody(stream: Readable, declaredLength: number, limits: JsonBodyLimits): Promise<unknown> {
  return new Promise((resolve, reject) => {
    if (declaredLength > limits.maxBytes) return reject(bodyTooLarge(limits.maxBytes));
    const checker = new JsonShapeChecker(limits);
    // fatal: invalid UTF-8 is an error, not U+FFFD; the BOM is dropped as Python's json does
    const decoder = new TextDecoder('utf-8', { fatal: true });
    const parts: string[] = [];
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
        parts.push(decoder.decode(chunk, { stream: true }));
      } catch (err) {
        refusal = err instanceof ApiError ? err : notUtf8(received - chunk.length);
        parts.length = 0;
      }
    };
    // Answering before the client has sent everything would make Node close the socket under it, and
    // most clients then report a broken pipe instead of the answer.
    const onEnd = () =>
      finish(() => {
        if (refusal) return reject(refusal);
        try {
          parts.push(decoder.decode());
        } catch {
          return reject(notUtf8(received));
        }
        if (checker.empty) return resolve(undefined);
        try {
          resolve(JSON.parse(parts.join('')));
        } catch (err) {
          const message = (err as Error).message;
          const position = /at position (\d+)/.exec(message);
          reject(invalidJson(message, position ? Number(position[1]) : 0));
        }
      });
    const onError = (err: Error) => finish(() => reject(new ApiError(400, `The request body could not be read (${err.message})`)));
    stream.on('data', onData).once('end', onEnd).once('error', onError);
  });
}

function notUtf8(chunkStart: number): ApiError {
  return new ApiError(400, `There was an error parsing the body: it is not valid UTF-8 text (in the bytes from ${chunkStart} on)`);
}
