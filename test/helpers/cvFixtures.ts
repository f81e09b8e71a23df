/**
 * Self-made model dirs for the computer-vision pipelines whose PaddleX default models are not
 * available here, and the pieces their tests share. Each graph has the input/output names, shapes
 * and dtypes of the PaddleX export it imitates (named at each builder) and outputs a known function
 * of its input, so tests can compute the exact expected result independently.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import YAML from 'yaml';
import type { RgbImage } from '../../src/io/image.js';
import { IMAGENET_MEAN, IMAGENET_STD } from '../../src/models/preprocessOps.js';
import { loadCv } from '../../src/ops/cv.js';
import { detectorFixtureDir, fixtureTempRoot } from './fixtures.js';
import { buildModel, floatTensor, int32Tensor, int64Tensor, node, valueInfo } from './onnxBuilder.js';
import { REPO_ROOT, SHARED_MODELS } from './paths.js';

/** `img` stretched to width × height with sharp's linear kernel, as PaddleClas-style pre-processing resizes here. */
export async function resizedWithSharpLinear(img: RgbImage, width: number, height: number): Promise<RgbImage> {
  const { data } = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .resize(width, height, { fit: 'fill', kernel: 'linear' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width, height, data: new Uint8Array(data) };
}

/** `img` stretched to width × height by OpenCV's cv2.resize INTER_LINEAR, as PaddleX's segmentation Resize does. */
export async function resizedWithCv2Linear(img: RgbImage, width: number, height: number): Promise<RgbImage> {
  const cv = await loadCv();
  const src = new cv.Mat(img.height, img.width, cv.CV_8UC3);
  const dst = new cv.Mat();
  try {
    src.data.set(img.data);
    cv.resize(src, dst, new cv.Size(width, height), 0, 0, cv.INTER_LINEAR);
    return { width, height, data: new Uint8Array(dst.data) };
  } finally {
    src.delete();
    dst.delete();
  }
}

async function writeFixtureDir(prefix: string, model: Uint8Array, inferenceConfig: Record<string, unknown>): Promise<string> {
  const dir = await mkdtemp(path.join(fixtureTempRoot(), `${prefix}-`));
  await writeFile(path.join(dir, 'inference.onnx'), model);
  await writeFile(path.join(dir, 'inference.yml'), YAML.stringify(inferenceConfig));
  return dir;
}

/** A model dir built once per process. */
function once(build: () => Promise<string>): () => Promise<string> {
  let dir: Promise<string> | undefined;
  return () => (dir ??= build());
}

/**
 * Writes a copy of the built-in `configs/<kind>.yaml` with each listed sub-module pointed at a model
 * dir (and the model name found there), other settings merged in. Returns the file path.
 */
export async function multiModelPipelineYaml(
  kind: string,
  roles: Record<string, { modelDir: string } & Record<string, unknown>>,
): Promise<string> {
  const config = YAML.parse(await readFile(path.join(REPO_ROOT, 'configs', `${kind}.yaml`), 'utf8'));
  for (const [role, { modelDir, ...params }] of Object.entries(roles)) {
    if (!config.SubModules?.[role]) throw new Error(`configs/${kind}.yaml has no SubModules.${role}`);
    const inference = YAML.parse(await readFile(path.join(modelDir, 'inference.yml'), 'utf8'));
    Object.assign(config.SubModules[role], { model_name: inference.Global.model_name, model_dir: modelDir }, params);
  }
  const file = path.join(await mkdtemp(path.join(fixtureTempRoot(), `${kind}-`)), `${kind}.yaml`);
  await writeFile(file, YAML.stringify(config));
  return file;
}

// ---------------------------------------------------------------------------------------------
// Segmentation, anomaly, multi-label and instance-segmentation models

/** The real PP-HumanSeg-Lite portrait model (PaddleSeg export, logits [N, 2, H, W] without argmax), read in place. */
export const HUMANSEG_DIR = path.join(SHARED_MODELS, 'PP-HumanSeg-Lite_portrait_398x224');

/**
 * Imitates PaddleX's PP-LiteSeg-T export: input `x` f32 [N, 3, H, W] (any size), output
 * `argmax_0.tmp_0` int32 [N, H, W] (PaddleSeg `output_op: argmax`), inference.yml `Deploy.transforms`
 * with a lone Normalize (no Resize: images go in at their own size). Its class at each pixel is the
 * index of the largest normalized channel, i.e. of the largest of R, G, B (the first on ties).
 */
export const liteSegFixtureDir = once(async () => {
  return writeFixtureDir(
    'PP-LiteSeg-T',
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
});

/** ImageNet mean / std of PaddleX's STFPM inference.yml Normalize */
export const STFPM_MEAN = [0.485, 0.456, 0.406];
export const STFPM_STD = [0.229, 0.224, 0.225];

/**
 * Imitates PaddleX's STFPM export (PaddleSeg-style `Deploy.transforms`: Resize to 256×256,
 * Normalize with ImageNet mean/std): input `x` f32 [N, 3, 256, 256], one output, the anomaly
 * score map f32 [N, 1, 256, 256]. Its score is normalized red minus normalized green, so red
 * things are "anomalies".
 */
export const stfpmFixtureDir = once(async () => {
  return writeFixtureDir(
    'STFPM',
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
});

const logit = (p: number) => Math.log(p / (1 - p));

/** PaddleClas' NormalizeImage as its exports write it. */
const PADDLECLAS_NORMALIZE = { channel_num: 3, mean: IMAGENET_MEAN, std: IMAGENET_STD, scale: 1 / 255, order: '' };

/**
 * A PaddleClas multi-label export: input `x` [N, 3, height, width] (fixed, so a crop that is not
 * resized to it fails the run), output [N, classes] of sigmoid scores: sigmoid(the image's channel
 * means · `channelWeights` [3, classes] + `bias`).
 */
function multiLabelModel(height: number, width: number, output: string, channelWeights: Float32Array, bias: ArrayLike<number>): Uint8Array {
  const classes = bias.length;
  return buildModel({
    inputs: [valueInfo('x', ['N', 3, height, width])],
    outputs: [valueInfo(output, ['N', classes])],
    initializers: [floatTensor('channel_weights', [3, classes], channelWeights), floatTensor('bias', [classes], bias)],
    nodes: [
      node('ReduceMean', ['x'], ['channel_means'], { axes: { ints: [2, 3] }, keepdims: { i: 0 } }),
      node('MatMul', ['channel_means', 'channel_weights'], ['weighted']),
      node('Add', ['weighted', 'bias'], ['logits']),
      node('Sigmoid', ['logits'], [output]),
    ],
  });
}

/** Attribute classifiers: the channel weights are zero, so every crop gets `scores` (0.01 for the others). */
function attributeModel(height: number, width: number, scores: Readonly<Record<number, number>>, classes: number): Uint8Array {
  const bias = Array.from({ length: classes }, (_, k) => logit(scores[k] ?? 0.01));
  return multiLabelModel(height, width, 'sigmoid_0.tmp_0', new Float32Array(3 * classes), bias);
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
export const multilabelFixtureDir = once(async () => {
  const weights = new Float32Array(3 * 80);
  for (let c = 0; c < 3; c++) weights[c * 80 + c] = MULTILABEL_GAIN;
  const bias = Float32Array.from({ length: 80 }, (_, k) => (k < 3 ? 0 : logit(MULTILABEL_FIXED_SCORES[k] ?? 0.1)));
  return writeFixtureDir('PP-HGNetV2-B6_ML', multiLabelModel(448, 448, 'sigmoid_2.tmp_0', weights, bias), {
    Global: { model_name: 'PP-HGNetV2-B6_ML' },
    PreProcess: {
      transform_ops: [
        { ResizeImage: { size: [448, 448], interpolation: 1 } },
        { NormalizeImage: PADDLECLAS_NORMALIZE },
        { ToCHWImage: null },
      ],
    },
    PostProcess: { MultiLabelThreshOutput: { threshold: 0.5, label_list: COCO_LABELS } },
  });
});

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
export const maskRtDetrFixtureDir = once(async () => {
  const n = MASK_RTDETR_INSTANCES.length;
  const column = (pick: (b: FixtureInstance['box']) => number) =>
    floatTensor(
      '',
      [n, 1, 1],
      MASK_RTDETR_INSTANCES.map((i) => pick(i.box)),
    );
  const named = (name: string, t: ReturnType<typeof floatTensor>) => ({ ...t, name });
  const fixed = fixedBoxesSubgraph(MASK_RTDETR_INSTANCES, 'boxes', 'box_num');
  return writeFixtureDir(
    'Mask-RT-DETR-S',
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
});

// ---------------------------------------------------------------------------------------------
// Rotated detector (PP-YOLOE-R-L)

/** PP-YOLOE-R's DOTA classes, as its inference.yml lists them. */
export const DOTA_LABELS = [
  'plane',
  'baseball-diamond',
  'bridge',
  'ground-track-field',
  'small-vehicle',
  'large-vehicle',
  'ship',
  'tennis-court',
  'basketball-court',
  'storage-tank',
  'soccer-ball-field',
  'roundabout',
  'harbor',
  'swimming-pool',
  'helicopter',
];

/** Rows the rotated fixture returns, in original-image pixels of a 640×480 photo: class, score, 4 corners. */
export const ROTATED_ROWS: ReadonlyArray<readonly number[]> = [
  // a diamond around the centre
  [0, 0.92, 320, 140, 420, 240, 320, 340, 220, 240],
  // runs off the bottom-right corner: PaddleX clamps every corner into the image
  [4, 0.66, 600, 400, 700, 420, 690, 500, 590, 480],
  // under the pipeline's 0.5
  [6, 0.41, 50, 50, 120, 60, 110, 100, 40, 90],
  // a padding row of the fixed-size NMS output (class -1)
  [-1, 0.99, 0, 0, 0, 0, 0, 0, 0, 0],
];

/**
 * Imitates PP-YOLOE-R-L exported with post-process: inputs `image` [N, 3, H, W] and `scale_factor`
 * [N, 2] ([h, w] resize ratios), outputs `multiclass_nms3_0.tmp_0` [M, 10] (class, score, corners in
 * original pixels) and `multiclass_nms3_0.tmp_2` [N] int32 box counts; Preprocess as its export
 * (Resize 1024 keep_ratio, NormalizeImage, Permute, PadStride 32). The graph divides corners given in
 * resized-input pixels by `scale_factor` as the real head does, so the rows come back as ROTATED_ROWS
 * only if the pre-processing fed the right ratios: those of a 640×480 photo resized to 1024×768 (1.6).
 */
export const rotatedDetectorFixtureDir = once(async () => {
  const SCALE = 1.6;
  const rows = ROTATED_ROWS.length;
  const model = buildModel({
    inputs: [valueInfo('image', ['N', 3, 'H', 'W']), valueInfo('scale_factor', ['N', 2])],
    outputs: [valueInfo('multiclass_nms3_0.tmp_0', ['M', 10]), valueInfo('multiclass_nms3_0.tmp_2', ['N'], 'int32')],
    initializers: [
      floatTensor(
        'class_scores',
        [rows, 2],
        ROTATED_ROWS.flatMap((r) => r.slice(0, 2)),
      ),
      floatTensor(
        'input_corners',
        [rows, 8],
        ROTATED_ROWS.flatMap((r) => r.slice(2).map((v) => v * SCALE)),
      ),
      int64Tensor('xy_ratio_index', [8], [1, 0, 1, 0, 1, 0, 1, 0]),
      int32Tensor('box_count', [1], [rows]),
    ],
    nodes: [
      node('Gather', ['scale_factor', 'xy_ratio_index'], ['ratios'], { axis: { i: 1 } }),
      node('Div', ['input_corners', 'ratios'], ['corners']),
      node('Concat', ['class_scores', 'corners'], ['multiclass_nms3_0.tmp_0'], { axis: { i: 1 } }),
      node('Identity', ['box_count'], ['multiclass_nms3_0.tmp_2']),
    ],
  });
  return writeFixtureDir('PP-YOLOE-R-L', model, {
    mode: 'paddle',
    draw_threshold: 0.5,
    metric: 'RBOX',
    use_dynamic_shape: false,
    Global: { model_name: 'PP-YOLOE-R-L' },
    arch: 'YOLO',
    min_subgraph_size: 3,
    Preprocess: [
      { type: 'Resize', interp: 2, keep_ratio: true, target_size: [1024, 1024] },
      { type: 'NormalizeImage', is_scale: true, mean: IMAGENET_MEAN, std: IMAGENET_STD },
      { type: 'Permute' },
      { type: 'PadStride', stride: 32 },
    ],
    label_list: DOTA_LABELS,
  });
});

// ---------------------------------------------------------------------------------------------
// Attribute classifiers (PP-LCNet_x1_0_pedestrian_attribute / _vehicle_attribute)

/** PA100K's 26 pedestrian attributes, in the model's class order. */
export const PEDESTRIAN_LABELS = [
  'Hat',
  'Glasses',
  'ShortSleeve',
  'LongSleeve',
  'UpperStride',
  'UpperLogo',
  'UpperPlaid',
  'UpperSplice',
  'LowerStripe',
  'LowerPattern',
  'LongCoat',
  'Trousers',
  'Shorts',
  'Skirt&Dress',
  'boots',
  'HandBag',
  'ShoulderBag',
  'Backpack',
  'HoldObjectsInFront',
  'AgeOver60',
  'Age18-60',
  'AgeLess18',
  'Female',
  'Front',
  'Side',
  'Back',
];

/** The vehicle model's 10 colours then 9 types, labelled as in PaddleX's docs. */
export const VEHICLE_LABELS = [
  'yellow(黄色)',
  'orange(橙色)',
  'green(绿色)',
  'gray(灰色)',
  'red(红色)',
  'blue(蓝色)',
  'white(白色)',
  'golden(金色)',
  'brown(棕色)',
  'black(黑色)',
  'sedan(轿车)',
  'suv(越野车)',
  'van(面包车)',
  'hatchback(掀背车)',
  'mpv(多用途汽车)',
  'pickup(皮卡车)',
  'bus(公共汽车)',
  'truck(卡车)',
  'estate(旅行车)',
];

/** Scores the pedestrian fixture gives every crop, by class id (all others 0.01). */
export const PEDESTRIAN_SCORES: Readonly<Record<number, number>> = { 0: 0.95, 10: 0.85, 20: 0.75, 23: 0.71, 11: 0.65, 5: 0.3 };
/** Scores the vehicle fixture gives every crop, by class id (all others 0.01). */
export const VEHICLE_SCORES: Readonly<Record<number, number>> = { 6: 0.92, 16: 0.81, 10: 0.4 };

/** Imitates PP-LCNet_x1_0_pedestrian_attribute: input x [N, 3, 256, 192], 26 sigmoid outputs, MultiLabelThreshOutput. */
export const pedestrianAttributeFixtureDir = once(async () =>
  writeFixtureDir('PP-LCNet_x1_0_pedestrian_attribute', attributeModel(256, 192, PEDESTRIAN_SCORES, PEDESTRIAN_LABELS.length), {
    Global: { model_name: 'PP-LCNet_x1_0_pedestrian_attribute' },
    PreProcess: { transform_ops: [{ ResizeImage: { size: [192, 256] } }, { NormalizeImage: PADDLECLAS_NORMALIZE }, { ToCHWImage: null }] },
    PostProcess: { MultiLabelThreshOutput: { threshold: 0.5, label_list: PEDESTRIAN_LABELS } },
  }),
);

/** Imitates PP-LCNet_x1_0_vehicle_attribute: input x [N, 3, 192, 256], 19 sigmoid outputs, MultiLabelThreshOutput. */
export const vehicleAttributeFixtureDir = once(async () =>
  writeFixtureDir('PP-LCNet_x1_0_vehicle_attribute', attributeModel(192, 256, VEHICLE_SCORES, VEHICLE_LABELS.length), {
    Global: { model_name: 'PP-LCNet_x1_0_vehicle_attribute' },
    PreProcess: { transform_ops: [{ ResizeImage: { size: [256, 192] } }, { NormalizeImage: PADDLECLAS_NORMALIZE }, { ToCHWImage: null }] },
    PostProcess: { MultiLabelThreshOutput: { threshold: 0.5, label_list: VEHICLE_LABELS } },
  }),
);

/** An attribute pipeline YAML on PicoDet-XS (a real COCO detector standing in for the person / vehicle detector) and a fixture classifier. */
export async function attributePipelineYaml(
  kind: 'pedestrian' | 'vehicle',
  params: Record<string, Record<string, unknown>> = {},
): Promise<string> {
  const classifier = kind === 'pedestrian' ? await pedestrianAttributeFixtureDir() : await vehicleAttributeFixtureDir();
  return multiModelPipelineYaml(`${kind}_attribute_recognition`, {
    Detection: { modelDir: detectorFixtureDir(), ...params.Detection },
    Classification: { modelDir: classifier, ...params.Classification },
  });
}

// ---------------------------------------------------------------------------------------------
// Pixel checks on drawn results

/**
 * Asserts that a line of `colour` was drawn through (x, y): some pixel of the 3×3 neighbourhood is
 * near the colour (thin anti-aliased lines lose saturation through JPEG), much nearer than the photo
 * underneath was.
 */
export function assertDrawnAt(drawn: RgbImage, photo: RgbImage, x: number, y: number, colour: readonly number[], what: string): void {
  const closest = (img: RgbImage) => {
    let best = Number.POSITIVE_INFINITY;
    for (let dy = -1; dy <= 1; dy++) {
      for (let dx = -1; dx <= 1; dx++) {
        const px = Math.min(img.width - 1, Math.max(0, Math.round(x) + dx));
        const py = Math.min(img.height - 1, Math.max(0, Math.round(y) + dy));
        const at = (py * img.width + px) * 3;
        best = Math.min(best, Math.hypot(...[0, 1, 2].map((c) => img.data[at + c]! - colour[c]!)));
      }
    }
    return best;
  };
  const drawnDistance = closest(drawn);
  const photoDistance = closest(photo);
  if (!(drawnDistance < 80 && photoDistance > 2 * drawnDistance)) {
    throw new Error(
      `${what} at (${x}, ${y}): closest to ${colour}: ${drawnDistance.toFixed(1)} drawn, ${photoDistance.toFixed(1)} in the photo`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Keypoint model (PP-TinyPose_128x96)

export const HEATMAP_WIDTH = 24;
export const HEATMAP_HEIGHT = 32;

/**
 * Where the keypoint fixture puts each COCO joint's heatmap peak (heatmap pixels, sub-pixel). Left/right
 * pairs are mirror images for PP-TinyPose's flip test: a peak at x pairs with W − x (the mirrored map
 * lands one column left, which PaddleX shifts back), and the nose sits at W / 2.
 */
export const HEATMAP_PEAKS: ReadonlyArray<readonly [number, number]> = (() => {
  const left: Array<[number, number]> = [
    [13.4, 3.6],
    [14.7, 4.1],
    [16.2, 9.4],
    [18.6, 14.2],
    [19.3, 18.7],
    [14.6, 18.2],
    [15.1, 23.6],
    [15.5, 27.8],
  ];
  return [
    [HEATMAP_WIDTH / 2, 4.3] as [number, number],
    ...left.flatMap(([x, y]) => [[x, y] as [number, number], [HEATMAP_WIDTH - x, y] as [number, number]]),
  ];
})();
/** Peak height per joint (equal within a left/right pair). */
export const HEATMAP_AMPLITUDES = HEATMAP_PEAKS.map((_, j) => 0.5 + 0.04 * Math.ceil(j / 2));

/** The fixture's heatmaps: a Gaussian (sigma 2, as training targets) per joint around its peak. */
export function fixtureHeatmaps(): Float32Array {
  const maps = new Float32Array(HEATMAP_PEAKS.length * HEATMAP_HEIGHT * HEATMAP_WIDTH);
  HEATMAP_PEAKS.forEach(([px, py], j) => {
    for (let y = 0; y < HEATMAP_HEIGHT; y++) {
      for (let x = 0; x < HEATMAP_WIDTH; x++) {
        maps[(j * HEATMAP_HEIGHT + y) * HEATMAP_WIDTH + x] = HEATMAP_AMPLITUDES[j]! * Math.exp(-((x - px) ** 2 + (y - py) ** 2) / 8);
      }
    }
  });
  return maps;
}

/**
 * Imitates PP-TinyPose_128x96 exported by PaddleDetection (deploy mode): input `image` [N, 3, 128, 96],
 * outputs the heatmaps `conv2d_441.tmp_1` [N, 17, 32, 24] and their flat argmax `argmax_0.tmp_0`
 * [N, 17] int64; Preprocess TopDownEvalAffine (trainsize [96, 128]), NormalizeImage, Permute. Every
 * crop gets the heatmaps of `fixtureHeatmaps` (the input enters the graph multiplied by 0).
 */
export async function keypointFixtureDir(modelName = 'PP-TinyPose_128x96'): Promise<string> {
  const joints = HEATMAP_PEAKS.length;
  const model = buildModel({
    inputs: [valueInfo('image', ['N', 3, 128, 96])],
    outputs: [
      valueInfo('conv2d_441.tmp_1', ['N', joints, HEATMAP_HEIGHT, HEATMAP_WIDTH]),
      valueInfo('argmax_0.tmp_0', ['N', joints], 'int64'),
    ],
    initializers: [
      floatTensor('heatmaps', [1, joints, HEATMAP_HEIGHT, HEATMAP_WIDTH], fixtureHeatmaps()),
      floatTensor('zero', [], [0]),
      int64Tensor('flat_shape', [3], [0, joints, -1]),
    ],
    nodes: [
      node('ReduceMean', ['image'], ['image_mean'], { axes: { ints: [1, 2, 3] }, keepdims: { i: 1 } }),
      node('Mul', ['image_mean', 'zero'], ['nothing']),
      node('Add', ['heatmaps', 'nothing'], ['conv2d_441.tmp_1']),
      node('Reshape', ['conv2d_441.tmp_1', 'flat_shape'], ['flat']),
      node('ArgMax', ['flat'], ['argmax_0.tmp_0'], { axis: { i: 2 }, keepdims: { i: 0 } }),
    ],
  });
  return writeFixtureDir(modelName, model, {
    mode: 'paddle',
    draw_threshold: 0.5,
    metric: 'KeyPointTopDownCOCOEval',
    use_dynamic_shape: false,
    Global: { model_name: modelName },
    arch: 'HRNet',
    min_subgraph_size: 3,
    Preprocess: [
      { type: 'TopDownEvalAffine', trainsize: [96, 128] },
      { type: 'NormalizeImage', is_scale: true, mean: IMAGENET_MEAN, std: IMAGENET_STD },
      { type: 'Permute' },
    ],
    label_list: ['keypoint'],
  });
}

/** A human_keypoint_detection YAML on PicoDet-XS (standing in for PP-YOLOE-S_human) and the keypoint fixture. */
export async function keypointPipelineYaml(keypointParams: Record<string, unknown> = {}, keypointModelName?: string): Promise<string> {
  return multiModelPipelineYaml('human_keypoint_detection', {
    ObjectDetection: { modelDir: detectorFixtureDir() },
    KeypointDetection: { modelDir: await keypointFixtureDir(keypointModelName), ...keypointParams },
  });
}
