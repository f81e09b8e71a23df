/**
 * PaddleX's formula post-processes (formula_recognition/processors.py): token ids → text with the
 * model's Hugging Face tokenizer (from `PostProcess.character_dict` of inference.yml), then LaTeX
 * clean-up. `UniMERNetDecode` serves UniMERNet and the PP-FormulaNet models, `LaTeXOCRDecode` LaTeX_OCR_rec.
 *
 * The regular expressions are Python's, translated with Python's Unicode classes (`\s`, `\w`, `\d`
 * of `str` patterns differ from JavaScript's).
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { fixText } from '../ops/fixText.js';

/** Python's `\s` for str patterns (str.isspace). */
const SPACE = '[\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]';
/** Python's `[\W_^\d]`: a non-word character, `_`, `^` or a decimal digit. */
const NO_LETTER = '(?:[^\\p{L}\\p{N}_]|[_^\\p{Nd}])';
const LETTER = '[a-zA-Z]';
/** PaddleX's text_reg: `\operatorname {…}`, `\mathrm {…}`, `\text {…}`, `\mathbf {…}` (with a space before the brace). */
const TEXT_COMMAND = `(\\\\(operatorname|mathrm|text|mathbf)${SPACE}?\\*? \\{[^\\n]*?\\})`;
const textCommands = () => new RegExp(TEXT_COMMAND, 'gu');

/** Python's str.strip(). */
function pyStrip(s: string): string {
  return s.replace(new RegExp(`^${SPACE}+|${SPACE}+$`, 'gu'), '');
}

const SPACE_RULES = [
  new RegExp(`(?!\\\\ )(${NO_LETTER})${SPACE}+?(${NO_LETTER})`, 'gu'),
  new RegExp(`(?!\\\\ )(${NO_LETTER})${SPACE}+?(${LETTER})`, 'gu'),
  new RegExp(`(${LETTER})${SPACE}+?(${NO_LETTER})`, 'gu'),
];

/** The loop both decoders end with: drop spaces between non-letters and next to them, until nothing changes. */
function dropInnerSpaces(text: string): string {
  let s = text;
  for (;;) {
    const next = SPACE_RULES.reduce((acc, rule) => acc.replace(rule, '$1$2'), s);
    if (next === s) return s;
    s = next;
  }
}

/** Replaces each text-command match, in order, with the next of `replacements` (Python's `re.sub` with `names.pop(0)`). */
function replaceTextCommands(s: string, replacements: string[]): string {
  return s.replace(textCommands(), () => {
    const next = replacements.shift();
    if (next === undefined) throw new Error('formula normalisation: more text commands than replacements');
    return next;
  });
}

/**
 * LaTeXOCRDecode.post_process: the spaces inside each text command are removed, then
 * dropInnerSpaces. Worked example: `\mathrm {d} x + 1` → `\mathrm{d}x+1`.
 */
export function normalizeLatexOcr(text: string): string {
  const names = [...text.matchAll(textCommands())].map((m) => m[1]!.replaceAll(' ', ''));
  return dropInnerSpaces(replaceTextCommands(text, names));
}

const PROTECTED_COMMANDS = ['\\operatorname', '\\mathrm', '\\text', '\\mathbf'];
const MARK = 'XXXXXXX';

/**
 * UniMERNetDecode.normalize, as PaddleX 3.x writes it. Inside a text command, a command followed by a
 * space and a word character (`\mathrm {\alpha x}`) is marked and every space of the whole formula is
 * removed (the mark becomes a space again at the end); then dropInnerSpaces. Worked examples:
 * `\frac { a } { b }` → `\frac{a}{b}`; `\mathrm { \alpha x }` → `\mathrm{\alpha x}`.
 */
export function normalizeUniMERNet(text: string): string {
  let s = text;
  const names: string[] = [];
  for (const match of text.matchAll(textCommands())) {
    // Python's re.findall with one group: the group (empty when the second alternative matched)
    const inner = [...match[1]!.matchAll(new RegExp(`(\\\\[a-zA-Z]+)${SPACE}(?=[\\p{L}\\p{N}_])|\\\\[a-zA-Z]+${SPACE}(?=\\})`, 'gu'))];
    for (const m of inner.map((x) => x[1] ?? '')) {
      if (!PROTECTED_COMMANDS.includes(m) && pyStrip(m) !== '') {
        s = s.replaceAll(m, m + MARK).replaceAll(' ', '');
        names.push(s);
      }
    }
  }
  if (names.length > 0) s = replaceTextCommands(s, names);
  return dropInnerSpaces(s).replaceAll(MARK, ' ');
}

