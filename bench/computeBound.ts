/**
 * A classifier fixture whose model call dominates its request: the real MobileNetV2 fixture's
 * inference.yml (pre-processing, labels) with a graph of `layers` 512×512 MatMul + Relu layers over
 * the normalised image. Its activations (294×512 floats) and weights stay in the CPU caches, so two
 * instances compute side by side without contending for memory, as `instance_group` scaling asks of
 * "a CPU-bound model"; the real models here are decode-bound (MobileNetV2) or memory-bound (OCR).
 */
import { copyFile, mkdtemp, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fixtureTempRoot } from '../test/helpers/fixtures.js';
import { buildModel, floatTensor, int64Tensor, node, valueInfo } from '../test/helpers/onnxBuilder.js';
import { SHARED_MODELS } from '../test/helpers/paths.js';

const WIDTH = 512;
const CLASSES = 1000;

/** Deterministic weights near the identity, so activations neither vanish nor grow through the layers. */
function nearIdentity(rows: number, cols: number, salt: number): number[] {
  return Array.from({ length: rows * cols }, (_, k) => {
    const [i, j] = [Math.floor(k / cols), k % cols];
    return (i === j ? 1 : 0) + 1e-3 * Math.sin(i * 31 + j * 17 + salt);
  });
}

export async function computeBoundClassifierDir(layers: number): Promise<string> {
  const nodes = [node('Reshape', ['input', 'rows_shape'], ['h0'])];
  for (let layer = 0; layer < layers; layer++) {
    nodes.push(node('MatMul', [`h${layer}`, 'weight'], [`m${layer}`]), node('Relu', [`m${layer}`], [`h${layer + 1}`]));
  }
  nodes.push(
    node('ReduceMean', [`h${layers}`], ['pooled'], { axes: { ints: [1] }, keepdims: { i: 0 } }),
    node('MatMul', ['pooled', 'head'], ['logits']),
    node('Softmax', ['logits'], ['output'], { axis: { i: 1 } }),
  );
  const model = buildModel({
    inputs: [valueInfo('input', ['N', 3, 224, 224])],
    outputs: [valueInfo('output', ['N', CLASSES])],
    nodes,
    initializers: [
      // 3×224×224 = 294 rows of 512
      int64Tensor('rows_shape', [3], [-1, (3 * 224 * 224) / WIDTH, WIDTH]),
      floatTensor('weight', [WIDTH, WIDTH], nearIdentity(WIDTH, WIDTH, 0)),
      floatTensor('head', [WIDTH, CLASSES], nearIdentity(WIDTH, CLASSES, 1)),
    ],
  });
  const dir = await mkdtemp(path.join(fixtureTempRoot(), 'MobileNetV2_x1_0-compute-bound-'));
  await writeFile(path.join(dir, 'inference.onnx'), model);
  await copyFile(path.join(SHARED_MODELS, 'MobileNetV2_x1_0_int8', 'inference.yml'), path.join(dir, 'inference.yml'));
  return dir;
}
