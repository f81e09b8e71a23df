/**
 * The deterministic part of ftfy's `fix_text` (ftfy 6.3, default TextFixerConfig), which PaddleX's
 * UniMERNetDecode applies to every decoded formula. Hand-written: ftfy has no JavaScript port on npm.
 * Steps and their order are ftfy's `fix_and_explain`, repeated until the text stops changing:
 * unescape_html ("auto": only when the text has no "<"), fix_c1_controls, fix_latin_ligatures,
 * fix_character_width, uncurl_quotes, fix_line_breaks, fix_surrogates, remove_terminal_escapes,
 * remove_control_chars, then NFC. Not done: ftfy's mojibake repair (`fix_encoding` with
 * restore_byte_a0 / replace_lossy_sequences / decode_inconsistent_utf8), a heuristic over its own
 * badness tables, and the upper-case variants of named entities ftfy adds (`&EACUTE;`).
 */
import { decodeHTMLStrict } from 'entities';

/** ftfy's HTML_ENTITY_RE: an entity with its semicolon. */
const HTML_ENTITY = /&#?[0-9A-Za-z]{1,24};/g;

function unescapeHtml(text: string): string {
  return text.replace(HTML_ENTITY, (entity) => {
    const decoded = decodeHTMLStrict(entity);
    // ftfy keeps an entity that decoded only in part (or not at all)
    return decoded.includes(';') ? entity : decoded;
  });
}

/** C1 controls (U+0080–U+009F) read as the Windows-1252 characters they stand for (ftfy's sloppy-windows-1252). */
const WINDOWS_1252_C1 = new Map<number, string>([
  [0x80, '€'],
  [0x82, '‚'],
  [0x83, 'ƒ'],
  [0x84, '„'],
  [0x85, '…'],
  [0x86, '†'],
  [0x87, '‡'],
  [0x88, 'ˆ'],
  [0x89, '‰'],
  [0x8a, 'Š'],
  [0x8b, '‹'],
  [0x8c, 'Œ'],
  [0x8e, 'Ž'],
  [0x91, '‘'],
  [0x92, '’'],
  [0x93, '“'],
  [0x94, '”'],
  [0x95, '•'],
  [0x96, '–'],
  [0x97, '—'],
  [0x98, '˜'],
  [0x99, '™'],
  [0x9a, 'š'],
  [0x9b, '›'],
  [0x9c, 'œ'],
  [0x9e, 'ž'],
  [0x9f, 'Ÿ'],
]);

function fixC1Controls(text: string): string {
  // the five C1 bytes Windows-1252 leaves undefined decode to themselves in sloppy-windows-1252
  return text.replace(/[\x80-\x9f]/g, (c) => WINDOWS_1252_C1.get(c.charCodeAt(0)) ?? c);
}

/** ftfy's LIGATURES table. */
const LIGATURES: Record<string, string> = {
  Ĳ: 'IJ',
  ĳ: 'ij',
  ŉ: 'ʼn',
  Ǳ: 'DZ',
  ǲ: 'Dz',
  ǳ: 'dz',
  Ǆ: 'DŽ',
  ǅ: 'Dž',
  ǆ: 'dž',
  Ǉ: 'LJ',
  ǈ: 'Lj',
  ǉ: 'lj',
  Ǌ: 'NJ',
  ǋ: 'Nj',
  ǌ: 'nj',
  ﬀ: 'ff',
  ﬁ: 'fi',
  ﬂ: 'fl',
  ﬃ: 'ffi',
  ﬄ: 'ffl',
  ﬅ: 'ſt',
  ﬆ: 'st',
};
const LIGATURE_CHARS = new RegExp(`[${Object.keys(LIGATURES).join('')}]`, 'g');

/** ftfy's WIDTH_MAP: the ideographic space, and U+FF01–U+FFEF wherever NFKC changes them. */
function fixCharacterWidth(text: string): string {
  return text.replace(/[\u3000\uff01-\uffef]/g, (c) => (c === '\u3000' ? ' ' : c.normalize('NFKC')));
}

function uncurlQuotes(text: string): string {
  return text.replace(/[\u02bc\u2018-\u201b]/g, "'").replace(/[\u201c-\u201f]/g, '"');
}

function fixLineBreaks(text: string): string {
  return text.replaceAll('\r\n', '\n').replace(/[\r\u2028\u2029\u0085]/g, '\n');
}

/** JavaScript strings hold surrogate pairs as such; a lone surrogate becomes U+FFFD, as in ftfy. */
function fixSurrogates(text: string): string {
  return text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: ftfy removes exactly these escapes
const TERMINAL_ESCAPE = /\x1b\[((?:\d|;)*)([a-zA-Z])/g;

/** ftfy's CONTROL_CHARS: U+0000–U+0008, U+000B, U+000E–U+001F, U+007F, U+206A–U+206F, U+FEFF, U+FFF9–U+FFFC. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters removed
const CONTROL_CHARS = /[\x00-\x08\x0b\x0e-\x1f\x7f\u206a-\u206f\ufeff\ufff9-\ufffc]/g;

/** ftfy.fix_text(text) with the default config, less the mojibake repair (see the module comment). */
export function fixText(input: string): string {
  const unescapeEntities = !input.includes('<');
  let text = input;
  for (;;) {
    const before = text;
    if (unescapeEntities) text = unescapeHtml(text);
    text = fixC1Controls(text);
    text = text.replace(LIGATURE_CHARS, (c) => LIGATURES[c]!);
    text = fixCharacterWidth(text);
    text = uncurlQuotes(text);
    text = fixLineBreaks(text);
    text = fixSurrogates(text);
    text = text.replace(TERMINAL_ESCAPE, '');
    text = text.replace(CONTROL_CHARS, '');
    text = text.normalize('NFC');
    if (text === before) return text;
  }
}
