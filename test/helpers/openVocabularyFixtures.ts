/**
 * Self-made model dirs for the open-vocabulary pipelines (GroundingDINO-T, SAM-H_box / SAM-H_point),
 * whose real weights are not available here: each graph has the inputs and outputs of the PaddleX
 * export it imitates (named at each builder) and computes a known answer from its inputs.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import { fixtureTempRoot } from './fixtures.js';
import { buildModel, floatTensor, int64Tensor, node, valueInfo } from './onnxBuilder.js';

/** The fixture's BERT vocabulary (PaddleNLP `vocab.txt`: the line number is the id). */
export const FIXTURE_VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', '.', '?', 'a', 'cat', 'dog', 'remote', 'control', '##s', 'the'];
export const TOKEN_ID = Object.fromEntries(FIXTURE_VOCAB.map((t, i) => [t, i])) as Record<string, number>;

/** GroundingDINO's text length: logits cover 256 token positions whatever the prompt's length. */
export const MAX_TEXT_LEN = 256;

/** One query of the GroundingDINO fixture: its box (centre x, centre y, width, height as fractions) and the score of each token it matches. */
export interface GroundingQuery {
  box: [number, number, number, number];
  tokens: Record<string, number>;
}

/**
 * q0 matches "cat" (0.9), q1 "remote" and "control" (0.6), q2 "cat" (0.32) and a little "remote"
 * (0.27), q3 "dog" (0.2, under the default box threshold 0.3). Tokens of the prompt that a query
 * does not match score sigmoid(-10).
 */
export const GROUNDING_QUERIES: GroundingQuery[] = [
  { box: [0.3, 0.4, 0.2, 0.3], tokens: { cat: 0.9 } },
  { box: [0.7, 0.6, 0.2, 0.1], tokens: { remote: 0.6, control: 0.6 } },
  { box: [0.5, 0.5, 0.5, 0.5], tokens: { cat: 0.32, remote: 0.27 } },
  { box: [0.1, 0.1, 0.05, 0.05], tokens: { dog: 0.2 } },
];

export const NO_MATCH_LOGIT = -10;
const logit = (p: number) => Math.log(p / (1 - p));

/**
 * Imitates PaddleX's GroundingDINO-T export: inputs in the order PaddleX feeds them (their names
 * sorted: attention_mask i64 [B, T], input_ids i64 [B, T], m bool [B, H, W], position_ids i64
 * [B, T], text_self_attention_masks bool [B, T, T], x f32 [B, 3, H, W]); outputs pred_boxes f32
 * [B, Q, 4] (centre/size fractions) then pred_logits f32 [B, Q, 256] (before the sigmoid);
 * inference.yml with the GroundingDINOProcessor step and the model's box/text thresholds; a
 * `tokenizer/` folder with vocab.txt and tokenizer_config.json. Each query's logit at a token
 * position is the logit of its score for that token id (GROUNDING_QUERIES), else -10, padded with
 * -10 to 256 positions.
 */
