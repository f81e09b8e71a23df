/**
 * Self-made model dirs for the computer-vision pipelines whose PaddleX default models are not
 * available here. Each graph has the input/output names, shapes and dtypes of the PaddleX export
 * it imitates (named at each builder) and outputs a known function of its input, so tests can
 * compute the exact expected result independently.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import YAML from 'yaml';
import type { RgbImage } from '../../src/io/image.js';
import { fixtureTempRoot } from './fixtures.js';
import { buildModel, floatTensor, int64Tensor, node, valueInfo } from './onnxBuilder.js';
import { SHARED_MODELS } from './paths.js';

/** `img` stretched to width × height with the kernel the server's LINEAR resize uses (sharp 'linear'). */
export async function resizedLikeTheModel(img: RgbImage, width: number, height: number): Promise<RgbImage> {
  const { data } = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .resize(width, height, { fit: 'fill', kernel: 'linear' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width, height, data: new Uint8Array(data) };
}

const built = new Map<string, Promise<string>>();

/** A model dir (inference.onnx + inference.yml) written once per process under the fixtures' temp root. */
function modelDirOnce(name: string, model: () => Uint8Array, inferenceConfig: Record<string, unknown>): Promise<string> {
  let dir = built.get(name);
  if (!dir) {
    dir = (async () => {
      const out = await mkdtemp(path.join(fixtureTempRoot(), `${name}-`));
      await writeFile(path.join(out, 'inference.onnx'), model());
      await writeFile(path.join(out, 'inference.yml'), YAML.stringify(inferenceConfig));
      return out;
    })();
    built.set(name, dir);
  }
  return dir;
}

/** The real PP-HumanSeg-Lite portrait model (PaddleSeg export, logits [N, 2, H, W] without argmax), read in place. */
export const HUMANSEG_DIR = path.join(SHARED_MODELS, 'PP-HumanSeg-Lite_portrait_398x224');

/**
 * Imitates PaddleX's PP-LiteSeg-T export: input `x` f32 [N, 3, H, W] (any size), output
 * `argmax_0.tmp_0` int32 [N, H, W] (PaddleSeg `output_op: argmax`), inference.yml `Deploy.transforms`
 * with a lone Normalize (no Resize: images go in at their own size). Its class at each pixel is the
 * index of the largest normalized channel, i.e. of the largest of R, G, B (the first on ties).
 */
export function liteSegFixtureDir(): Promise<string> {
  return modelDirOnce(
    'PP-LiteSeg-T',
    () =>
      buildModel({
        inputs: [valueInfo('x', ['N', 3, 'H', 'W'])],
        outputs: [valueInfo('argmax_0.tmp_0', ['N', 'H', 'W'], 'int32')],
        nodes: [
          node('ArgMax', ['x'], ['labels64'], { axis: { i: 1 }, keepdims: { i: 0 } }),
          node('Cast', ['labels64'], ['argmax_0.tmp_0'], { to: { i: 6 } }),
        ],
      }),
    {
      Deploy: { model: 'inference.pdmodel', params: 'inference.pdiparams', transforms: [{ type: 'Normalize' }] },
      Global: { model_name: 'PP-LiteSeg-T' },
    },
  );
}

/** ImageNet mean / std of PaddleX's STFPM inference.yml Normalize */
export const STFPM_MEAN = [0.485, 0.456, 0.406];
export const STFPM_STD = [0.229, 0.224, 0.225];

/**
 * Imitates PaddleX's STFPM export (PaddleSeg-style `Deploy.transforms`: Resize to 256×256,
 * Normalize with ImageNet mean/std): input `x` f32 [N, 3, 256, 256], one output, the anomaly
 * score map f32 [N, 1, 256, 256]. Its score is normalized red minus normalized green, so red
 * things are "anomalies".
 */
export function stfpmFixtureDir(): Promise<string> {
  return modelDirOnce(
    'STFPM',
    () =>
      buildModel({
        inputs: [valueInfo('x', ['N', 3, 256, 256])],
        outputs: [valueInfo('tmp_0', ['N', 1, 256, 256])],
        nodes: [node('Split', ['x'], ['red', 'green', 'blue'], { axis: { i: 1 } }), node('Sub', ['red', 'green'], ['tmp_0'])],
      }),
    {
      Deploy: {
        model: 'inference.pdmodel',
        params: 'inference.pdiparams',
        transforms: [
          { type: 'Resize', target_size: [256, 256] },
          { type: 'Normalize', mean: STFPM_MEAN, std: STFPM_STD },
        ],
      },
      Global: { model_name: 'STFPM' },
    },
  );
}

/** The 80 COCO class names PaddleX's COCO models list (read from the PicoDet-XS fixture's inference.yml). */
export const COCO_LABELS: string[] = YAML.parse(readFileSync(path.join(SHARED_MODELS, 'PicoDet-XS', 'inference.yml'), 'utf8')).label_list;

/** Fixed scores of the multi-label fixture's classes 3-79 (the rest are 0.1): cat, dog, chair, tvmonitor. */
export const MULTILABEL_FIXED_SCORES: Record<number, number> = { 15: 0.9, 16: 0.75, 56: 0.6, 62: 0.45 };
/** Classes 0-2 (person, bicycle, car) score sigmoid(MULTILABEL_GAIN × the mean of normalized R, G, B). */
export const MULTILABEL_GAIN = 4;

/**
 * Imitates PaddleX's PP-HGNetV2-B6_ML export (PaddleClas, COCO multi-label): input `x` f32
 * [N, 3, 448, 448], output `sigmoid_2.tmp_0` f32 [N, 80]; inference.yml ResizeImage 448×448,
 * ImageNet NormalizeImage, ToCHWImage, `PostProcess.MultiLabelThreshOutput` {threshold: 0.5, label_list}.
 */
export function multilabelFixtureDir(): Promise<string> {
  const weights = new Float32Array(3 * 80);
  for (let c = 0; c < 3; c++) weights[c * 80 + c] = MULTILABEL_GAIN;
  const logit = (p: number) => Math.log(p / (1 - p));
  const bias = Float32Array.from({ length: 80 }, (_, k) => (k < 3 ? 0 : logit(MULTILABEL_FIXED_SCORES[k] ?? 0.1)));
  return modelDirOnce(
    'PP-HGNetV2-B6_ML',
    () =>
      buildModel({
        inputs: [valueInfo('x', ['N', 3, 448, 448])],
        outputs: [valueInfo('sigmoid_2.tmp_0', ['N', 80])],
        initializers: [floatTensor('channel_weights', [3, 80], weights), floatTensor('class_bias', [80], bias)],
        nodes: [
          node('ReduceMean', ['x'], ['channel_means'], { axes: { ints: [2, 3] }, keepdims: { i: 0 } }),
          node('MatMul', ['channel_means', 'channel_weights'], ['weighted']),
          node('Add', ['weighted', 'class_bias'], ['logits']),
          node('Sigmoid', ['logits'], ['sigmoid_2.tmp_0']),
        ],
      }),
    {
      Global: { model_name: 'PP-HGNetV2-B6_ML' },
      PreProcess: {
        transform_ops: [
          { ResizeImage: { size: [448, 448], interpolation: 1 } },
          { NormalizeImage: { channel_num: 3, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], scale: 1 / 255, order: '' } },
          { ToCHWImage: null },
        ],
      },
      PostProcess: { MultiLabelThreshOutput: { threshold: 0.5, label_list: COCO_LABELS } },
    },
  );
}

