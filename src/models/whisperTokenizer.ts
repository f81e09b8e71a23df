/**
 * Whisper's tokenizer as PaddleX builds it (`build_tokenizer` / `get_tokenizer` in its
 * multilingual_speech_recognition processors): the GPT-2 byte-level BPE of
 * `assets/<name>/{vocab.json, merges.txt}` in the model dir (PaddleNLP's `GPTTokenizer`), with
 * `<|startoftranscript|>`, one `<|xx|>` per language, `<|translate|>`, `<|transcribe|>`,
 * `<|startoflm|>`, `<|startofprev|>`, `<|nospeech|>` and `<|notimestamps|>` added as special tokens;
 * timestamps are the ids after the last of them. Hand-written: npm's BPE tokenizers read
 * `tokenizer.json` or ship OpenAI's tiktoken tables, not these two files.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** PaddleX's LANGUAGES, in its order: a language token's id is `sot + 1 + index`. */
// biome-ignore format: one table
export const LANGUAGES = [
  'en', 'zh', 'de', 'es', 'ru', 'ko', 'fr', 'ja', 'pt', 'tr', 'pl', 'ca', 'nl', 'ar', 'sv', 'it', 'id', 'hi', 'fi', 'vi',
  'iw', 'uk', 'el', 'ms', 'cs', 'ro', 'da', 'hu', 'ta', 'no', 'th', 'ur', 'hr', 'bg', 'lt', 'la', 'mi', 'ml', 'cy', 'sk',
  'te', 'fa', 'lv', 'bn', 'sr', 'az', 'sl', 'kn', 'et', 'mk', 'br', 'eu', 'is', 'hy', 'ne', 'mn', 'bs', 'kk', 'sq', 'sw',
  'gl', 'mr', 'pa', 'si', 'km', 'sn', 'yo', 'so', 'af', 'oc', 'ka', 'be', 'tg', 'sd', 'gu', 'am', 'yi', 'lo', 'uz', 'fo',
  'ht', 'ps', 'tk', 'nn', 'mt', 'sa', 'lb', 'my', 'bo', 'tl', 'mg', 'as', 'tt', 'haw', 'ln', 'ha', 'ba', 'jw', 'su',
] as const;

const EOT = '<|endoftext|>';
const SPECIALS = [
  '<|startoftranscript|>',
  ...LANGUAGES.map((code) => `<|${code}|>`),
  '<|translate|>',
  '<|transcribe|>',
  '<|startoflm|>',
  '<|startofprev|>',
  '<|nospeech|>',
  '<|notimestamps|>',
];

/** GPT-2's pre-tokenisation: contractions, letter runs, digit runs, other runs, spaces. */
const PIECES = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** GPT-2's byte ↔ printable character table (`bytes_to_unicode`). */
function byteTable(): { toChar: string[]; toByte: Map<string, number> } {
  const direct = new Set<number>();
  for (const [from, to] of [
    [0x21, 0x7e],
    [0xa1, 0xac],
    [0xae, 0xff],
  ] as const) {
    for (let b = from; b <= to; b++) direct.add(b);
  }
  const toChar: string[] = [];
  let extra = 0;
  for (let b = 0; b < 256; b++) toChar[b] = String.fromCodePoint(direct.has(b) ? b : 256 + extra++);
  return { toChar, toByte: new Map(toChar.map((c, b) => [c, b])) };
}

/** PaddleNLP's `clean_up_tokenization` (on by default in `decode`). */
function cleanUp(text: string): string {
  return text
    .replaceAll(' .', '.')
    .replaceAll(' ?', '?')
    .replaceAll(' !', '!')
    .replaceAll(' ,', ',')
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}

export class WhisperTokenizer {
  private readonly bytes = byteTable();
  private readonly ranks: Map<string, number>;
  private readonly idToToken: Map<number, string>;
  private readonly cache = new Map<string, number[]>();
  /** specials and added tokens, matched whole before BPE */
  private readonly added: Map<string, number>;
  private readonly addedPattern: RegExp;
  readonly eot: number;
  readonly sot: number;
  readonly translate: number;
  readonly transcribe: number;
  readonly sotLm: number;
  readonly sotPrev: number;
  readonly noSpeech: number;
  readonly noTimestamps: number;
  readonly timestampBegin: number;
  /** `len(tokenizer)`: ids at or past it (timestamps) are dropped by `decode` */
  readonly size: number;

  private constructor(
    private readonly vocab: Map<string, number>,
    merges: string[],
    addedTokens: Record<string, number>,
  ) {
    this.ranks = new Map(merges.map((merge, rank) => [merge, rank]));
    this.added = new Map(Object.entries(addedTokens));
    let next = Math.max(...vocab.values(), ...this.added.values()) + 1;
    for (const token of [EOT, ...SPECIALS]) {
      if (!vocab.has(token) && !this.added.has(token)) this.added.set(token, next++);
    }
    this.idToToken = new Map([...vocab].map(([token, id]) => [id, token]));
    for (const [token, id] of this.added) this.idToToken.set(id, token);
    const escaped = [...this.added.keys()].sort((a, b) => b.length - a.length).map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    this.addedPattern = new RegExp(`(${escaped.join('|')})`);
    this.eot = this.id(EOT);
    this.sot = this.id(SPECIALS[0]!);
    this.translate = this.id('<|translate|>');
    this.transcribe = this.id('<|transcribe|>');
    this.sotLm = this.id('<|startoflm|>');
    this.sotPrev = this.id('<|startofprev|>');
    this.noSpeech = this.id('<|nospeech|>');
    this.noTimestamps = this.id('<|notimestamps|>');
    this.timestampBegin = this.noTimestamps + 1;
    this.size = this.idToToken.size;
  }

