/**
 * PaddleX's PP-DocTranslation translate stage (pipeline.py `translate` / `chunk_translate`, utils.py
 * `split_original_texts`, `split_text_recursive`, `translate_code_block`, `translate_html_block`):
 * the Markdown cut into paragraphs, code blocks and HTML blocks, paragraphs packed into chunks below
 * `chunkSize` code points, each chunk one LLM call, the answers joined back. Lengths are Python's
 * (code points); the LLM is called one chunk at a time, in PaddleX's order.
 */
import {
  elementsNamed,
  enclosing,
  type HtmlElement,
  type HtmlNode,
  type HtmlText,
  parseHtml,
  plainText,
  printChildren,
  printNode,
  replaceChildren,
  replaceWithText,
  textNodes,
} from './htmlTree.js';
import { pythonLen, pythonStripWhitespace as strip } from '../shared/llm/pythonText.js';

/** One call of the LLM on one piece of text: its translation. */
export type TranslateChunk = (text: string) => Promise<string>;

export interface MarkdownBlock {
  type: 'text' | 'code' | 'html';
  content: string;
}

const CODE_BLOCK = /```[\s\S]*?\n[\s\S]*?```|~~~[\s\S]*?\n[\s\S]*?~~~/g;

function paragraphs(text: string): MarkdownBlock[] {
  return text
    .split(/\n{2,}/)
    .filter((p) => strip(p))
    .map((p) => ({ type: 'text', content: strip(p) }));
}

/** PaddleX's split_and_append_text: fenced code blocks, and the paragraphs (blank-line separated) around them. */
function splitCodeAndParagraphs(text: string): MarkdownBlock[] {
  if (!strip(text)) return [];
  const blocks: MarkdownBlock[] = [];
  let last = 0;
  for (const match of text.matchAll(CODE_BLOCK)) {
    if (match.index > last) blocks.push(...paragraphs(text.slice(last, match.index)));
    blocks.push({ type: 'code', content: match[0] });
    last = match.index + match[0].length;
  }
  if (last < text.length) blocks.push(...paragraphs(text.slice(last)));
  return blocks;
}

/**
 * PaddleX's split_original_texts: each top-level HTML element is set aside behind a placeholder
 * (printed back as BeautifulSoup prints it), the rest split into code blocks and paragraphs, and a
 * block that held placeholders gets the HTML back and becomes an `html` block.
 */
export function splitMarkdown(markdown: string): MarkdownBlock[] {
  const htmlBlocks: string[] = [];
  let withPlaceholders = '';
  for (const node of parseHtml(markdown).children) {
    if (node.type === 'element') {
      withPlaceholders += `<<HTML_BLOCK_${htmlBlocks.length}>>`;
      htmlBlocks.push(printNode(node));
    } else {
      withPlaceholders += plainText(node);
    }
  }
  const blocks = splitCodeAndParagraphs(withPlaceholders);
  let next = 0;
  for (const block of blocks) {
    while (next < htmlBlocks.length && block.content.includes(`<<HTML_BLOCK_${next}>>`)) {
      block.content = block.content.split(`<<HTML_BLOCK_${next}>>`).join(htmlBlocks[next]!);
      block.type = 'html';
      next++;
    }
  }
  return blocks;
}

const SPLIT_CHARACTERS = new Set(['\n', '。', ';', '；', '!', '！', '?', '？']);
const AFTER_SENTENCE_DOT = new Set(['', ' ', '\t', '\n', '"', "'", '”', '’', ')', '】', '」', '》']);
const isAlpha = (ch: string) => /^\p{L}$/u.test(ch);
/** Python's str.isdigit: decimal digits and the superscript/subscript digits */
const isDigit = (ch: string) => /^[\p{Nd}\u00b2\u00b3\u00b9\u2070\u2074-\u2079\u2080-\u2089]$/u.test(ch);

/** PaddleX's _is_sentence_dot: a "." with no letter or digit either side, followed by an end of sentence. */
function isSentenceDot(points: readonly string[], i: number): boolean {
  if (points[i] !== '.') return false;
  const before = i > 0 ? points[i - 1]! : '';
  const after = points[i + 1] ?? '';
  if ((before && (isDigit(before) || isAlpha(before))) || (after && (isDigit(after) || isAlpha(after)))) return false;
  return AFTER_SENTENCE_DOT.has(after);
}

/** PaddleX's _find_split_pos: a sentence end from the middle forwards, then backwards, else a hard cut; [split, end of the whitespace after it]. */
function findSplit(points: readonly string[], chunkSize: number): [number, number] {
  const center = Math.floor(points.length / 2);
  const endOfWhitespace = (i: number) => {
    let j = i + 1;
    while (j < points.length && ' \t\n'.includes(points[j]!)) j++;
    return j;
  };
  const splitsAt = (i: number) => SPLIT_CHARACTERS.has(points[i]!) || isSentenceDot(points, i);
  for (let i = center; i < points.length; i++) {
    if (!splitsAt(i)) continue;
    const j = endOfWhitespace(i);
    if (j < points.length && j <= chunkSize) return [i, j];
  }
  for (let i = center; i > 0; i--) {
    if (!splitsAt(i)) continue;
    const j = endOfWhitespace(i);
    if (j <= chunkSize) return [i, j];
  }
  const cut = Math.min(chunkSize, points.length);
  return [cut, cut];
}

