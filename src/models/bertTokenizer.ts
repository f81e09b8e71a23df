/**
 * The BERT WordPiece tokenizer of a model dir's `tokenizer/` folder (PaddleNLP layout: `vocab.txt`,
 * one token per line, its line number the id, and `tokenizer_config.json`), as PaddleX's
 * BertTokenizer tokenizes and decodes. Built on @huggingface/tokenizers from a tokenizer
 * description made here, since PaddleNLP folders have no `tokenizer.json`.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { z } from 'zod';
import { ConfigError } from '../errors.js';

const tokenizerConfigSchema = z.looseObject({
  do_lower_case: z.boolean().default(true),
  tokenize_chinese_chars: z.boolean().default(true),
  strip_accents: z.boolean().nullable().default(null),
  unk_token: z.string().default('[UNK]'),
  sep_token: z.string().default('[SEP]'),
  pad_token: z.string().default('[PAD]'),
  cls_token: z.string().default('[CLS]'),
  mask_token: z.string().default('[MASK]'),
});

/**
 * PaddleX's BasicTokenizer splits symbols (Unicode category S*, and a few listed code points) off
 * like punctuation, which BERT's own pre-tokenizer does not: a Split step after it does the same.
 */
const SYMBOL_PATTERN = '[\\p{S}\\u00B2\\u00BA\\u3007\\u00B5\\u00D8\\u014B\\u01B1]';

export class BertTokenizer {
  private constructor(
    private readonly tokenizer: Tokenizer,
    private readonly vocab: ReadonlyMap<string, number>,
    readonly unkToken: string,
  ) {}

  /** Reads `dir` (vocab.txt, optional tokenizer_config.json); `where` prefixes configuration errors. */
  static fromDir(dir: string, where: string): BertTokenizer {
    const vocabFile = path.join(dir, 'vocab.txt');
    if (!existsSync(vocabFile))
      throw new ConfigError(`${where}: ${vocabFile} is missing (the model's BERT vocabulary, one token per line)`);
    const configFile = path.join(dir, 'tokenizer_config.json');
    let rawConfig: unknown = {};
    if (existsSync(configFile)) {
      try {
        rawConfig = JSON.parse(readFileSync(configFile, 'utf8'));
      } catch (err) {
        throw new ConfigError(`${where}: ${configFile} is not valid JSON: ${(err as Error).message}`);
      }
    }
    const parsed = tokenizerConfigSchema.safeParse(rawConfig);
    if (!parsed.success)
      throw new ConfigError(`${where}: ${configFile}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const config = parsed.data;

    const vocab = new Map<string, number>();
    // PaddleNLP's load_vocabulary: each line stripped of its line break, the first occurrence of a token wins
    readFileSync(vocabFile, 'utf8')
      .split('\n')
      .forEach((line, id) => {
        const token = line.replace(/\r$/, '');
        if (token && !vocab.has(token)) vocab.set(token, id);
      });
    const specials = [config.unk_token, config.sep_token, config.pad_token, config.cls_token, config.mask_token];
    for (const token of specials) {
      if (!vocab.has(token)) throw new ConfigError(`${where}: ${vocabFile} lacks the special token ${token}`);
    }
    const idOf = (token: string) => vocab.get(token)!;
    const tokenizer = new Tokenizer(
      {
        version: '1.0',
        truncation: null,
        padding: null,
        added_tokens: specials.map((content) => ({
          id: idOf(content),
          content,
          single_word: false,
          lstrip: false,
          rstrip: false,
          normalized: false,
          special: true,
        })),
        normalizer: {
          type: 'BertNormalizer',
          clean_text: true,
          handle_chinese_chars: config.tokenize_chinese_chars,
          strip_accents: config.strip_accents,
          lowercase: config.do_lower_case,
        },
        pre_tokenizer: {
          type: 'Sequence',
          pretokenizers: [
            { type: 'BertPreTokenizer' },
            { type: 'Split', pattern: { Regex: SYMBOL_PATTERN }, behavior: 'Isolated', invert: false },
          ],
        },
        post_processor: {
          type: 'TemplateProcessing',
          single: [
            { SpecialToken: { id: config.cls_token, type_id: 0 } },
            { Sequence: { id: 'A', type_id: 0 } },
            { SpecialToken: { id: config.sep_token, type_id: 0 } },
          ],
          pair: [],
          special_tokens: {
            [config.cls_token]: { id: config.cls_token, ids: [idOf(config.cls_token)], tokens: [config.cls_token] },
            [config.sep_token]: { id: config.sep_token, ids: [idOf(config.sep_token)], tokens: [config.sep_token] },
          },
        },
        // PaddleX decodes with clean_up_tokenization_spaces (" ." → ".", " 's" → "'s", ...), which `cleanup` does
        decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
        model: {
          type: 'WordPiece',
          unk_token: config.unk_token,
          continuing_subword_prefix: '##',
          max_input_chars_per_word: 100,
          vocab: Object.fromEntries(vocab),
        },
      },
      {},
    );
    return new BertTokenizer(tokenizer, vocab, config.unk_token);
  }

  /** `[CLS] tokens [SEP]` ids, as PaddleX's `tokenizer(text)["input_ids"]` */
  encode(text: string): number[] {
    return this.tokenizer.encode(text).ids;
  }

  /** The id of a token (the unknown token's id when the vocabulary lacks it, as convert_tokens_to_ids). */
  idOf(token: string): number {
    return this.vocab.get(token) ?? this.vocab.get(this.unkToken)!;
  }

  /** PaddleX's `decode(ids)`: special tokens kept, word pieces joined, tokenization spaces cleaned up. */
  decode(ids: number[]): string {
    // the library refuses an empty list; PaddleX decodes it to ''
    return ids.length === 0 ? '' : this.tokenizer.decode(ids, { skip_special_tokens: false });
  }
}