  /** Reads `<assets>/vocab.json`, `merges.txt` and, when present, `added_tokens.json`. */
  static load(dir: string): WhisperTokenizer {
    const vocab = new Map(Object.entries(JSON.parse(readFileSync(path.join(dir, 'vocab.json'), 'utf8')) as Record<string, number>));
    const merges = readFileSync(path.join(dir, 'merges.txt'), 'utf8')
      .split('\n')
      .filter((line) => line && !line.startsWith('#version'));
    const addedFile = path.join(dir, 'added_tokens.json');
    const added = existsSync(addedFile) ? (JSON.parse(readFileSync(addedFile, 'utf8')) as Record<string, number>) : {};
    return new WhisperTokenizer(vocab, merges, added);
  }

  private id(token: string): number {
    const id = this.added.get(token) ?? this.vocab.get(token);
    if (id === undefined) throw new Error(`token ${token} is missing from the tokenizer`);
    return id;
  }

  /** The language token of a PaddleX language code. */
  languageToken(code: string): number {
    const index = (LANGUAGES as readonly string[]).indexOf(code);
    if (index < 0) throw new Error(`Unsupported language: ${code}`);
    return this.sot + 1 + index;
  }

  /** The language codes of the tokenizer's language tokens, with their ids. */
  get languageTokens(): Array<{ code: string; id: number }> {
    return LANGUAGES.map((code) => ({ code, id: this.id(`<|${code}|>`) }));
  }

  private bpe(piece: string): number[] {
    const cached = this.cache.get(piece);
    if (cached) return cached;
    let parts = [...piece];
    while (parts.length > 1) {
      let best = -1;
      let bestRank = Number.POSITIVE_INFINITY;
      for (let i = 0; i + 1 < parts.length; i++) {
        const rank = this.ranks.get(`${parts[i]} ${parts[i + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          best = i;
        }
      }
      if (best < 0) break;
      const merged = parts[best]! + parts[best + 1]!;
      const next: string[] = [];
      for (let i = 0; i < parts.length; i++) {
        // every occurrence of the pair merges in one pass, as GPT-2's bpe() does
        if (i + 1 < parts.length && parts[i] === parts[best] && parts[i + 1] === parts[best + 1]) {
          next.push(merged);
          i++;
        } else next.push(parts[i]!);
      }
      parts = next;
    }
    const ids = parts.map((part) => {
      const id = this.vocab.get(part);
      if (id === undefined) throw new Error(`BPE piece ${JSON.stringify(part)} is not in vocab.json`);
      return id;
    });
    this.cache.set(piece, ids);
    return ids;
  }

  encode(text: string): number[] {
    const ids: number[] = [];
    for (const chunk of text.split(this.addedPattern)) {
      if (!chunk) continue;
      const special = this.added.get(chunk);
      if (special !== undefined) {
        ids.push(special);
        continue;
      }
      for (const [piece] of chunk.matchAll(PIECES)) {
        const mapped = Array.from(Buffer.from(piece, 'utf8'), (b) => this.bytes.toChar[b]!).join('');
        ids.push(...this.bpe(mapped));
      }
    }
    return ids;
  }

  /**
   * PaddleX's `Tokenizer.decode`: ids past the tokenizer (timestamps) dropped, the rest decoded as
   * PaddleNLP does (byte runs as UTF-8 with replacement characters, added tokens as they are, the
   * parts joined by spaces, then `clean_up_tokenization`).
   */
  decode(ids: readonly number[]): string {
    const parts: string[] = [];
    let run: number[] = [];
    const flush = () => {
      if (run.length) parts.push(Buffer.from(run).toString('utf8'));
      run = [];
    };
    for (const id of ids) {
      if (id >= this.size) continue;
      const token = this.idToToken.get(id);
      if (token === undefined) continue;
      if (this.added.has(token)) {
        flush();
        parts.push(token);
      } else {
        for (const c of token) run.push(this.bytes.toByte.get(c) ?? 0x3f);
      }
    }
    flush();
    return cleanUp(parts.join(' '));
  }

  /**
   * Whisper's `non_speech_tokens`: the first token of symbols that mark speaker tags and
   * annotations (with and without a leading space), plus " -" and " '".
   */
  nonSpeechTokens(): number[] {
    const symbols = [
      ...'"#()*+/:;<=>@[\\]^_`{|}~「」『』',
      ...'<< >> <<< >>> -- --- -( -[ (\' (" (( )) ((( ))) [[ ]] {{ }} ♪♪ ♪♪♪'.split(' '),
    ];
    const miscellaneous = [...'♩♪♫♬♭♮♯'];
    const result = new Set([this.encode(' -')[0]!, this.encode(" '")[0]!]);
    for (const symbol of [...symbols, ...miscellaneous]) {
      for (const tokens of [this.encode(symbol), this.encode(` ${symbol}`)]) {
        if (tokens.length === 1 || miscellaneous.includes(symbol)) result.add(tokens[0]!);
      }
    }
    return [...result].sort((a, b) => a - b);
  }
}
