/**
 * Self-made model dirs for the document modules, whose real weights are not available here. Each
 * graph has the input/output names, shapes and dtypes of the real program it imitates (in
 * ../shared/models/paddle-format/, named at each builder) and outputs a known result, so tests can
 * assert exactly what the post-processing must make of it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createCanvas } from '@napi-rs/canvas';
import YAML from 'yaml';
import { type FixtureInstance, fixedBoxesSubgraph } from './cvFixtures.js';
import { fixtureTempRoot } from './fixtures.js';
import { DOC_ORI_INT8_DIR } from './docPreprocessingFixtures.js';
import { buildModel, floatTensor, int64Tensor, node, valueInfo } from './onnxBuilder.js';
import { PADDLE_MODELS } from './paddleModels.js';
import { REPO_ROOT } from './paths.js';

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
export type FixedBox = FixtureInstance;

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
  const fixed = fixedBoxesSubgraph(boxes, 'fetch_name_0', 'fetch_name_1');
  const model = buildModel({
    inputs: [valueInfo('im_shape', ['N', 2]), valueInfo('image', ['N', 3, 640, 640]), valueInfo('scale_factor', ['N', 2])],
    outputs: [valueInfo('fetch_name_0', ['M', 6]), valueInfo('fetch_name_1', ['N'], 'int32')],
    initializers: fixed.initializers,
    nodes: fixed.nodes,
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

// ---------------------------------------------------------------------------------------------
// Seals: a rendered round stamp and a seal text detector that finds its text band

/** The stamp's text band in fractions of the (square) stamp side: an annular sector about the centre, opening upward. */
export interface StampBand {
  innerRadius: number;
  outerRadius: number;
  /** half the angle the band covers, around straight up (radians) */
  halfAngle: number;
}

export const STAMP_TEXT = 'PIPESERVE SEAL';

/**
 * A round red stamp on white, `side` × `side` pixels: an outer ring, a star in the middle and
 * STAMP_TEXT along the upper arc, each letter upright towards the outside. Returns the PNG and the
 * text band (with a margin around the letters).
 */
export function renderStamp(side: number): { png: Buffer; band: StampBand } {
  const canvas = createCanvas(side, side);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = 'white';
  ctx.fillRect(0, 0, side, side);
  const red = 'rgb(200, 20, 30)';
  const c = side / 2;
  ctx.strokeStyle = red;
  ctx.lineWidth = side * 0.02;
  ctx.beginPath();
  ctx.arc(c, c, side * 0.46, 0, 2 * Math.PI);
  ctx.stroke();
  ctx.fillStyle = red;
  ctx.beginPath();
  for (let k = 0; k < 10; k++) {
    const r = (k % 2 === 0 ? 0.12 : 0.05) * side;
    const a = -Math.PI / 2 + (k * Math.PI) / 5;
    ctx.lineTo(c + r * Math.cos(a), c + r * Math.sin(a));
  }
  ctx.closePath();
  ctx.fill();

  const fontPx = Math.round(side * 0.08);
  const baseline = side * 0.3;
  ctx.font = `bold ${fontPx}px sans-serif`;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'alphabetic';
  const widths = [...STAMP_TEXT].map((ch) => ctx.measureText(ch).width);
  const total = widths.reduce((a, b) => a + b, 0);
  let along = -total / 2;
  for (const [i, ch] of [...STAMP_TEXT].entries()) {
    const angle = -Math.PI / 2 + (along + widths[i]! / 2) / baseline;
    ctx.save();
    ctx.translate(c + baseline * Math.cos(angle), c + baseline * Math.sin(angle));
    ctx.rotate(angle + Math.PI / 2);
    ctx.fillText(ch, 0, 0);
    ctx.restore();
    along += widths[i]!;
  }
  const margin = 0.012 * side;
  return {
    png: canvas.toBuffer('image/png'),
    band: {
      innerRadius: (baseline - margin) / side,
      outerRadius: (baseline + 0.75 * fontPx + margin) / side,
      halfAngle: total / 2 / baseline + 0.06,
    },
  };
}

/**
 * Imitates PP-OCRv4_server_seal_det (the real PIR program takes `x` f32 [-1, 3, -1, -1] and gives
 * `fetch_name_0` f32 [-1, 1, -1, -1], a DB probability map at the input size), with the real
 * inference.yml (box_type poly). Its map is 1 inside `band` (in fractions of the input's width and
 * height, about its centre) and 0 elsewhere, whatever the pixels: on a square crop of the stamp it
 * marks exactly the text band.
 */