/** PaddleX's split_text_recursive: halves at sentence ends until each part fits; the split character and whitespace stay untranslated. */
export async function translateLongText(text: string, chunkSize: number, translate: TranslateChunk): Promise<string> {
  const stripped = strip(text);
  const points = [...stripped];
  if (points.length <= chunkSize) return translate(stripped);
  const [split, end] = findSplit(points, chunkSize);
  const left = points.slice(0, split).join('');
  const right = points.slice(end).join('');
  const leftText = left ? await translateLongText(left, chunkSize, translate) : '';
  const rightText = right ? await translateLongText(right, chunkSize, translate) : '';
  return leftText + points.slice(split, end).join('') + rightText;
}

const isFence = (line: string) => line.startsWith('```') || line.startsWith('~~~');

/** PaddleX's translate_code_block: the code between the fences translated (fences the LLM adds dropped), the fences kept. */
async function translateCodeBlock(code: string, chunkSize: number, translate: TranslateChunk): Promise<string> {
  const lines = strip(code).split('\n');
  let header = '';
  let footer = '';
  let content = code;
  if (isFence(lines[0]!)) {
    header = lines[0]!;
    footer = isFence(lines.at(-1)!) ? lines.at(-1)! : '';
    content = (footer ? lines.slice(1, -1) : lines.slice(1)).join('\n');
  }
  const translated = await translateLongText(content, chunkSize, translate);
  const kept = translated
    .split('\n')
    .filter((line) => !isFence(strip(line)))
    .join('\n');
  return header ? `${header}\n${kept}\n${footer}` : kept;
}

const count = (text: string, ch: string) => text.split(ch).length - 1;
const CELL_SEPARATOR = '__TD__';

/**
 * PaddleX's translate_html_block: a short simple block in one call; else the table cells in batches
 * (inner HTML joined by `__TD__`), then the other strings in batches sent as `<ol><li>…</li></ol>`.
 * Where PaddleX would loop forever (a cell or a string that alone exceeds the batch), that piece is
 * sent alone.
 */
async function translateHtmlBlock(html: string, chunkSize: number, translate: TranslateChunk): Promise<string> {
  const opening = count(html, '<');
  const closing = count(html, '>');
  if (opening < 5 && closing < 5 && opening === closing && pythonLen(html) < chunkSize) return translate(html);

  const soup = parseHtml(html);
  const cells: Array<{ cell: HtmlElement; text: string }> = [];
  const seen = new Set<HtmlNode>();
  for (const node of textNodes(soup)) {
    const cell = enclosing(node, ['td', 'th']);
    if (!cell || seen.has(cell)) continue;
    seen.add(cell);
    const text = strip(printChildren(cell));
    if (text) cells.push({ cell, text });
  }
  for (let i = 0; i < cells.length; ) {
    const batch = [cells[i++]!];
    let length = pythonLen(batch[0]!.text);
    while (i < cells.length && length + pythonLen(cells[i]!.text) <= chunkSize) {
      length += pythonLen(cells[i]!.text);
      batch.push(cells[i++]!);
    }
    const translated = (await translate(batch.map((c) => c.text).join(CELL_SEPARATOR))).split(CELL_SEPARATOR);
    batch.forEach(({ cell }, k) => {
      if (k < translated.length) replaceChildren(cell, parseHtml(translated[k]!));
    });
  }

  const strings = textNodes(soup).filter((node) => !enclosing(node, ['td', 'th']) && strip(node.data));
  const listOverhead = pythonLen('<ol></ol>');
  for (let i = 0; i < strings.length; ) {
    const batch: HtmlText[] = [];
    const items: string[] = [];
    let length = listOverhead;
    while (i < strings.length) {
      const text = strip(strings[i]!.data);
      if (pythonLen(text) > chunkSize) {
        replaceWithText(strings[i]!, await translateLongText(text, chunkSize, translate));
        i++;
        continue;
      }
      const item = `<li>${text}</li>`;
      if (batch.length && length + pythonLen(item) > chunkSize) break;
      batch.push(strings[i]!);
      items.push(item);
      length += pythonLen(item);
      i++;
    }
    if (!batch.length) continue;
    const answer = parseHtml(await translate(`<ol>${items.join('')}</ol>`));
    elementsNamed(answer, 'li').forEach((li, k) => {
      if (k < batch.length) replaceWithText(batch[k]!, printChildren(li));
    });
  }
  return printChildren(soup);
}

/**
 * PaddleX's chunk_translate: short paragraphs packed into chunks (joined by a blank line) while
 * they stay under `chunkSize`; code blocks, HTML blocks and long paragraphs translated on their own.
 */
export async function translateMarkdown(markdown: string, chunkSize: number, translate: TranslateChunk): Promise<string> {
  const results: string[] = [];
  let chunk = '';
  const flush = async () => {
    if (strip(chunk)) results.push(await translate(strip(chunk)));
    chunk = '';
  };
  for (const block of splitMarkdown(markdown)) {
    if (block.type === 'code') {
      await flush();
      results.push(await translateCodeBlock(block.content, chunkSize, translate));
    } else if (block.type === 'text' && pythonLen(block.content) < chunkSize) {
      if (pythonLen(chunk) + pythonLen(block.content) < chunkSize) {
        chunk += `\n\n${block.content}`;
      } else {
        await flush();
        chunk = block.content;
      }
    } else {
      await flush();
      results.push(
        block.type === 'text'
          ? await translateLongText(block.content, chunkSize, translate)
          : await translateHtmlBlock(block.content, chunkSize, translate),
      );
    }
  }
  await flush();
  return results.join('\n\n');
}

/** PaddleX's glossary text: `term: translation` per line, several translations joined by 或. */
export function glossaryText(glossary: Record<string, string | string[]>): string {
  return Object.entries(glossary)
    .map(([term, translation]) => `${term}: ${Array.isArray(translation) ? translation.join('或') : translation}\n`)
    .join('');
}