export async function groundingDinoFixtureDir(): Promise<string> {
  const q = GROUNDING_QUERIES.length;
  const initializers = [
    floatTensor(
      'boxes_const',
      [1, q, 4],
      GROUNDING_QUERIES.flatMap((g) => g.box),
    ),
    floatTensor('no_match', [], [NO_MATCH_LOGIT]),
    int64Tensor('axis1', [1], [1]),
    int64Tensor('batch_index', [1], [0]),
    int64Tensor('token_index', [], [1]),
    int64Tensor('text_len', [], [MAX_TEXT_LEN]),
    int64Tensor('five_zeros', [5], [0, 0, 0, 0, 0]),
    int64Tensor('q4', [2], [q, 4]),
    int64Tensor('unsqueeze0', [1], [0]),
  ];
  const nodes: Array<ReturnType<typeof node>> = [];
  const rows: string[] = [];
  GROUNDING_QUERIES.forEach((query, qi) => {
    const terms = Object.entries(query.tokens).map(([token, score], k) => {
      const id = `q${qi}_t${k}`;
      initializers.push(int64Tensor(`${id}_id`, [], [TOKEN_ID[token]!]), floatTensor(`${id}_gain`, [], [logit(score) - NO_MATCH_LOGIT]));
      nodes.push(
        node('Equal', ['input_ids', `${id}_id`], [`${id}_hit`]),
        node('Cast', [`${id}_hit`], [`${id}_hitf`], { to: { i: 1 } }),
        node('Mul', [`${id}_hitf`, `${id}_gain`], [`${id}_term`]),
      );
      return `${id}_term`;
    });
    nodes.push(node('Sum', [...terms, 'no_match'], [`q${qi}_row`]), node('Unsqueeze', [`q${qi}_row`, 'axis1'], [`q${qi}_row3`]));
    rows.push(`q${qi}_row3`);
  });
  nodes.push(
    node('Concat', rows, ['logits_short'], { axis: { i: 1 } }),
    node('Shape', ['input_ids'], ['ids_shape']),
    node('Gather', ['ids_shape', 'token_index'], ['tokens']),
    node('Sub', ['text_len', 'tokens'], ['pad_len']),
    node('Unsqueeze', ['pad_len', 'unsqueeze0'], ['pad_len1']),
    node('Concat', ['five_zeros', 'pad_len1'], ['pads'], { axis: { i: 0 } }),
    node('Pad', ['logits_short', 'pads', 'no_match'], ['pred_logits']),
    node('Gather', ['ids_shape', 'batch_index'], ['batch']),
    node('Concat', ['batch', 'q4'], ['boxes_shape'], { axis: { i: 0 } }),
    node('Expand', ['boxes_const', 'boxes_shape'], ['pred_boxes']),
  );
  const model = buildModel({
    inputs: [
      valueInfo('attention_mask', ['B', 'T'], 'int64'),
      valueInfo('input_ids', ['B', 'T'], 'int64'),
      valueInfo('m', ['B', 'H', 'W'], 'bool'),
      valueInfo('position_ids', ['B', 'T'], 'int64'),
      valueInfo('text_self_attention_masks', ['B', 'T', 'T'], 'bool'),
      valueInfo('x', ['B', 3, 'H', 'W']),
    ],
    outputs: [valueInfo('pred_boxes', ['B', q, 4]), valueInfo('pred_logits', ['B', q, MAX_TEXT_LEN])],
    nodes,
    initializers,
  });
  const dir = await mkdtemp(path.join(fixtureTempRoot(), 'GroundingDINO-T-'));
  await writeFile(path.join(dir, 'inference.onnx'), model);
  await writeFile(
    path.join(dir, 'inference.yml'),
    YAML.stringify({
      Global: { model_name: 'GroundingDINO-T' },
      Preprocess: [{ type: 'GroundingDINOProcessor', text_max_words: 256, target_size: [800, 1333] }],
      box_threshold: 0.3,
      text_threshold: 0.25,
    }),
  );
  await mkdir(path.join(dir, 'tokenizer'));
  await writeFile(path.join(dir, 'tokenizer', 'vocab.txt'), `${FIXTURE_VOCAB.join('\n')}\n`);
  await writeFile(
    path.join(dir, 'tokenizer', 'tokenizer_config.json'),
    JSON.stringify({ do_lower_case: true, tokenizer_class: 'BertTokenizer' }),
  );
  return dir;
}

/** The SAM fixtures' low-resolution mask grid (SAM's decoder outputs 256 × 256 masks for the 1024 × 1024 input). */
const SAM_LOW_RES = 256;
const SAM_INPUT = 1024;
/** Half the side of the square the point fixture segments around its point, in 1024-input pixels. */
export const SAM_POINT_HALF_SIDE = 64;

