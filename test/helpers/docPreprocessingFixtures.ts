/**
 * Fixtures of the doc_preprocessor's models. The doc orientation model is the real int8 export in
 * shared/models; UVDoc's weights are not available here, so its stand-in is a self-made ONNX of
 * UVDoc's exact signature whose output is a known warp (see uvdocMirrorFixtureDir).
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import { fixtureTempRoot } from './fixtures.js';
import { buildModel, floatTensor, int64Tensor, node, valueInfo } from './onnxBuilder.js';
import { REPO_ROOT, SHARED_MODELS } from './paths.js';

/** PP-LCNet_x1_0_doc_ori, int8 (QDQ), with its PaddleX inference.yml (labels '0', '90', '180', '270'). */
export const DOC_ORI_INT8_DIR = path.join(SHARED_MODELS, 'PP-LCNet_x1_0_doc_ori_int8');

/**
 * A stand-in for PaddleX's UVDoc export with its real I/O (PaddleX program in
 * shared/models/paddle-format/UVDoc): input `image: f32[N, 3, H, W]` of any size, output
 * `fetch_name_0: f32[N, 3, H, W]`, computed as UVDoc computes it, a coarse 2-channel grid
 * upsampled bilinearly (align_corners) to H×W and fed to grid_sample (bilinear, zeros,
 * align_corners). Here the coarse grid is a fixed 2×2 one that maps each output column x to input
 * column W-1-x: the page comes back mirrored left to right, a warp a test can check pixel by pixel.
 * (The real model predicts a 45×31 grid from the page; the warp is the only difference.)
 */
async function writeUvdocMirrorDir(): Promise<string> {
  // [1, 2, 2, 2]: channel 0 is x (+1 at the left column, -1 at the right), channel 1 is y.
  const coarseGrid = floatTensor('coarse_grid', [1, 2, 2, 2], [1, -1, 1, -1, -1, -1, 1, 1]);
  const model = buildModel(
    {
      inputs: [valueInfo('image', ['N', 3, 'H', 'W'])],
      outputs: [valueInfo('fetch_name_0', ['N', 3, 'H', 'W'])],
      initializers: [
        coarseGrid,
        int64Tensor('grid_batch_channels', [2], [1, 2]),
        int64Tensor('hw_start', [1], [2]),
        int64Tensor('hw_end', [1], [4]),
      ],
      nodes: [
        node('Shape', ['image'], ['image_shape']),
        node('Slice', ['image_shape', 'hw_start', 'hw_end'], ['image_hw']),
        node('Concat', ['grid_batch_channels', 'image_hw'], ['grid_size'], { axis: { i: 0 } }),
        node('Resize', ['coarse_grid', '', '', 'grid_size'], ['grid_nchw'], {
          mode: { s: 'linear' },
          coordinate_transformation_mode: { s: 'align_corners' },
        }),
        node('Transpose', ['grid_nchw'], ['grid'], { perm: { ints: [0, 2, 3, 1] } }),
        node('GridSample', ['image', 'grid'], ['fetch_name_0'], {
          mode: { s: 'bilinear' },
          padding_mode: { s: 'zeros' },
          align_corners: { i: 1 },
        }),
      ],
    },
    16,
  );
  const dir = await mkdtemp(path.join(fixtureTempRoot(), 'uvdoc-'));
  await writeFile(path.join(dir, 'inference.onnx'), model);
  // UVDoc's inference.yml as PaddleX ships it (no PreProcess: the predictor hard-codes it)
  await writeFile(path.join(dir, 'inference.yml'), await readFile(path.join(SHARED_MODELS, 'paddle-format', 'UVDoc', 'inference.yml')));
  return dir;
}

let uvdocDir: Promise<string> | undefined;
/** The UVDoc stand-in's model dir (made once per test process). */
export function uvdocMirrorFixtureDir(): Promise<string> {
  uvdocDir ??= writeUvdocMirrorDir();
  return uvdocDir;
}

/**
 * A copy of the built-in doc_preprocessor.yaml (or, with `ocr`, OCR.yaml's DocPreprocessor sub-pipeline
 * switched on) using the real doc orientation model and, when `unwarpingDir` is given, that UVDoc dir;
 * without it unwarping is switched off. Returns the file path.
 */
export async function docPreprocessingYaml(opts: { unwarpingDir?: string; ocr?: boolean }): Promise<string> {
  const kind = opts.ocr ? 'OCR' : 'doc_preprocessor';
  const config = YAML.parse(await readFile(path.join(REPO_ROOT, 'configs', `${kind}.yaml`), 'utf8'));
  const doc = opts.ocr ? config.SubPipelines.DocPreprocessor : config;
  if (opts.ocr) config.use_doc_preprocessor = true;
  doc.SubModules.DocOrientationClassify.model_dir = DOC_ORI_INT8_DIR;
  doc.use_doc_unwarping = opts.unwarpingDir !== undefined;
  if (opts.unwarpingDir) doc.SubModules.DocUnwarping.model_dir = opts.unwarpingDir;
  const file = path.join(await mkdtemp(path.join(fixtureTempRoot(), `${kind}-`)), `${kind}.yaml`);
  await writeFile(file, YAML.stringify(config));
  return file;
}