/** UniMERNetDecode.remove_chinese_text_wrapping: `\text{…}` holding CJK ideographs is unwrapped, then every `"` removed. */
export function removeChineseTextWrapping(formula: string): string {
  const wrapped = new RegExp(`\\\\text${SPACE}*\\{${SPACE}*([^}]*?[\\u4e00-\\u9fff]+[^}]*?)${SPACE}*\\}`, 'gu');
  return formula.replace(wrapped, '$1').replaceAll('"', '');
}

/** The Hugging Face tokenizer files as PaddleX's inference.yml embeds them. */
export interface TokenizerFiles {
  /** tokenizer.json */
  tokenizer: Record<string, any>;
  /** tokenizer_config.json (UniMERNetDecode only) */
  tokenizerConfig?: Record<string, any>;
}

/** The special tokens UniMERNetDecode registers on top of the tokenizer's own. */
const UNIMERNET_SPECIAL_TOKENS = ['<unk>', '<s>', '</s>', '<pad>'];
const UNIMERNET_EOS_ID = 2;

/**
 * A tokenizer decoding as the Rust `tokenizers` library's `Tokenizer.decode(ids, skip_special_tokens=True)`:
 * ids the vocabulary lacks are skipped, special tokens dropped, the tokenizer's decoder applied (tokens
 * joined by spaces when it has none), and no `clean_up_tokenization_spaces`.
 */
class TokenDecoder {
  private readonly tokenizer: Tokenizer;

  constructor(files: TokenizerFiles, extraSpecialTokens: string[]) {
    const json = structuredClone(files.tokenizer);
    json.added_tokens = [...(json.added_tokens ?? [])];
    const known = new Set(json.added_tokens.map((t: { content: string }) => t.content));
    // tokenizer_config's added_tokens_decoder: added as PaddleX's UniMERNetDecode adds them (at their ids)
    for (const [id, token] of Object.entries<Record<string, any>>(files.tokenizerConfig?.added_tokens_decoder ?? {})) {
      if (known.has(token.content)) continue;
      json.added_tokens.push({
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: false,
        ...token,
        id: Number(id),
      });
      known.add(token.content);
    }
    const specials = [
      ...json.added_tokens.filter((t: { special?: boolean }) => t.special).map((t: { content: string }) => t.content),
      ...extraSpecialTokens,
    ];
    this.tokenizer = new Tokenizer(json, { additional_special_tokens: specials, clean_up_tokenization_spaces: false });
  }

  decode(ids: readonly number[]): string {
    const known = ids.filter((id) => this.tokenizer.id_to_token(id) !== undefined);
    return known.length ? this.tokenizer.decode(known, { skip_special_tokens: true, clean_up_tokenization_spaces: false }) : '';
  }
}

/** A formula post-process: one row of token ids → the LaTeX string. */
export interface FormulaDecoder {
  decode(ids: readonly number[]): string;
}

/** PaddleX's UniMERNetDecode (UniMERNet, PP-FormulaNet, PP-FormulaNet_plus). */
export class UniMERNetDecoder implements FormulaDecoder {
  private readonly tokens: TokenDecoder;

  constructor(files: TokenizerFiles) {
    this.tokens = new TokenDecoder(files, UNIMERNET_SPECIAL_TOKENS);
  }

  /** token2str: up to and including the first `</s>` (id 2), decoded, then post_process. */
  decode(ids: readonly number[]): string {
    const end = ids.indexOf(UNIMERNET_EOS_ID);
    const text = this.tokens.decode(end >= 0 ? ids.slice(0, end + 1) : ids);
    return normalizeUniMERNet(fixText(removeChineseTextWrapping(text)));
  }
}

/** PaddleX's LaTeXOCRDecode (LaTeX_OCR_rec). */
export class LatexOcrDecoder implements FormulaDecoder {
  private readonly tokens: TokenDecoder;

  constructor(files: TokenizerFiles) {
    this.tokens = new TokenDecoder(files, []);
  }

  /** All ids decoded, spaces removed, `Ġ` turned into spaces, [EOS]/[BOS]/[PAD] removed, stripped, then post_process. */
  decode(ids: readonly number[]): string {
    const text = this.tokens
      .decode(ids)
      .split(' ')
      .join('')
      .replaceAll('Ġ', ' ')
      .replaceAll('[EOS]', '')
      .replaceAll('[BOS]', '')
      .replaceAll('[PAD]', '');
    return normalizeLatexOcr(pyStrip(text));
  }
}