/** An instance the Mask-RT-DETR fixture always finds: its box as fractions of the image's width/height, its mask the ellipse inscribed in it. */
export interface FixtureInstance {
  classId: number;
  score: number;
  /** [x1, y1, x2, y2] / [width, height, width, height] */
  box: [number, number, number, number];
}

/**
 * The part of a PaddleDetection-export fixture (exported with post-process) that outputs fixed
 * boxes: the original [h, w] from `im_shape` / `scale_factor` (as `orig_hw`), then one row (class,
 * score, x1, y1, x2, y2) per instance, its box scaled from fractions to original pixels, as
 * `boxesOutput`, and the row count as `countOutput` (int32 [1]). Uses the int64 scalar `first` (0).
 */
export function fixedBoxesSubgraph(instances: readonly FixtureInstance[], boxesOutput: string, countOutput: string) {
  const n = instances.length;
  return {
    initializers: [
      floatTensor(
        'box_fracs',
        [n, 4],
        instances.flatMap((i) => i.box),
      ),
      floatTensor(
        'class_scores',
        [n, 2],
        instances.flatMap((i) => [i.classId, i.score]),
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
      node('Concat', ['class_scores', 'coords'], [boxesOutput], { axis: { i: 1 } }),
      node('Identity', ['box_count'], [countOutput]),
    ],
  };
}

export const MASK_RTDETR_INSTANCES: FixtureInstance[] = [
  { classId: 0, score: 0.9, box: [0.1, 0.15, 0.45, 0.8] },
  { classId: 16, score: 0.7, box: [0.52, 0.33, 0.91, 0.71] },
  { classId: 15, score: 0.3, box: [0.2, 0.2, 0.31, 0.3] },
];

/**
 * Imitates PaddleX's Mask-RT-DETR-S export (PaddleDetection, exported with post-process): inputs
 * `im_shape` [N, 2], `image` f32 [N, 3, 640, 640], `scale_factor` [N, 2]; outputs, in PaddleX's
 * order, boxes f32 [M, 6] (class, score, x1, y1, x2, y2 in original pixels), box counts int32 [N]
 * and masks int32 [M, H, W] at the original image size; inference.yml as PaddleX's RT-DETR exports
 * (Resize 640×640 interp 2, NormalizeImage none, Permute, `mask: true`, COCO labels). Whatever the
 * photo, it finds MASK_RTDETR_INSTANCES, scaled to the original size it derives from
 * im_shape / scale_factor, each mask the ellipse inscribed in its box (pixel centres, d < 1).
 */
export function maskRtDetrFixtureDir(): Promise<string> {
  const n = MASK_RTDETR_INSTANCES.length;
  const column = (pick: (b: FixtureInstance['box']) => number) =>
    floatTensor(
      '',
      [n, 1, 1],
      MASK_RTDETR_INSTANCES.map((i) => pick(i.box)),
    );
  const named = (name: string, t: ReturnType<typeof floatTensor>) => ({ ...t, name });
  const fixed = fixedBoxesSubgraph(MASK_RTDETR_INSTANCES, 'boxes', 'box_num');
  return modelDirOnce(
    'Mask-RT-DETR-S',
    () =>
      buildModel({
        inputs: [valueInfo('im_shape', ['N', 2]), valueInfo('image', ['N', 3, 640, 640]), valueInfo('scale_factor', ['N', 2])],
        outputs: [valueInfo('boxes', ['M', 6]), valueInfo('box_num', ['N'], 'int32'), valueInfo('masks', ['M', 'H', 'W'], 'int32')],
        initializers: [
          ...fixed.initializers,
          named(
            'cx_frac',
            column((b) => (b[0] + b[2]) / 2),
          ),
          named(
            'cy_frac',
            column((b) => (b[1] + b[3]) / 2),
          ),
          named(
            'rx_frac',
            column((b) => (b[2] - b[0]) / 2),
          ),
          named(
            'ry_frac',
            column((b) => (b[3] - b[1]) / 2),
          ),
          int64Tensor('second', [], [1]),
          int64Tensor('row_shape', [3], [1, -1, 1]),
          int64Tensor('col_shape', [3], [1, 1, -1]),
          floatTensor('zero', [], [0]),
          floatTensor('one', [], [1]),
          floatTensor('half', [], [0.5]),
        ],
        nodes: [
          ...fixed.nodes,
          node('Gather', ['orig_hw', 'first'], ['h']),
          node('Gather', ['orig_hw', 'second'], ['w']),
          node('Range', ['zero', 'h', 'one'], ['ys_raw']),
          node('Range', ['zero', 'w', 'one'], ['xs_raw']),
          node('Add', ['ys_raw', 'half'], ['ys_flat']),
          node('Add', ['xs_raw', 'half'], ['xs_flat']),
          node('Reshape', ['ys_flat', 'row_shape'], ['ys']),
          node('Reshape', ['xs_flat', 'col_shape'], ['xs']),
          node('Mul', ['cx_frac', 'w'], ['cx']),
          node('Mul', ['cy_frac', 'h'], ['cy']),
          node('Mul', ['rx_frac', 'w'], ['rx']),
          node('Mul', ['ry_frac', 'h'], ['ry']),
          node('Sub', ['xs', 'cx'], ['dx_raw']),
          node('Sub', ['ys', 'cy'], ['dy_raw']),
          node('Div', ['dx_raw', 'rx'], ['dx']),
          node('Div', ['dy_raw', 'ry'], ['dy']),
          node('Mul', ['dx', 'dx'], ['dx2']),
          node('Mul', ['dy', 'dy'], ['dy2']),
          node('Add', ['dx2', 'dy2'], ['d']),
          node('Less', ['d', 'one'], ['inside']),
          node('Cast', ['inside'], ['masks'], { to: { i: 6 } }),
        ],
      }),
    {
      mode: 'paddle',
      draw_threshold: 0.5,
      metric: 'COCO',
      use_dynamic_shape: false,
      Global: { model_name: 'Mask-RT-DETR-S' },
      arch: 'DETR',
      min_subgraph_size: 3,
      mask: true,
      Preprocess: [
        { type: 'Resize', interp: 2, keep_ratio: false, target_size: [640, 640] },
        { type: 'NormalizeImage', is_scale: true, mean: [0, 0, 0], std: [1, 1, 1], norm_type: 'none' },
        { type: 'Permute' },
      ],
      label_list: COCO_LABELS,
    },
  );
}