export function sealDetectorFixtureDir(band: StampBand): Promise<string> {
  const scalar = (name: string, v: number) => floatTensor(name, [], [v]);
  const model = buildModel({
    inputs: [valueInfo('x', ['N', 3, 'H', 'W'])],
    outputs: [valueInfo('fetch_name_0', ['N', 1, 'H', 'W'])],
    initializers: [
      int64Tensor('i0', [1], [0]),
      int64Tensor('i2', [], [2]),
      int64Tensor('i3', [], [3]),
      int64Tensor('hw_axes', [2], [2, 3]),
      int64Tensor('one_dim', [1], [1]),
      int64Tensor('col_shape', [4], [1, 1, -1, 1]),
      int64Tensor('row_shape', [4], [1, 1, 1, -1]),
      scalar('zero', 0),
      scalar('one', 1),
      scalar('half', 0.5),
      scalar('r_in2', band.innerRadius ** 2),
      scalar('r_out2', band.outerRadius ** 2),
      scalar('cone', Math.tan(band.halfAngle)),
    ],
    nodes: [
      node('Shape', ['x'], ['shape']),
      node('Gather', ['shape', 'i2'], ['h_int'], { axis: { i: 0 } }),
      node('Gather', ['shape', 'i3'], ['w_int'], { axis: { i: 0 } }),
      node('Cast', ['h_int'], ['h'], { to: { i: 1 } }),
      node('Cast', ['w_int'], ['w'], { to: { i: 1 } }),
      node('Range', ['zero', 'h', 'one'], ['ys']),
      node('Range', ['zero', 'w', 'one'], ['xs']),
      node('Add', ['ys', 'half'], ['ys_c']),
      node('Add', ['xs', 'half'], ['xs_c']),
      node('Div', ['ys_c', 'h'], ['v_flat']),
      node('Div', ['xs_c', 'w'], ['u_flat']),
      node('Sub', ['v_flat', 'half'], ['dy_flat']),
      node('Sub', ['u_flat', 'half'], ['dx_flat']),
      node('Reshape', ['dy_flat', 'col_shape'], ['dy']),
      node('Reshape', ['dx_flat', 'row_shape'], ['dx']),
      node('Mul', ['dx', 'dx'], ['dx2']),
      node('Mul', ['dy', 'dy'], ['dy2']),
      node('Add', ['dx2', 'dy2'], ['r2']),
      node('GreaterOrEqual', ['r2', 'r_in2'], ['outside_inner']),
      node('LessOrEqual', ['r2', 'r_out2'], ['inside_outer']),
      node('And', ['outside_inner', 'inside_outer'], ['in_ring']),
      node('Neg', ['dy'], ['up']),
      node('Mul', ['up', 'cone'], ['reach']),
      node('Abs', ['dx'], ['side']),
      node('LessOrEqual', ['side', 'reach'], ['in_cone']),
      node('And', ['in_ring', 'in_cone'], ['in_band']),
      node('Cast', ['in_band'], ['band_map'], { to: { i: 1 } }),
      node('Gather', ['shape', 'i0'], ['n']),
      node('Gather', ['shape', 'hw_axes'], ['hw']),
      node('Concat', ['n', 'one_dim', 'hw'], ['out_shape'], { axis: { i: 0 } }),
      node('Expand', ['band_map', 'out_shape'], ['fetch_name_0']),
    ],
  });
  return writeFixtureDir('PP-OCRv4_server_seal_det', model, realInferenceYml('PP-OCRv4_server_seal_det'));
}

/** Where the document pipelines' optional stages come from in a test YAML; a stage left out is switched off. */
export interface DocStageDirs {
  layoutDir?: string;
  /** doc preprocessing with the real doc orientation model, and UVDoc from this dir when given (else unwarping off) */
  docPreprocessing?: { unwarpingDir?: string };
}

/** A copy of the built-in `configs/<name>.yaml`, changed by `edit` and by `stages`, written to a fresh folder. */
export async function docPipelineYaml(name: string, stages: DocStageDirs, edit: (config: any) => void): Promise<string> {
  const config = YAML.parse(await readFile(path.join(REPO_ROOT, 'configs', `${name}.yaml`), 'utf8'));
  edit(config);
  if (stages.layoutDir) Object.assign(config.SubModules.LayoutDetection, { model_dir: stages.layoutDir });
  else config.use_layout_detection = false;
  config.use_doc_preprocessor = stages.docPreprocessing !== undefined;
  if (stages.docPreprocessing) {
    const doc = config.SubPipelines.DocPreprocessor;
    doc.SubModules.DocOrientationClassify.model_dir = DOC_ORI_INT8_DIR;
    doc.use_doc_unwarping = stages.docPreprocessing.unwarpingDir !== undefined;
    if (stages.docPreprocessing.unwarpingDir) doc.SubModules.DocUnwarping.model_dir = stages.docPreprocessing.unwarpingDir;
  }
  const file = path.join(await mkdtemp(path.join(fixtureTempRoot(), `${name}-`)), `${name}.yaml`);
  await writeFile(file, YAML.stringify(config));
  return file;
}

/** configs/seal_recognition.yaml with the seal text detector pointed at a fixture dir, and the stages given. */
export function sealPipelineYaml(sealDetDir: string, stages: DocStageDirs = {}): Promise<string> {
  return docPipelineYaml('seal_recognition', stages, (config) => {
    Object.assign(config.SubPipelines.SealOCR.SubModules.TextDetection, { model_dir: sealDetDir });
  });
}

let stampFile: string | undefined;
/** The rendered stamp (600 px) as a PNG file, written once per process, for `--input`. */
export function stampImageFile(): string {
  stampFile ??= (() => {
    const file = path.join(fixtureTempRoot(), 'stamp.png');
    writeFileSync(file, renderStamp(600).png);
    return file;
  })();
  return stampFile;
}
