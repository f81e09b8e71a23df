/**
 * Self-made models with the exact I/O of PaddleX's recognition exports (their weights are not
 * available here), built so that their answers are meaningful:
 * - PP-ShiTuV2_det (PicoDet main-body detector, paddle2onnx export with NMS): inputs `image`
 *   f32[N,3,640,640] and `scale_factor` f32[N,2]; outputs `multiclass_nms3_0.tmp_0` f32[M,6]
 *   (class, score, x1, y1, x2, y2 in original pixels) and `multiclass_nms3_0.tmp_2` i32[N]. This one
 *   always finds one "foreground" object, score 0.9, in the centre half of the image.
 * - PP-ShiTuV2_rec / MobileFaceNet (PaddleClas feature exports): input `x` f32[N,3,S,S], output
 *   f32[N,dim] before PaddleX's NormalizeFeatures. These compute a fixed random projection of the
 *   image averaged over a grid and standardised per channel: the same picture always gives the same
 *   vector, different pictures give different ones. The face model adds the mirrored grid, so a face
 *   and its mirror image share a feature, as a trained face model nearly does.
 */
import { rmSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import YAML from 'yaml';
import { encodeIndex } from '../../src/io/vectorIndex.js';
import { buildModel, floatTensor, int64Tensor, node, valueInfo, writeModelDir, type ModelDir } from './onnxBuilder.js';
import { OPENCV_DATA, REPO_ROOT, SHARED_MODELS, SKIMAGE_DATA } from './paths.js';

export const SHITU_DET_INPUT = 640;
export const SHITU_DET_SCORE = 0.9;
export const SHITU_FEATURE_DIM = 512;
export const FACE_FEATURE_DIM = 128;

/** Deterministic pseudo-random numbers in [-1, 1) (mulberry32), so fixtures are the same on every run. */
function pseudoRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  };
}

function mainBodyDetectorModel(): Uint8Array {
  const size = SHITU_DET_INPUT;
  return buildModel({
    inputs: [valueInfo('image', ['N', 3, size, size]), valueInfo('scale_factor', ['N', 2])],
    outputs: [valueInfo('multiclass_nms3_0.tmp_0', ['M', 6]), valueInfo('multiclass_nms3_0.tmp_2', ['N'], 'int32')],
    initializers: [
      floatTensor('box', [1, 6], [0, SHITU_DET_SCORE, size / 4, size / 4, (3 * size) / 4, (3 * size) / 4]),
      floatTensor('zero', [], [0]),
      floatTensor('one', [], [1]),
      int64Tensor('col0', [1], [0]),
      int64Tensor('col1', [1], [1]),
      int64Tensor('col2', [1], [2]),
      int64Tensor('axis1', [1], [1]),
    ],
    nodes: [
      // ones [N], derived from the image so that the graph consumes it
      node('ReduceMean', ['image'], ['image_mean'], { axes: { ints: [1, 2, 3] }, keepdims: { i: 0 } }),
      node('Mul', ['image_mean', 'zero'], ['zeros']),
      node('Add', ['zeros', 'one'], ['ones_flat']),
      node('Unsqueeze', ['ones_flat', 'axis1'], ['ones']),
      // scale_factor is [h_scale, w_scale]; boxes in network pixels divide back to original pixels
      node('Slice', ['scale_factor', 'col0', 'col1', 'axis1'], ['scale_h']),
      node('Slice', ['scale_factor', 'col1', 'col2', 'axis1'], ['scale_w']),
      node('Concat', ['ones', 'ones', 'scale_w', 'scale_h', 'scale_w', 'scale_h'], ['divisor'], { axis: { i: 1 } }),
      node('Div', ['box', 'divisor'], ['multiclass_nms3_0.tmp_0']),
      node('Cast', ['ones_flat'], ['multiclass_nms3_0.tmp_2'], { to: { i: 6 } }),
    ],
  });
}

