/**
 * Self-made formula recognition models (no real weights are available here) with the I/O of
 * PaddleX's exports: one image tensor `x` f32 [N, 1, H, W] in, token ids `fetch_name_0` int64 [N, L]
 * out (the exported program holds the decoder loop), and an inference.yml laid out as PaddleOCR's
 * export writes it (PreProcess.transform_ops, PostProcess {name, character_dict}) with a small
 * tokenizer of the same kind (byte-level BPE with <s>/<pad>/</s>/<unk> at 0–3, as UniMERNet's).
 *
 * What the graph "reads": the number of rows of its input that hold any pixel brighter than the
 * padding (value > 0 after normalisation). A formula resized into the square input fills few rows when
 * it is wide and many when it is tall, so the fixture answers `wide` below `rowsThreshold` rows and
 * `tall` from there on: tests can tell which crop went where, and assert the exact LaTeX the
 * post-processing must make of each token sequence.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createCanvas } from '@napi-rs/canvas';
import { type DocStageDirs, docPipelineYaml, realInferenceYml, writeFixtureDir } from './docFixtures.js';
import { fixtureTempRoot } from './fixtures.js';
import { buildModel, floatTensor, int64Tensor, node, valueInfo } from './onnxBuilder.js';

/** The fixture tokenizer's vocabulary (ids in order); byte-level tokens, `Ġ` standing for a leading space. */
export const FORMULA_VOCAB = [
  '<s>',
  '<pad>',
  '</s>',
  '<unk>',
  'E',
  'Ġ=',
  'Ġm',
  'Ġc',
  'Ġ^',
  'Ġ{',
  'Ġ2',
  'Ġ}',
  '\\frac',
  'Ġa',
  'Ġ+',
  'Ġb',
  'Ġ\\mathrm',
  'Ġd',
  'Ġx',
  'Ġ\\alpha',
] as const;

/** Ids of `tokens` in the fixture vocabulary. */
export function tokenIds(tokens: readonly string[]): number[] {
  return tokens.map((t) => {
    const id = (FORMULA_VOCAB as readonly string[]).indexOf(t);
    if (id < 0) throw new Error(`fixture token ${t} is not in the vocabulary`);
    return id;
  });
}

const SPECIALS = ['<s>', '<pad>', '</s>', '<unk>'];

/** A tokenizer.json of the kind UniMERNet ships (BPE, byte-level pre-tokenizer and decoder); `decoder: null` as LaTeX-OCR's. */
export function fixtureTokenizer(decoder: 'ByteLevel' | null = 'ByteLevel'): Record<string, unknown> {
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIALS.map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: decoder ? { type: decoder, add_prefix_space: true, trim_offsets: true, use_regex: true } : null,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      vocab: Object.fromEntries(FORMULA_VOCAB.map((t, i) => [t, i])),
      merges: [],
    },
  };
}

/** tokenizer_config.json as UniMERNet's: the four specials in added_tokens_decoder. */
export const FIXTURE_TOKENIZER_CONFIG = {
  added_tokens_decoder: Object.fromEntries(
    SPECIALS.map((content, id) => [
      String(id),
      { content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true },
    ]),
  ),
  bos_token: '<s>',
  eos_token: '</s>',
  pad_token: '<pad>',
  unk_token: '<unk>',
};

/** The inference.yml of each imitated export (PaddleOCR's export layout; input sizes as PaddleOCR's configs). */
export function formulaInferenceYml(modelName: string): Record<string, unknown> {
  if (modelName === 'LaTeX_OCR_rec') {
    return {
      Global: { model_name: modelName },
      PreProcess: {
        transform_ops: [
          { DecodeImage: { channel_first: false, img_mode: 'BGR' } },
          { MinMaxResize: { min_dimensions: [32, 32], max_dimensions: [672, 192] } },
          { NormalizeImage: { mean: [0.7931, 0.7931, 0.7931], std: [0.1738, 0.1738, 0.1738], order: 'hwc' } },
          { LatexImageFormat: null },
          { KeepKeys: { keep_keys: ['image'] } },
        ],
      },
      PostProcess: { name: 'LaTeXOCRDecode', character_dict: fixtureTokenizer(null) },
    };
  }
  const unimernet = modelName === 'UniMERNet';
  const inputSize = unimernet ? [192, 672] : /-L$/.test(modelName) ? [768, 768] : [384, 384];
  return {
    Global: { model_name: modelName },
    PreProcess: {
      transform_ops: [
        { DecodeImage: { channel_first: false } },
        { UniMERNetLabelEncode: { max_seq_len: 1024 } },
        { UniMERNetImgDecode: { input_size: inputSize } },
        { UniMERNetTestTransform: null },
        { [unimernet ? 'UniMERNetImageFormat' : 'LatexImageFormat']: null },
        { KeepKeys: { keep_keys: ['image'] } },
      ],
    },
    PostProcess: {
      name: 'UniMERNetDecode',
      character_dict: { fast_tokenizer_file: fixtureTokenizer(), tokenizer_config_file: FIXTURE_TOKENIZER_CONFIG },
    },
  };
}

