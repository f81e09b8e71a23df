/**
 * Self-made model dirs for the computer-vision pipelines whose PaddleX default models are not
 * available here. Each graph has the input/output names, shapes and dtypes of the PaddleX export
 * it imitates (named at each builder) and outputs a known function of its input, so tests can
 * compute the exact expected result independently.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import { fixtureTempRoot } from './fixtures.js';
import { buildModel, node, valueInfo } from './onnxBuilder.js';
import { SHARED_MODELS } from './paths.js';

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