function featureModel(opts: { size: number; grid: number; dim: number; mirrorInvariant: boolean; seed: number }): Uint8Array {
  const { size, grid, dim } = opts;
  const kernel = size / grid;
  const inputs = 3 * grid * grid;
  const random = pseudoRandom(opts.seed);
  const projection = Float32Array.from({ length: inputs * dim }, random);
  const pooled = opts.mirrorInvariant ? 'symmetric' : 'standardised';
  return buildModel({
    inputs: [valueInfo('x', ['N', 3, size, size])],
    outputs: [valueInfo('save_infer_model/scale_0.tmp_0', ['N', dim])],
    initializers: [
      floatTensor('in_scale', [3], [1, 1, 1]),
      floatTensor('in_bias', [3], [0, 0, 0]),
      floatTensor('projection', [inputs, dim], projection),
      int64Tensor('flat_shape', [2], [0, -1]),
      int64Tensor('last', [1], [-1]),
      int64Tensor('before_first', [1], [-(grid + 1)]),
      int64Tensor('axis3', [1], [3]),
      int64Tensor('step_back', [1], [-1]),
    ],
    nodes: [
      node('AveragePool', ['x'], ['grid'], { kernel_shape: { ints: [kernel, kernel] }, strides: { ints: [kernel, kernel] } }),
      node('InstanceNormalization', ['grid', 'in_scale', 'in_bias'], ['standardised']),
      ...(opts.mirrorInvariant
        ? [
            node('Slice', ['standardised', 'last', 'before_first', 'axis3', 'step_back'], ['mirrored']),
            node('Add', ['standardised', 'mirrored'], ['symmetric']),
          ]
        : []),
      node('Reshape', [pooled, 'flat_shape'], ['flat']),
      node('MatMul', ['flat', 'projection'], ['save_infer_model/scale_0.tmp_0']),
    ],
  });
}

const IMAGENET_NORMALIZE = { scale: 0.00392156862745098, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], order: 'hwc' };

export interface RecognitionModelDirs {
  shituDet: string;
  shituRec: string;
  faceRec: string;
}

let dirs: Promise<RecognitionModelDirs> | undefined;

/** The three fixture model dirs (inference.onnx + PaddleX's inference.yml for each model), written once per process. */
export function recognitionModelDirs(): Promise<RecognitionModelDirs> {
  dirs ??= (async () => {
    const shituDet = await writeModelDir(mainBodyDetectorModel(), {
      mode: 'paddle',
      draw_threshold: 0.5,
      metric: 'COCO',
      use_dynamic_shape: false,
      Global: { model_name: 'PP-ShiTuV2_det' },
      arch: 'PicoDet',
      min_subgraph_size: 3,
      Preprocess: [
        { interp: 2, keep_ratio: false, target_size: [SHITU_DET_INPUT, SHITU_DET_INPUT], type: 'Resize' },
        { is_scale: true, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], type: 'NormalizeImage' },
        { type: 'Permute' },
      ],
      label_list: ['foreground'],
    });
    const shituRec = await writeModelDir(featureModel({ size: 224, grid: 16, dim: SHITU_FEATURE_DIM, mirrorInvariant: false, seed: 1 }), {
      Global: { model_name: 'PP-ShiTuV2_rec' },
      PreProcess: {
        transform_ops: [
          { ResizeImage: { size: [224, 224], return_numpy: false, interpolation: 'bilinear', backend: 'cv2' } },
          { NormalizeImage: IMAGENET_NORMALIZE },
          { ToCHWImage: null },
        ],
      },
      PostProcess: { NormalizeFeatures: null },
    });
    const faceRec = await writeModelDir(featureModel({ size: 112, grid: 8, dim: FACE_FEATURE_DIM, mirrorInvariant: true, seed: 2 }), {
      Global: { model_name: 'MobileFaceNet' },
      PreProcess: {
        transform_ops: [
          { ResizeImage: { size: [112, 112] } },
          { NormalizeImage: { scale: 0.00392156862745098, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], order: 'hwc' } },
          { ToCHWImage: null },
        ],
      },
      PostProcess: { NormalizeFeatures: null },
    });
    removeAtExit([shituDet, shituRec, faceRec]);
    return { shituDet: shituDet.dir, shituRec: shituRec.dir, faceRec: faceRec.dir };
  })();
  return dirs;
}

function removeAtExit(dirs: ModelDir[]): void {
  process.once('exit', () => {
    for (const dir of dirs) rmSync(dir.dir, { recursive: true, force: true });
  });
}

export const BLAZEFACE_DIR = path.join(SHARED_MODELS, 'BlazeFace');

/** A fresh temp directory (index storage, YAMLs), removed when the process exits. */
export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `pipeserve-${prefix}-`));
  removeAtExit([{ dir, remove: async () => {} }]);
  return dir;
}

export type RecognitionPipeline = 'PP-ShiTuV2' | 'face_recognition';

/**
 * The built-in configs/<pipeline>.yaml (unchanged: PaddleX's module_names, wrong ones included) with
 * the fixture models' dirs and names, plus `top` keys (index, thresholds) and `Serving.extra`.
 */
