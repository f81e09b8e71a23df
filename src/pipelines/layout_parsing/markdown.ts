/**
 * PP-StructureV3's Markdown: PaddleX's LayoutParsingResultV2._to_markdown (pretty) with its block
 * formatters (build_handle_funcs_dict) and MarkdownConverter.convert (paragraph continuity by
 * get_seg_flag), and the pipeline's concatenate_markdown_pages.
 */
import { type LayoutBlock, segFlags } from './blocks.js';

/** Which sub-recognisers ran: without one, its blocks are shown as images. */
export interface MarkdownSettings {
  useSealRecognition: boolean;
  useTableRecognition: boolean;
  useFormulaRecognition: boolean;
  useChartRecognition: boolean;
  markdownIgnoreLabels: readonly string[];
}

export interface PageMarkdown {
  text: string;
  /** relative image path → the block box it is cropped from */
  images: Map<string, [number, number, number, number]>;
  isStart: boolean;
  isEnd: boolean;
}

const CHINESE_NUMERALS = '一二三四五六七八九十百千万亿零壹贰叁肆伍陆柒捌玖拾';
// PaddleX's TITLE_RE_PATTERN; Python's `$` also matches before a final newline, hence the lookahead.
const TITLE_PATTERN = new RegExp(
  `^\\s*((?:[1-9][0-9]*(?:\\.[1-9][0-9]*)*[\\.、]?|[\\(\\（](?:[1-9][0-9]*|[${CHINESE_NUMERALS}]+)[\\)\\）]|` +
    `[${CHINESE_NUMERALS}]+[、\\.]?|(?:I|II|III|IV|V|VI|VII|VIII|IX|X)(?:\\.|\\s)))(\\s*)(.*)(?=\\n?$)`,
);

const joinLines = (text: string) => text.replaceAll('-\n', '').replaceAll('\n', ' ');

/** PaddleX's format_title_func: numbering separated by one space, `#` per dot level (plus one). */
export function formatTitle(content: string): string {
  let title = content;
  const match = TITLE_PATTERN.exec(title);
  if (match) title = `${match[1]!.trim()} ${match[3]!.trimStart()}`;
  title = title.replace(/\.+$/, '');
  const level = title.includes('.') ? title.split('.').length : 1;
  return joinLines(`#${'#'.repeat(level)} ${title}`);
}

const centred = (text: string) => `<div style="text-align: center;">${joinLines(text)}</div>\n`;

/** PaddleX's format_first_line_func (abstract and reference headings). */
function formatFirstLine(content: string, templates: string[], format: (line: string) => string, splitter: string): string {
  const lines = content.split(splitter);
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() === '') continue;
    if (templates.includes(lines[i]!.toLowerCase())) lines[i] = format(lines[i]!);
    break;
  }
  return lines.join(splitter);
}

const paragraphs = (content: string) => content.replaceAll('\n\n', '\n').replaceAll('\n', '\n\n');
/** Python's str.strip("\n"). */
const stripNewlines = (text: string) => text.replace(/^\n+|\n+$/g, '');

type Formatter = (block: LayoutBlock) => string;

function formatters(s: MarkdownSettings, pageWidth: number): Map<string, Formatter> {
  const text: Formatter = (b) => centred(b.content);
  const image: Formatter = (b) => {
    if (!b.image) return '';
    const scale = Math.trunc(((b.bbox[2]! - b.bbox[0]!) / pageWidth) * 100);
    return centred(`<img src="${joinLines(b.image.path)}" alt="Image" width="${scale}%" />`);
  };
  const plainImage: Formatter = (b) => (b.image ? `![](${joinLines(b.image.path)})` : '');
  const plain: Formatter = (b) => b.content;
  const seal: Formatter = s.useSealRecognition ? (b) => [image(b), text(b)].join('\n') : image;
  const table: Formatter = s.useTableRecognition ? (b) => `\n${text(b).replaceAll('<table>', '<table border="1">')}` : image;
  const formula: Formatter = s.useFormulaRecognition ? (b) => `$$${b.content}$$` : image;
  const title: Formatter = (b) => formatTitle(b.content);
  // PaddleX's format_para_title: a title given a level (titleLevel.ts) gets level + 1 `#`, as written
  const paragraphTitle: Formatter = (b) => (b.titleLevel === undefined ? title(b) : joinLines(`#${'#'.repeat(b.titleLevel)} ${b.content}`));
  const entries: Array<[string, Formatter]> = [
    ['paragraph_title', paragraphTitle],
    ['abstract_title', title],
    ['reference_title', title],
    ['content_title', title],
    ['doc_title', (b) => joinLines(`# ${b.content}`)],
    ['table_title', text],
    ['figure_title', text],
    ['chart_title', text],
    ['vision_footnote', (b) => paragraphs(b.content)],
    ['text', (b) => paragraphs(b.content)],
    ['ocr', (b) => paragraphs(b.content)],
    ['vertical_text', (b) => paragraphs(b.content)],
    ['reference_content', (b) => paragraphs(b.content)],
    ['abstract', (b) => formatFirstLine(b.content, ['摘要', 'abstract'], (l) => `## ${l}\n`, ' ')],
    ['content', (b) => b.content.replaceAll('-\n', '  \n').replaceAll('\n', '  \n')],
    ['image', image],
    // chart recognition never runs here (PP-Chart2Table): charts stay images
    ['chart', image],
    ['formula', formula],
    ['display_formula', formula],
    ['inline_formula', formula],
    ['table', table],
    ['reference', (b) => formatFirstLine(b.content, ['参考文献', 'references'], (l) => `## ${l}`, '\n')],
    ['algorithm', (b) => stripNewlines(b.content)],
    ['seal', seal],
    ['spotting', plain],
    ['number', plain],
    ['footnote', plain],
    ['header', plain],
    ['header_image', plainImage],
    ['footer', plain],
    ['footer_image', plainImage],
    ['aside_text', plain],
  ];
  const map = new Map(entries);
  for (const label of s.markdownIgnoreLabels) map.delete(label);
  return map;
}

/** A block's content as its Markdown formatter writes it (PaddleX's `format_block_content`). */
export function formatBlockContent(block: LayoutBlock, s: MarkdownSettings, pageWidth: number): string {
  const format = formatters(s, pageWidth).get(block.label);
  return format ? format(block) : block.content;
}

/** One page's Markdown, its images and whether it starts / ends mid-paragraph. */
export function pageMarkdown(blocks: LayoutBlock[], s: MarkdownSettings, pageWidth: number): PageMarkdown {
  const handlers = formatters(s, pageWidth);
  let text = '';
  const images = new Map<string, [number, number, number, number]>();
  let lastLabel: string | null = null;
  let prev: LayoutBlock | null = null;
  let segStart = true;
  let segEnd = true;
  let pageStart: boolean | null = null;
  for (const block of blocks) {
    if (block.image) images.set(block.image.path, block.image.box);
    [segStart, segEnd] = segFlags(block, prev);
    pageStart ??= segStart;
    const format = handlers.get(block.label);
    if (!format) continue;
    prev = block;
    if (block.label === 'text' && lastLabel === 'text' && segStart === false) text += format(block);
    else text += text ? `\n\n${format(block)}` : format(block);
    lastLabel = block.label;
  }
  return { text, images, isStart: pageStart ?? true, isEnd: segEnd };
}

export { concatenatePages } from '../shared/markdownPages.js';
