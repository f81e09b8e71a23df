import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import YAML from 'yaml';

/**
 * Small ONNX graphs for self-made fixtures: models with the exact I/O of a PaddleX export whose
 * weights are not available here, so the real loading, pre- and post-processing code runs end to end.
 */
const { onnx } = onnxProto;

export type ElementType = 'float32' | 'int64' | 'int32' | 'bool';

const ELEMENT_TYPES: Record<ElementType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
  int32: onnx.TensorProto.DataType.INT32,
  bool: onnx.TensorProto.DataType.BOOL,
};

/** A graph input or output; string dimensions are symbolic (e.g. 'N' for the batch). */
export function valueInfo(
  name: string,
  shape: Array<number | string>,
  elementType: ElementType = 'float32',
): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEMENT_TYPES[elementType],
        shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export function floatTensor(name: string, dims: number[], values: ArrayLike<number>): onnxProto.onnx.ITensorProto {
  const data = Float32Array.from(values);
  return { name, dims, dataType: ELEMENT_TYPES.float32, rawData: new Uint8Array(data.buffer) };
}

export function int64Tensor(name: string, dims: number[], values: ArrayLike<number>): onnxProto.onnx.ITensorProto {
  const data = BigInt64Array.from(Array.from(values, (v) => BigInt(v)));
  return { name, dims, dataType: ELEMENT_TYPES.int64, rawData: new Uint8Array(data.buffer) };
}

export function int32Tensor(name: string, dims: number[], values: ArrayLike<number>): onnxProto.onnx.ITensorProto {
  const data = Int32Array.from(values);
  return { name, dims, dataType: ELEMENT_TYPES.int32, rawData: new Uint8Array(data.buffer) };
}

export type Attribute = { i: number } | { ints: number[] } | { f: number } | { floats: number[] } | { s: string };

export function node(
  opType: string,
  inputs: string[],
  outputs: string[],
  attributes: Record<string, Attribute> = {},
): onnxProto.onnx.INodeProto {
  const { AttributeType } = onnx.AttributeProto;
  return {
    opType,
    input: inputs,
    output: outputs,
    name: `${opType}_${outputs[0]}`,
    attribute: Object.entries(attributes).map(([name, value]) => {
      if ('i' in value) return { name, type: AttributeType.INT, i: value.i };
      if ('ints' in value) return { name, type: AttributeType.INTS, ints: value.ints };
      if ('f' in value) return { name, type: AttributeType.FLOAT, f: value.f };
      if ('floats' in value) return { name, type: AttributeType.FLOATS, floats: value.floats };
      return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value.s) };
    }),
  };
}

export interface GraphSpec {
  inputs: onnxProto.onnx.IValueInfoProto[];
  outputs: onnxProto.onnx.IValueInfoProto[];
  nodes: onnxProto.onnx.INodeProto[];
  initializers?: onnxProto.onnx.ITensorProto[];
}

/** Serialized ModelProto, IR version 8, default domain at opset 13 (or `opset`, e.g. 16 for GridSample). */
export function buildModel(graph: GraphSpec, opset = 13): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'pipeserve-tests',
    opsetImport: [{ domain: '', version: opset }],
    graph: {
      name: 'fixture',
      input: graph.inputs,
      output: graph.outputs,
      node: graph.nodes,
      initializer: graph.initializers ?? [],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/**
 * `model` (serialized) with Softmax(axis 1) appended to its first graph output: the old output is
 * renamed and the Softmax produces the output under its original name.
 */
export function appendSoftmax(model: Uint8Array): Uint8Array {
  const decoded = onnx.ModelProto.decode(model);
  const graph = decoded.graph!;
  const outputName = graph.output![0]!.name!;
  const logitsName = `${outputName}_logits`;
  for (const n of graph.node!) n.output = n.output!.map((name) => (name === outputName ? logitsName : name));
  graph.node!.push(onnx.NodeProto.create(node('Softmax', [logitsName], [outputName], { axis: { i: 1 } })));
  return onnx.ModelProto.encode(decoded).finish();
}

export interface ModelDir {
  dir: string;
  remove(): Promise<void>;
}

/** A PaddleX model directory (inference.onnx + inference.yml) in a fresh temporary folder. */
export async function writeModelDir(model: Uint8Array, inferenceConfig: Record<string, unknown>): Promise<ModelDir> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pipeserve-model-'));
  await writeFile(path.join(dir, 'inference.onnx'), model);
  await writeFile(path.join(dir, 'inference.yml'), YAML.stringify(inferenceConfig));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
