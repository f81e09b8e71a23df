/**
 * langchain's RecursiveCharacterTextSplitter as PaddleX's retriever configures it (chunk_size =
 * blockSize, chunk_overlap 20, separators ["\t", "\n", "。", "\n\n", ""], separators kept at the
 * start of the following piece, pieces stripped of whitespace). Hand-written rather than
 * @langchain/textsplitters: the JS port counts UTF-16 units where Python counts code points, so its
 * chunks differ from PaddleX's on any text with characters outside the BMP.
 */
import { pythonLen, pythonStripWhitespace } from './pythonText.js';

export const PADDLEX_SEPARATORS = ['\t', '\n', '。', '\n\n', ''] as const;
export const PADDLEX_CHUNK_OVERLAP = 20;

/** Python's re.split with the separator captured, separators joined to the piece after them, empty pieces dropped. */
function splitKeepingSeparator(text: string, separator: string): string[] {
  if (!separator) return [...text];
  const parts = text.split(separator);
  const pieces = [parts[0]!, ...parts.slice(1).map((part) => separator + part)];
  return pieces.filter((piece) => piece !== '');
}

function joinDocs(pieces: string[], separator: string): string | undefined {
  const text = pythonStripWhitespace(pieces.join(separator));
  return text === '' ? undefined : text;
}

function mergeSplits(splits: string[], separator: string, chunkSize: number, overlap: number): string[] {
  const separatorLen = pythonLen(separator);
  const docs: string[] = [];
  let current: string[] = [];
  let total = 0;
  for (const piece of splits) {
    const len = pythonLen(piece);
    if (total + len + (current.length > 0 ? separatorLen : 0) > chunkSize) {
      if (current.length > 0) {
        const doc = joinDocs(current, separator);
        if (doc !== undefined) docs.push(doc);
        while (total > overlap || (total + len + (current.length > 0 ? separatorLen : 0) > chunkSize && total > 0)) {
          total -= pythonLen(current[0]!) + (current.length > 1 ? separatorLen : 0);
          current = current.slice(1);
        }
      }
    }
    current.push(piece);
    total += len + (current.length > 1 ? separatorLen : 0);
  }
  const doc = joinDocs(current, separator);
  if (doc !== undefined) docs.push(doc);
  return docs;
}

function splitRecursive(text: string, separators: readonly string[], chunkSize: number, overlap: number): string[] {
  let separator = separators[separators.length - 1]!;
  let rest: readonly string[] = [];
  for (const [i, candidate] of separators.entries()) {
    if (candidate === '') {
      separator = candidate;
      break;
    }
    if (text.includes(candidate)) {
      separator = candidate;
      rest = separators.slice(i + 1);
      break;
    }
  }
  const chunks: string[] = [];
  let good: string[] = [];
  // separators are kept on the pieces, so pieces merge with no separator between them
  for (const piece of splitKeepingSeparator(text, separator)) {
    if (pythonLen(piece) < chunkSize) {
      good.push(piece);
      continue;
    }
    if (good.length) {
      chunks.push(...mergeSplits(good, '', chunkSize, overlap));
      good = [];
    }
    if (rest.length) chunks.push(...splitRecursive(piece, rest, chunkSize, overlap));
    else chunks.push(piece);
  }
  if (good.length) chunks.push(...mergeSplits(good, '', chunkSize, overlap));
  return chunks;
}

export function splitText(
  text: string,
  chunkSize: number,
  overlap = PADDLEX_CHUNK_OVERLAP,
  separators: readonly string[] = PADDLEX_SEPARATORS,
): string[] {
  return splitRecursive(text, separators, chunkSize, overlap);
}
