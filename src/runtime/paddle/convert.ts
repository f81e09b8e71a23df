import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import { ConfigError } from '../../errors.js';
import { ConvertContext, ONNX_ELEMENT_TYPES, UnsupportedOpForm, valueInfo } from './context.js';
import { MAPPERS } from './ops/index.js';
import { readPdiparams, type ParamTensor } from './pdiparams.js';
import { parsePir } from './pir.js';
import { allOps, type PaddleProgram } from './program.js';
import { parseProgramDesc } from './programDesc.js';

const { onnx } = onnxProto;

/** Part of the conversion cache key: bump whenever the converter's output for some program changes. */
export const CONVERTER_VERSION = 2;
/** onnxruntime-node 1.30 runs opsets up to 21+; 17 has LayerNormalization and keeps Reduce* axes as attributes. */
export const ONNX_OPSET = 17;

export interface PaddleModelFiles {
  programPath: string;
  paramsPath: string;
}

/** The program and weights of a Paddle inference dir, PIR JSON first as PaddleX prefers it; undefined if the dir holds none. */
export function paddleModelFiles(dir: string): PaddleModelFiles | undefined {
  const paramsPath = path.join(dir, 'inference.pdiparams');
  for (const name of ['inference.json', 'inference.pdmodel']) {
    const programPath = path.join(dir, name);
    if (existsSync(programPath)) return { programPath, paramsPath };
  }
  return undefined;
}

export function parseProgram(programPath: string, bytes: Uint8Array = readFileSync(programPath)): PaddleProgram {
  return programPath.endsWith('.json') ? parsePir(Buffer.from(bytes).toString('utf8'), programPath) : parseProgramDesc(bytes, programPath);
}

/** The paddle2onnx command a user can fall back to when this converter cannot handle a model. */
export function paddle2onnxCommand(dir: string): string {
  return `paddlex --paddle2onnx --paddle_model_dir ${dir} --onnx_model_dir ${dir}`;
}

/** Op types (with the reason when it is a form, not the op, that is missing) this converter cannot map. */
export function unsupportedOps(program: PaddleProgram): string[] {
  const table = MAPPERS[program.format];
  const missing = new Set<string>();
  for (const op of allOps(program.ops)) {
    if (op.hasSubBlocks) missing.add(`${op.type} (control flow)`);
    else if (!table[op.type]) missing.add(op.type);
  }
  return [...missing];
}

function unsupportedMessage(modelName: string, dir: string, what: string): string {
  return [
    `Model "${modelName}" (${dir}) cannot be converted from Paddle format: ${what}.`,
    'Convert it with Paddle2ONNX instead; PaddleX writes inference.onnx next to inference.yml, which pipeserve then loads directly:',
    `  ${paddle2onnxCommand(dir)}`,
  ].join('\n');
}

function declaredValueInfo(name: string, program: PaddleProgram): onnxProto.onnx.IValueInfoProto {
  const info = program.values.get(name);
  if (!info) throw new ConfigError(`the program does not declare the type of its input/output "${name}"`);
  return valueInfo(name, info.dtype, info.shape);
}

function assertConvertible(program: PaddleProgram, modelName: string, dir: string): void {
  const missing = unsupportedOps(program);
  if (missing.length) throw new ConfigError(unsupportedMessage(modelName, dir, `the converter lacks the op(s) ${missing.join(', ')}`));
}

/** Converts a parsed program with its weights into a serialized ONNX ModelProto. */
export function convertProgram(program: PaddleProgram, params: Map<string, ParamTensor>, modelName: string, dir: string): Uint8Array {
  assertConvertible(program, modelName, dir);

  const halfPrecision = [...params].find(([, t]) => t.dtype === 'float16' || t.dtype === 'bfloat16');
  if (halfPrecision) {
    throw new ConfigError(
      unsupportedMessage(
        modelName,
        dir,
        `weights in ${halfPrecision[1].dtype} ("${halfPrecision[0]}"); the converter handles float32 models`,
      ),
    );
  }
  for (const [name, tensor] of params) program.values.set(name, { dtype: tensor.dtype, shape: tensor.shape });
  const table = MAPPERS[program.format];
  const ctx = new ConvertContext(program, (op, context) => {
    try {
      table[op.type]!(op, context);
    } catch (err) {
      if (!(err instanceof UnsupportedOpForm)) throw err;
      throw new ConfigError(unsupportedMessage(modelName, dir, `op ${op.type} in a form the converter lacks: ${err.message}`));
    }
  });
  for (const op of program.ops) ctx.mapOp(op, ctx);

  const weights = [...params]
    .filter(([name]) => ctx.used.has(name))
    .map(([name, t]) => ({
      name,
      dims: t.shape,
      dataType: ONNX_ELEMENT_TYPES[t.dtype],
      rawData: t.data,
    }));
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'pipeserve-paddle-converter',
    producerVersion: String(CONVERTER_VERSION),
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    graph: {
      name: modelName,
      input: program.inputs.map((name) => declaredValueInfo(name, program)),
      output: program.outputs.map((name) => declaredValueInfo(name, program)),
      node: ctx.nodes,
      initializer: [...weights, ...ctx.initializers],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Reads, checks and converts a Paddle inference dir. */
export function convertPaddleDir(
  dir: string,
  modelName: string,
  files: PaddleModelFiles,
  programBytes?: Uint8Array,
  paramsBytes?: Uint8Array,
): Uint8Array {
  const program = parseProgram(files.programPath, programBytes);
  // missing ops first: no point in reading (or asking for) weights the converter could not use
  assertConvertible(program, modelName, dir);
  if (!existsSync(files.paramsPath) && !paramsBytes) {
    throw new ConfigError(
      `Model "${modelName}" (${dir}): ${path.basename(files.programPath)} needs inference.pdiparams (the weights) next to it`,
    );
  }
  const params = readPdiparams(paramsBytes ?? readFileSync(files.paramsPath), program.parameters, files.paramsPath);
  for (const [name, tensor] of params) {
    const declared = program.values.get(name);
    if (declared && declared.shape.join() !== tensor.shape.join()) {
      throw new ConfigError(
        `${files.paramsPath}: tensor "${name}" has shape [${tensor.shape}] but the program declares [${declared.shape}]: the weights belong to another program`,
      );
    }
  }
  return convertProgram(program, params, modelName, dir);
}
