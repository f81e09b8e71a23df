import { isUtf8 } from 'node:buffer';
import { ApiError } from '../../errors.js';
import { invalidJson } from '../validation.js';

/**
 * What a request body's JSON may cost to parse. JSON.parse runs on the HTTP thread, so its cost must
 * be bounded by what the body looks like before it runs, not only by the body's size: parsing is cheap
 * per byte of string content (Base64 images) but not per value or nesting level.
 */
export interface JsonBodyLimits {
  /** deepest nesting of arrays and objects (serde_json's recursion limit) */
  maxDepth: number;
  /** most values (array items and object members); real requests have a few dozen */
  maxValues: number;
  /** most bytes outside string literals (punctuation, numbers, whitespace, escaped quotes) */
  maxStructureBytes: number;
}

export const DEFAULT_JSON_BODY_LIMITS: Readonly<JsonBodyLimits> = Object.freeze({
  maxDepth: 128,
  maxValues: 10_000,
  maxStructureBytes: 1024 * 1024,
});

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPENERS = new Set([0x5b, 0x7b]);
const CLOSERS = new Set([0x5d, 0x7d]);
const COMMA = 0x2c;
const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);
const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

function tooCostly(position: number, what: string): ApiError {
  return invalidJson(`${what} (rejected before parsing at byte ${position})`, position);
}

/**
 * Check the body's shape against the limits in one pass that jumps over string contents with
 * Buffer.indexOf (native), so a 100 MB Base64 string costs microseconds here. Hand-written because
 * the streaming JSON parsers on npm run in JavaScript and cost more than the JSON.parse they guard.
 * Returns false when the body has nothing but whitespace.
 */
function checkShape(body: Buffer, limits: JsonBodyLimits): boolean {
  let depth = 0;
  let values = 0;
  let structureBytes = 0;
  let empty = true;
  for (let i = 0; i < body.length; i++) {
    const byte = body[i]!;
    if (byte === QUOTE) {
      empty = false;
      // find the closing quote: one preceded by an even number of backslashes
      for (;;) {
        const next = body.indexOf(QUOTE, i + 1);
        if (next === -1) return true; // unterminated: JSON.parse says so
        let backslashes = 0;
        while (body[next - 1 - backslashes] === BACKSLASH) backslashes++;
        i = next;
        if (backslashes % 2 === 0) break;
        structureBytes += backslashes + 1;
        if (structureBytes > limits.maxStructureBytes) {
          throw tooCostly(i, `more than ${limits.maxStructureBytes} bytes of escaped quotes and JSON structure`);
        }
      }
      continue;
    }
    if (++structureBytes > limits.maxStructureBytes) {
      throw tooCostly(i, `more than ${limits.maxStructureBytes} bytes outside strings (whitespace, numbers and punctuation)`);
    }
    if (WHITESPACE.has(byte)) continue;
    empty = false;
    if (OPENERS.has(byte)) {
      if (++depth > limits.maxDepth) throw tooCostly(i, `arrays and objects nested deeper than ${limits.maxDepth} levels`);
      values++;
    } else if (CLOSERS.has(byte)) {
      depth--;
    } else if (byte === COMMA) {
      values++;
    }
    if (values > limits.maxValues) throw tooCostly(i, `more than ${limits.maxValues} array items and object members`);
  }
  return !empty;
}

/**
 * A request body as JSON, read as FastAPI does (UTF-8, a leading BOM allowed), after checking what it
 * would cost to parse. Errors are PaddleX envelopes: 400 for bytes that are not text (FastAPI's
 * "There was an error parsing the body"), 422 `json_invalid` for text that is not acceptable JSON.
 * An empty body is `undefined`.
 */
export function parseJsonBody(raw: Buffer, limits: JsonBodyLimits = DEFAULT_JSON_BODY_LIMITS): unknown {
  const body = raw.subarray(0, 3).equals(UTF8_BOM) ? raw.subarray(3) : raw;
  if (!isUtf8(body)) throw new ApiError(400, 'There was an error parsing the body: it is not valid UTF-8 text');
  if (!checkShape(body, limits)) return undefined;
  const text = body.toString('utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    const position = /at position (\d+)/.exec(message);
    throw invalidJson(message, position ? Number(position[1]) : 0);
  }
}
