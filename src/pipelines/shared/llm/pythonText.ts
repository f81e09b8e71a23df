/**
 * Python's text behaviour where PaddleX's prompts and answer parsing depend on it: `repr()` of a
 * list of strings (interpolated into KIE prompts), `len()` in code points, and `str.strip(chars)`.
 * Hand-written: no npm package reproduces CPython's repr rules exactly.
 */

/** Python's str.isprintable() is false for these categories (the ASCII space excepted). */
const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

function escapeCodePoint(cp: number): string {
  if (cp <= 0xff) return `\\x${cp.toString(16).padStart(2, '0')}`;
  if (cp <= 0xffff) return `\\u${cp.toString(16).padStart(4, '0')}`;
  return `\\U${cp.toString(16).padStart(8, '0')}`;
}

/** CPython's repr() of a str. */
export function pythonStrRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of text) {
    if (ch === quote || ch === '\\') out += `\\${ch}`;
    else if (ch === '\t') out += '\\t';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch !== ' ' && NON_PRINTABLE.test(ch)) out += escapeCodePoint(ch.codePointAt(0)!);
    else out += ch;
  }
  return out + quote;
}

/** CPython's repr() (= str()) of a list of str, e.g. `['发票号码', '金额']`. */
export function pythonListRepr(items: readonly string[]): string {
  return `[${items.map(pythonStrRepr).join(', ')}]`;
}

/** Python's len() of a str: code points, not UTF-16 units. */
export function pythonLen(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/** Python's str.strip(chars): removes any of `chars` (a set of code points) from both ends. */
export function pythonStrip(text: string, chars: string): string {
  const set = new Set(chars);
  const points = [...text];
  let start = 0;
  let end = points.length;
  while (start < end && set.has(points[start]!)) start++;
  while (end > start && set.has(points[end - 1]!)) end--;
  return points.slice(start, end).join('');
}

const PYTHON_SPACE = '[\\t\\n\\v\\f\\r \\x1c-\\x1f\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]';
const PYTHON_WHITESPACE_ENDS = new RegExp(`^${PYTHON_SPACE}+|${PYTHON_SPACE}+$`, 'g');

/** Python's str.strip() whitespace (str.isspace), as langchain and PaddleX's translation strip. */
export function pythonStripWhitespace(text: string): string {
  return text.replace(PYTHON_WHITESPACE_ENDS, '');
}