/** What the fixture answers: token ids for inputs with fewer than `rowsThreshold` content rows, and for the others. */
export interface FormulaAnswers {
  wide: number[];
  tall: number[];
  rowsThreshold: number;
}

/** A model dir imitating `modelName`'s export, answering `answers` (rows padded with <pad> to one length). */
export function formulaFixtureDir(modelName: string, answers: FormulaAnswers): Promise<string> {
  const length = Math.max(answers.wide.length, answers.tall.length);
  const pad = (ids: number[]) => [...ids, ...new Array(length - ids.length).fill(1)];
  const model = buildModel({
    inputs: [valueInfo('x', ['N', 1, 'H', 'W'])],
    outputs: [valueInfo('fetch_name_0', ['N', 'L'], 'int64')],
    initializers: [
      int64Tensor('answers', [2, length], [...pad(answers.wide), ...pad(answers.tall)]),
      floatTensor('zero', [], [0]),
      floatTensor('threshold', [], [answers.rowsThreshold - 0.5]),
      int64Tensor('row_axes', [3], [1, 2, 3]),
    ],
    nodes: [
      node('ReduceMax', ['x'], ['row_max'], { axes: { ints: [3] }, keepdims: { i: 1 } }),
      node('Greater', ['row_max', 'zero'], ['is_content']),
      node('Cast', ['is_content'], ['content'], { to: { i: 1 } }),
      node('ReduceSum', ['content', 'row_axes'], ['rows'], { keepdims: { i: 0 } }),
      node('Greater', ['rows', 'threshold'], ['is_tall']),
      node('Cast', ['is_tall'], ['answer'], { to: { i: 7 } }),
      node('Gather', ['answers', 'answer'], ['fetch_name_0'], { axis: { i: 0 } }),
    ],
  });
  return writeFixtureDir(modelName, model, formulaInferenceYml(modelName));
}

/** A wide formula, E = mc², drawn black on white (about 6 : 1 once its margin is cropped). */
export function renderWideFormula(): Buffer {
  const canvas = createCanvas(420, 110);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = 'white';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.fillStyle = 'black';
  ctx.font = 'italic 48px DejaVu Serif';
  ctx.textBaseline = 'alphabetic';
  ctx.fillText('E = mc', 40, 80);
  const base = ctx.measureText('E = mc').width;
  ctx.font = '30px DejaVu Serif';
  ctx.fillText('2', 44 + base, 52);
  return canvas.toBuffer('image/png');
}

/** A tall formula, (a + b) over 2, drawn black on white (about 1.4 : 1 once cropped). */
export function renderTallFormula(): Buffer {
  const canvas = createCanvas(220, 190);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = 'white';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.fillStyle = 'black';
  ctx.font = 'italic 44px DejaVu Serif';
  ctx.textAlign = 'center';
  ctx.fillText('a + b', 110, 75);
  ctx.fillRect(40, 92, 140, 4);
  ctx.fillText('2', 110, 150);
  return canvas.toBuffer('image/png');
}

/** PP-DocLayout_plus-L's label_list (class ids 0–19), for a layout fixture that can answer `formula`. */
export const DOC_LAYOUT_PLUS_LABELS = [
  'paragraph_title',
  'image',
  'text',
  'number',
  'abstract',
  'content',
  'figure_title',
  'formula',
  'table',
  'reference',
  'doc_title',
  'footnote',
  'header',
  'algorithm',
  'footer',
  'seal',
  'chart',
  'formula_number',
  'aside_text',
  'reference_content',
];

/** The layout fixture's inference.yml: RT-DETR-H_layout_3cls's real one with PP-DocLayout_plus-L's name and labels. */
export function docLayoutPlusYml(): Record<string, unknown> {
  const yml = realInferenceYml('RT-DETR-H_layout_3cls');
  return { ...yml, Global: { model_name: 'PP-DocLayout_plus-L' }, label_list: DOC_LAYOUT_PLUS_LABELS };
}

/** configs/formula_recognition.yaml with the formula model pointed at `formulaDir`, and the stages given. */
export function formulaPipelineYaml(formulaDir: string, stages: DocStageDirs = {}): Promise<string> {
  return docPipelineYaml('formula_recognition', stages, (config) => {
    Object.assign(config.SubModules.FormulaRecognition, { model_dir: formulaDir });
  });
}

let wideFormulaPath: string | undefined;
/** The rendered wide formula as a PNG file, written once per process, for `--input`. */
export function wideFormulaFile(): string {
  wideFormulaPath ??= (() => {
    const file = path.join(fixtureTempRoot(), 'emc2.png');
    writeFileSync(file, renderWideFormula());
    return file;
  })();
  return wideFormulaPath;
}
