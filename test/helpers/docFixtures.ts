/**
 * Self-made model dirs for the document modules, whose real weights are not available here. Each
 * graph has the input/output names, shapes and dtypes of the real program it imitates (in
 * ../shared/models/paddle-format/, named at each builder) and outputs a known result, so tests can
 * assert exactly what the post-processing must make of it.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import { fixtureTempRoot } from './fixtures.js';
import { buildModel, floatTensor, int64Tensor, node, valueInfo } from './onnxBuilder.js';
import { PADDLE_MODELS } from './paddleModels.js';

/** A model dir (inference.onnx + inference.yml) in a fresh folder under the fixtures' temp root. */
export async function writeFixtureDir(name: string, model: Uint8Array, inferenceConfig: Record<string, unknown>): Promise<string> {
  const dir = await mkdtemp(path.join(fixtureTempRoot(), `${name}-`));
  await writeFile(path.join(dir, 'inference.onnx'), model);
  await writeFile(path.join(dir, 'inference.yml'), YAML.stringify(inferenceConfig));
  return dir;
}

/** The real inference.yml of a program in ../shared/models/paddle-format/. */
export function realInferenceYml(dirName: string): Record<string, any> {
  return YAML.parse(readFileSync(path.join(PADDLE_MODELS, dirName, 'inference.yml'), 'utf8'));
}

/** A box the fixed-box detector always outputs: class, score and [x1, y1, x2, y2] as fractions of the original width/height. */
export interface FixedBox {
  classId: number;
  score: number;
  box: [number, number, number, number];
}

/** `boxes` in original-image pixels for an image of `width` × `height`. */
export function boxesInPixels(boxes: readonly FixedBox[], width: number, height: number): Array<[number, number, number, number]> {
  return boxes.map(({ box: [x1, y1, x2, y2] }) => [x1 * width, y1 * height, x2 * width, y2 * height]);
}

/**
 * Imitates RT-DETR-H_layout_3cls (PaddleDetection, exported with post-process; the real PIR program
 * takes `im_shape` f32 [-1, 2], `image` f32 [-1, 3, 640, 640], `scale_factor` f32 [-1, 2] and gives
 * `fetch_name_0` f32 [-1, 6] (class, score, x1, y1, x2, y2 in original pixels) and `fetch_name_1`
 * int32 [-1] box counts), for one image per run. Whatever the image, it outputs `boxes`, scaled to
 * the original size it derives from im_shape / scale_factor as the real model does. `inferenceConfig`
 * is the model's inference.yml (by default the real one of RT-DETR-H_layout_3cls).
 */
export function fixedBoxDetectorDir(
  name: string,
  boxes: readonly FixedBox[],
  inferenceConfig: Record<string, unknown> = realInferenceYml('RT-DETR-H_layout_3cls'),
): Promise<string> {
  const n = boxes.length;
  const model = buildModel({
    inputs: [valueInfo('im_shape', ['N', 2]), valueInfo('image', ['N', 3, 640, 640]), valueInfo('scale_factor', ['N', 2])],
    outputs: [valueInfo('fetch_name_0', ['M', 6]), valueInfo('fetch_name_1', ['N'], 'int32')],
    initializers: [
      floatTensor(
        'box_fracs',
        [n, 4],
        boxes.flatMap((b) => b.box),
      ),
      floatTensor(
        'class_scores',
        [n, 2],
        boxes.flatMap((b) => [b.classId, b.score]),
      ),
      int64Tensor('first', [], [0]),
      int64Tensor('whwh_index', [4], [1, 0, 1, 0]),
      { name: 'box_count', dims: [1], dataType: 6, int32Data: [n] },
    ],
    nodes: [
      node('Div', ['im_shape', 'scale_factor'], ['orig_raw']),
      node('Round', ['orig_raw'], ['orig']),
      node('Gather', ['orig', 'first'], ['orig_hw'], { axis: { i: 0 } }),
      node('Gather', ['orig_hw', 'whwh_index'], ['whwh']),
      node('Mul', ['box_fracs', 'whwh'], ['coords']),
      node('Concat', ['class_scores', 'coords'], ['fetch_name_0'], { axis: { i: 1 } }),
      node('Identity', ['box_count'], ['fetch_name_1']),
    ],
  });
  return writeFixtureDir(name, model, inferenceConfig);
}

/** One decoding step of the table-structure fixture: the token it predicts and, for cells, its box in original pixels. */
export interface TableStep {
  token: string;
  /** [x1, y1, x2, y2] of the cell in original-image pixels */
  cell?: [number, number, number, number];
}

/** The probability the table-structure fixture gives each step's token (the rest share what is left). */
export const TABLE_TOKEN_PROB = 0.9;

/**
 * Imitates SLANet_plus (the real PIR program takes `x` f32 [-1, 3, -1, -1] and gives `fetch_name_0`
 * f32 [-1, -1, 8] cell boxes and `fetch_name_1` f32 [-1, -1, 50] token probabilities), with the
 * real inference.yml. For any input of one image of `width` × `height`, step k predicts
 * `steps[k].token` (probability TABLE_TOKEN_PROB) and, for cells, the 4 corners of `steps[k].cell`
 * relative to the padded 488 × 488 input (where the image, long side resized to 488, sits top-left).
 */
export function tableStructureFixtureDir(steps: readonly TableStep[], width: number, height: number): Promise<string> {
  const yml = realInferenceYml('SLANet_plus');
  const dictionary: string[] = yml.PostProcess.character_dict;
  // TableLabelDecode's table (merge_no_span_structure: true)
  const tokens = ['sos', ...dictionary.filter((t) => t !== '<td>'), '<td></td>', 'eos'];
  const classes = tokens.length;
  const longSide = Math.max(width, height);
  const probs = steps.flatMap(({ token }) => {
    const index = tokens.indexOf(token);
    if (index < 0) throw new Error(`fixture token ${token} is not in SLANet_plus's dictionary`);
    return tokens.map((_, k) => (k === index ? TABLE_TOKEN_PROB : (1 - TABLE_TOKEN_PROB) / (classes - 1)));
  });
  const boxes = steps.flatMap(({ cell }) => {
    if (!cell) return [0, 0, 0, 0, 0, 0, 0, 0];
    const [x1, y1, x2, y2] = cell.map((v) => v / longSide);
    return [x1!, y1!, x2!, y1!, x2!, y2!, x1!, y2!];
  });
  const l = steps.length;
  const model = buildModel({
    inputs: [valueInfo('x', ['N', 3, 'H', 'W'])],
    outputs: [valueInfo('fetch_name_0', ['N', 'L', 8]), valueInfo('fetch_name_1', ['N', 'L', classes])],
    initializers: [
      floatTensor('boxes', [1, l, 8], boxes),
      floatTensor('probs', [1, l, classes], probs),
      int64Tensor('batch_axis', [1], [0]),
      int64Tensor('box_tail', [2], [l, 8]),
      int64Tensor('prob_tail', [2], [l, classes]),
    ],
    nodes: [
      node('Shape', ['x'], ['x_shape']),
      node('Gather', ['x_shape', 'batch_axis'], ['batch'], { axis: { i: 0 } }),
      node('Concat', ['batch', 'box_tail'], ['box_shape'], { axis: { i: 0 } }),
      node('Concat', ['batch', 'prob_tail'], ['prob_shape'], { axis: { i: 0 } }),
      node('Expand', ['boxes', 'box_shape'], ['fetch_name_0']),
      node('Expand', ['probs', 'prob_shape'], ['fetch_name_1']),
    ],
  });
  return writeFixtureDir('SLANet_plus', model, yml);
}
