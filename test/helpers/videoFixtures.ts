/**
 * Video model dirs imitating PaddleX's exports, whose weights are not available here:
 *
 * - PP-TSM (`PP-TSMv2-LCNetV2_8frames_uniform`, PaddleVideo export): input `data_batch_0`
 *   [n, 8, 3, 224, 224] → output [n, classes]. The fixture's three classes are the colours red,
 *   green, blue; the logits are 5× the mean of each normalised channel over the eight frames, so
 *   the answer is the clip's dominant colour as the pipeline sampled, scaled and cropped it.
 * - YOWO (PaddleVideo export): input [1, 3, 8, 224, 224] (BGR / 255) → output [1, 5 × (5 + 24), 7, 7].
 *   Anchor 0 of the brightest 32×32 cell of the clip gets objectness logit 8 (falling by 200 per unit
 *   of brightness below the brightest), box offsets and sizes 0 (the cell's centre, the anchor's
 *   size), class 0 logit 10 among 24; every other anchor objectness −20.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import { fixtureTempRoot } from './fixtures.js';
import { buildModel, floatTensor, int64Tensor, node, valueInfo } from './onnxBuilder.js';

export const COLOURS = ['red', 'green', 'blue'];
/** UCF101-24's classes, as YOWO's label_list has them */
export const UCF24 = [
  'Basketball', 'BasketballDunk', 'Biking', 'CliffDiving', 'CricketBowling', 'Diving', 'Fencing', 'FloorGymnastics',
  'GolfSwing', 'HorseRiding', 'IceDancing', 'LongJump', 'PoleVault', 'RopeClimbing', 'SalsaSpin', 'SkateBoarding',
  'Skiing', 'Skijet', 'SoccerJuggling', 'Surfing', 'TennisSwing', 'TrampolineJumping', 'VolleyballSpiking', 'WalkingWithDog',
]; // biome-ignore format: one table

async function writeDir(name: string, model: Uint8Array, config: Record<string, unknown>): Promise<string> {
  const dir = await mkdtemp(path.join(fixtureTempRoot(), `${name}-`));
  await writeFile(path.join(dir, 'inference.onnx'), model);
  await writeFile(path.join(dir, 'inference.yml'), YAML.stringify(config));
  return dir;
}

/** PP-TSMv2's inference.yml as PaddleX exports it, with the colour labels. */
export function ppTsmFixtureDir(): Promise<string> {
  const model = buildModel({
    inputs: [valueInfo('data_batch_0', ['n', 8, 3, 224, 224])],
    outputs: [valueInfo('linear_2.tmp_1', ['n', 3])],
    initializers: [floatTensor('gain', [], [5])],
    nodes: [
      node('ReduceMean', ['data_batch_0'], ['channel_means'], { axes: { ints: [1, 3, 4] }, keepdims: { i: 0 } }),
      node('Mul', ['channel_means', 'gain'], ['linear_2.tmp_1']),
    ],
  });
  return writeDir('PP-TSMv2-LCNetV2_8frames_uniform', model, {
    Global: { model_name: 'PP-TSMv2-LCNetV2_8frames_uniform' },
    PreProcess: {
      transform_ops: [
        { ReadVideo: { num_seg: 8, sample_type: 'uniform', seg_len: 1, target_size: 224 } },
        { Scale: { short_size: 256 } },
        { CenterCrop: { target_size: 224 } },
        { Image2Array: { data_format: 'tchw' } },
        { NormalizeVideo: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } },
      ],
    },
    PostProcess: { Topk: { topk: 1, label_list: COLOURS } },
  });
}

const CELL_CHANNELS = 5 + UCF24.length;

/** The constant planes of the YOWO fixture's output, [1, channels, 7, 7]. */
function planes(name: string, values: number[]) {
  return floatTensor(
    name,
    [1, values.length, 7, 7],
    values.flatMap((v) => new Array<number>(49).fill(v)),
  );
}

/** YOWO's inference.yml as PaddleX exports it (top-level label_list, DetVideoPostProcess). */
export function yowoFixtureDir(): Promise<string> {
  const classLogits = UCF24.map((_, i) => (i === 0 ? 10 : 0));
  const otherAnchors = Array.from({ length: 4 }, () => [0, 0, 0, 0, -20, ...classLogits]).flat();
  const model = buildModel({
    inputs: [valueInfo('data_batch_0', [1, 3, 8, 224, 224])],
    outputs: [valueInfo('conv2d_78.tmp_1', [1, 5 * CELL_CHANNELS, 7, 7])],
    initializers: [
      planes('box_offsets', [0, 0, 0, 0]),
      planes('class_logits', classLogits),
      planes('other_anchors', otherAnchors),
      floatTensor('steepness', [], [200]),
      floatTensor('peak_logit', [], [8]),
      int64Tensor('frame_shape', [4], [1, 1, 224, 224]),
    ],
    nodes: [
      node('ReduceMean', ['data_batch_0'], ['grey_5d'], { axes: { ints: [1, 2] }, keepdims: { i: 1 } }),
      node('Reshape', ['grey_5d', 'frame_shape'], ['grey_4d']),
      node('AveragePool', ['grey_4d'], ['cells'], { kernel_shape: { ints: [32, 32] }, strides: { ints: [32, 32] } }),
      node('ReduceMax', ['cells'], ['brightest'], { keepdims: { i: 1 } }),
      node('Sub', ['cells', 'brightest'], ['below']),
      node('Mul', ['below', 'steepness'], ['below_scaled']),
      node('Add', ['below_scaled', 'peak_logit'], ['objectness']),
      node('Concat', ['box_offsets', 'objectness', 'class_logits', 'other_anchors'], ['conv2d_78.tmp_1'], { axis: { i: 1 } }),
    ],
  });
  return writeDir('YOWO', model, {
    Global: { model_name: 'YOWO' },
    PreProcess: {
      transform_ops: [
        { ReadVideo: { num_seg: 8 } },
        { ResizeVideo: { target_size: 224 } },
        { Image2Array: { data_format: 'tchw' } },
        { NormalizeVideo: { scale: 255.0 } },
      ],
    },
    PostProcess: { transform_ops: [{ DetVideoPostProcess: { nms_thresh: 0.5, score_thresh: 0.4 } }] },
    label_list: UCF24,
  });
}