export async function recognitionYaml(
  pipeline: RecognitionPipeline,
  options: { top?: Record<string, unknown>; extra?: Record<string, unknown> } = {},
): Promise<string> {
  const models = await recognitionModelDirs();
  const config = YAML.parse(await readFile(path.join(REPO_ROOT, 'configs', `${pipeline}.yaml`), 'utf8'));
  const [detDir, detName, recDir, recName] =
    pipeline === 'PP-ShiTuV2'
      ? [models.shituDet, 'PP-ShiTuV2_det', models.shituRec, 'PP-ShiTuV2_rec']
      : [BLAZEFACE_DIR, 'BlazeFace', models.faceRec, 'MobileFaceNet'];
  Object.assign(config.SubModules.Detection, { model_name: detName, model_dir: detDir });
  Object.assign(config.SubModules.Recognition, { model_name: recName, model_dir: recDir });
  Object.assign(config, options.top ?? {});
  if (options.extra) config.Serving = { extra: options.extra };
  const file = path.join(await tempDir('recognition-yaml'), `${pipeline}.yaml`);
  await writeFile(file, YAML.stringify(config));
  return file;
}

/**
 * The conformance entry of a recognition pipeline: fixture models, a file-system index given as the
 * YAML's `index` (for `--input`), and requests that use an index built on the running server.
 */
export function recognitionConformance(pipeline: RecognitionPipeline, prefix: string, picture: string) {
  const image = async () => (await readFile(picture)).toString('base64');
  return {
    pipeline,
    async yaml() {
      const index = path.join(await tempDir('conformance-index'), 'index');
      await writeFile(
        index,
        encodeIndex({
          indexType: 'Flat',
          dim: featureDim(pipeline),
          ids: [0],
          labels: ['reference'],
          vectors: oneHot(featureDim(pipeline)),
        }),
      );
      return recognitionYaml(pipeline, { top: { index }, extra: { index_storage: { type: 'memory' } } });
    },
    async requests(serverUrl: string) {
      const imageLabelPairs = [{ image: await image(), label: 'sample' }];
      const res = await fetch(`${serverUrl}${prefix}-index-build`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ imageLabelPairs }),
      });
      const { indexKey } = ((await res.json()) as { result: { indexKey: string } }).result;
      return {
        [`${prefix}-index-build`]: { imageLabelPairs },
        [`${prefix}-index-add`]: { imageLabelPairs, indexKey },
        [`${prefix}-index-remove`]: { ids: [0], indexKey },
        [`${prefix}-infer`]: { image: await image(), indexKey },
      };
    },
    inputFile: picture,
  };
}

function featureDim(pipeline: RecognitionPipeline): number {
  return pipeline === 'PP-ShiTuV2' ? SHITU_FEATURE_DIM : FACE_FEATURE_DIM;
}

function oneHot(dim: number): Float32Array {
  const v = new Float32Array(dim);
  v[0] = 1;
  return v;
}

export const GALLERY_SIZE = 256;
export const SOURCES: Record<string, string> = {
  cat: path.join(SKIMAGE_DATA, 'chelsea.png'),
  coffee: path.join(SKIMAGE_DATA, 'coffee.png'),
  astronaut: path.join(SKIMAGE_DATA, 'astronaut.png'),
  fruits: path.join(OPENCV_DATA, 'fruits.jpg'),
  rocket: path.join(SKIMAGE_DATA, 'rocket.jpg'),
};

export interface Pictures {
  gallery: Record<string, string>;
  query: Record<string, string>;
}

/**
 * PP-ShiTuV2 gallery pictures (256², Base64 PNG) and queries: each pasted in the middle of a grey
 * 512² canvas, so the fixture detector's centre half crops a query back to its gallery picture.
 */
export async function pictures(): Promise<Pictures> {
  const gallery: Record<string, string> = {};
  const query: Record<string, string> = {};
  for (const [label, file] of Object.entries(SOURCES)) {
    const picture = await sharp(file).resize(GALLERY_SIZE, GALLERY_SIZE, { fit: 'fill' }).removeAlpha().png().toBuffer();
    gallery[label] = picture.toString('base64');
    const canvas = await sharp({
      create: { width: 2 * GALLERY_SIZE, height: 2 * GALLERY_SIZE, channels: 3, background: { r: 128, g: 128, b: 128 } },
    })
      .composite([{ input: picture, left: GALLERY_SIZE / 2, top: GALLERY_SIZE / 2 }])
      .png()
      .toBuffer();
    query[label] = canvas.toString('base64');
  }
  return { gallery, query };
}
