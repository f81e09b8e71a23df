/**
 * Self-made model dirs for the CV pipelines whose real weights are not available here, each with the
 * input/output names, shapes and dtypes of the PaddleX export it imitates, and outputs chosen so the
 * expected result is known. Plus a writer for pipeline YAMLs with several sub-modules.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import { fixtureTempRoot } from './fixtures.js';
import { buildModel, floatTensor, int32Tensor, int64Tensor, node, valueInfo } from './onnxBuilder.js';
import { REPO_ROOT } from './paths.js';

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
      { type: 'NormalizeImage', is_scale: true, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
      { type: 'Permute' },
      { type: 'PadStride', stride: 32 },
    ],
    label_list: DOTA_LABELS,
  });
});