/**
 * Imitates PaddleX's SAM-H_box / SAM-H_point exports: inputs in PaddleX's order, the image f32
 * [1, 3, 1024, 1024] (normalised, zero-padded) then the prompt f32 (boxes [N, 4], or one point
 * [1, 1, 2], in 1024-input pixels); output low_res_masks f32 [N, 1, 256, 256]; inference.yml with
 * the SAMProcessor step. Each 256-grid cell's logit is a signed distance, in input pixels, from the
 * cell's centre to the prompt's region: the box itself, or the square of half side
 * SAM_POINT_HALF_SIDE around the point (negative outside). Upsampled bilinearly, a distance that is
 * linear across an edge stays exact, so the mask is the original pixels whose centres lie inside.
 */
export async function samFixtureDir(kind: 'box' | 'point'): Promise<string> {
  const centres = Array.from({ length: SAM_LOW_RES }, (_, u) => (u + 0.5) * (SAM_INPUT / SAM_LOW_RES));
  const common = [
    floatTensor('grid_x', [1, 1, 1, SAM_LOW_RES], centres),
    floatTensor('grid_y', [1, 1, SAM_LOW_RES, 1], centres),
    int64Tensor('column_shape', [4], [-1, 1, 1, 1]),
  ];
  const coordinate = (index: number, name: string) => [
    int64Tensor(`${name}_index`, [], [index]),
    node('Gather', ['prompt_rows', `${name}_index`], [`${name}_flat`], { axis: { i: 1 } }),
    node('Reshape', [`${name}_flat`, 'column_shape'], [name]),
  ];
  const pieces =
    kind === 'box'
      ? [
          node('Identity', ['prompt'], ['prompt_rows']),
          ...['x1', 'y1', 'x2', 'y2'].flatMap((name, i) => coordinate(i, name)),
          node('Sub', ['grid_x', 'x1'], ['left']),
          node('Sub', ['x2', 'grid_x'], ['right']),
          node('Sub', ['grid_y', 'y1'], ['upper']),
          node('Sub', ['y2', 'grid_y'], ['lower']),
          node('Min', ['left', 'right', 'upper', 'lower'], ['low_res_masks']),
        ]
      : [
          int64Tensor('point_shape', [2], [1, 2]),
          floatTensor('half_side', [], [SAM_POINT_HALF_SIDE]),
          node('Reshape', ['prompt', 'point_shape'], ['prompt_rows']),
          ...['px', 'py'].flatMap((name, i) => coordinate(i, name)),
          node('Sub', ['grid_x', 'px'], ['dx']),
          node('Sub', ['grid_y', 'py'], ['dy']),
          node('Abs', ['dx'], ['adx']),
          node('Abs', ['dy'], ['ady']),
          node('Max', ['adx', 'ady'], ['reach']),
          node('Sub', ['half_side', 'reach'], ['low_res_masks']),
        ];
  const isNode = (p: (typeof pieces)[number]): p is ReturnType<typeof node> => 'opType' in p;
  const model = buildModel({
    inputs: [valueInfo('img', [1, 3, SAM_INPUT, SAM_INPUT]), valueInfo('prompt', kind === 'box' ? ['N', 4] : [1, 1, 2])],
    outputs: [valueInfo('low_res_masks', ['N', 1, SAM_LOW_RES, SAM_LOW_RES])],
    nodes: pieces.filter(isNode),
    initializers: [...common, ...pieces.filter((p) => !isNode(p))] as Array<ReturnType<typeof floatTensor>>,
  });
  const dir = await mkdtemp(path.join(fixtureTempRoot(), `SAM-H_${kind}-`));
  await writeFile(path.join(dir, 'inference.onnx'), model);
  await writeFile(
    path.join(dir, 'inference.yml'),
    YAML.stringify({
      Global: { model_name: `SAM-H_${kind}` },
      Processor: { type: 'SAMProcessor', size: 1024, mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375] },
    }),
  );
  return dir;
}
