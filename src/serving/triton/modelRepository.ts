/**
 * A Triton model repository as PaddleX's HPS SDK lays it out: `<repo>/<model>/config.pbtxt` (or the
 * `config_cpu.pbtxt` / `config_gpu.pbtxt` pair server.sh picks from) and a version dir `1/`. Each
 * model is one endpoint of the served pipeline, named as the endpoint without its slash.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { ConfigError } from '../../errors.js';
import type { ServedEndpoint } from '../service.js';
import { parseTextFormat } from './pbtxt.js';

export const PROTO_FILE = fileURLToPath(new URL('../../../../src/serving/triton/proto/grpc_service.proto', import.meta.url));

let protoRoot: protobuf.Root | undefined;
export function tritonProto(): protobuf.Root {
  protoRoot ??= new protobuf.Root().loadSync(PROTO_FILE, { keepCase: true });
  return protoRoot;
}

/** `config.pbtxt` as read: enums as names, proto field names. */
export interface ModelConfigJson {
  name?: string;
  platform?: string;
  backend?: string;
  max_batch_size?: number;
  input?: Array<{ name: string; data_type?: string; dims?: number[] }>;
  output?: Array<{ name: string; data_type?: string; dims?: number[] }>;
  instance_group?: Array<{ name?: string; count?: number; kind?: string; gpus?: number[] }>;
  dynamic_batching?: {
    preferred_batch_size?: number[];
    max_queue_delay_microseconds?: number;
    default_queue_policy?: {
      timeout_action?: string;
      default_timeout_microseconds?: number;
      allow_timeout_override?: boolean;
      max_queue_size?: number;
    };
  };
  parameters?: Record<string, { string_value?: string }>;
}

export interface TritonModel {
  name: string;
  /** the model's directory */
  dir: string;
  config: ModelConfigJson;
  /** the endpoint it serves (set once the pipeline is loaded) */
  served: ServedEndpoint;
  /** instances (isolated pipeline copies) this model asks for */
  instances: number;
  /** 0 = no batching dimension */
  maxBatchSize: number;
  dynamicBatching?: { maxQueueDelayUs: number; preferredBatchSizes: number[] };
  /** requests that may wait; 0 = unbounded (Triton's default) */
  maxQueueSize: number;
  /** intra-op threads per instance from `parameters { key: "intra_op_thread_count" }`, if set */
  intraOpThreads?: number;
}

/** The model parameter that sets each instance's intra-op threads, named as Triton's onnxruntime backend names it. */
export const INTRA_OP_THREADS_PARAMETER = 'intra_op_thread_count';

/** PaddleX's HPS model names differ from the basic-serving path in one case (reference §5.2). */
const MODEL_TO_PATH: Record<string, string> = { 'anomaly-detection': '/image-anomaly-detection' };

export function endpointPathOfModel(model: string): string {
  return MODEL_TO_PATH[model] ?? `/${model}`;
}

export function modelNameOfEndpoint(endpointPath: string): string {
  const entry = Object.entries(MODEL_TO_PATH).find(([, p]) => p === endpointPath);
  return entry ? entry[0] : endpointPath.slice(1);
}

/** The config file of a model dir: config.pbtxt, else the device variant server.sh would copy. */
function configFile(dir: string, deviceType: 'cpu' | 'gpu'): string | undefined {
  for (const name of ['config.pbtxt', `config_${deviceType}.pbtxt`]) {
    const file = path.join(dir, name);
    if (existsSync(file)) return file;
  }
  return undefined;
}

function check(condition: boolean, file: string, message: string): void {
  if (!condition) throw new ConfigError(`${file}: ${message}`);
}

/** Reads and checks one model's config; PaddleX's model.py refuses any I/O other than one `input` and one `output` string tensor. */
export function readModelConfig(file: string, modelName: string): ModelConfigJson {
  const type = tritonProto().lookupType('inference.ModelConfig');
  const config = parseTextFormat(readFileSync(file, 'utf8'), type, file) as ModelConfigJson;
  check(
    config.name === undefined || config.name === modelName,
    file,
    `name: "${config.name}" must equal the directory name "${modelName}"`,
  );
  const io = (list: ModelConfigJson['input'], kind: 'input' | 'output') => {
    check(
      list?.length === 1 && list[0]!.name === kind,
      file,
      `${kind}: exactly one ${kind} named "${kind}" is required (PaddleX HPS models take one JSON string in and give one out)`,
    );
    check(list![0]!.data_type === 'TYPE_STRING', file, `${kind}.data_type: must be TYPE_STRING (got ${list![0]!.data_type ?? 'none'})`);
    const dims = list![0]!.dims ?? [];
    check(
      dims.length === 1 && (dims[0] === 1 || dims[0] === -1),
      file,
      `${kind}.dims: must be [ 1 ] or [ -1 ] (got [ ${dims.join(', ')} ])`,
    );
  };
  io(config.input, 'input');
  io(config.output, 'output');
  const maxBatch = config.max_batch_size ?? 0;
  check(maxBatch >= 0, file, `max_batch_size: must be >= 0 (got ${maxBatch})`);
  for (const [i, group] of (config.instance_group ?? []).entries()) {
    check((group.count ?? 1) >= 1, file, `instance_group[${i}].count: must be >= 1 (got ${group.count})`);
    check(
      ['KIND_AUTO', 'KIND_CPU', 'KIND_GPU', undefined].includes(group.kind),
      file,
      `instance_group[${i}].kind: ${group.kind} is not supported (KIND_CPU or KIND_GPU)`,
    );
  }
  const threads = threadsParameterText(config);
  if (threads !== undefined) {
    check(
      /^[1-9]\d*$/.test(threads),
      file,
      `parameters["${INTRA_OP_THREADS_PARAMETER}"].string_value: must be a whole number >= 1 (got "${threads}")`,
    );
  }
  if (config.dynamic_batching) {
    check(maxBatch >= 1, file, 'dynamic_batching: needs max_batch_size >= 1');
    for (const size of config.dynamic_batching.preferred_batch_size ?? []) {
      check(
        size >= 1 && size <= maxBatch,
        file,
        `dynamic_batching.preferred_batch_size: ${size} is not within 1..max_batch_size (${maxBatch})`,
      );
    }
  }
  return config;
}

function threadsParameterText(config: ModelConfigJson): string | undefined {
  return config.parameters?.[INTRA_OP_THREADS_PARAMETER]?.string_value;
}

/** Every model dir of the repository, its config read and checked (a bad one stops startup naming the file and field). */
export function loadModelRepository(repo: string, deviceType: 'cpu' | 'gpu'): Array<Omit<TritonModel, 'served'>> {
  if (!existsSync(repo) || !statSync(repo).isDirectory()) throw new ConfigError(`--model-repository ${repo}: no such directory`);
  const models: Array<Omit<TritonModel, 'served'>> = [];
  for (const name of readdirSync(repo).sort()) {
    const dir = path.join(repo, name);
    if (!statSync(dir).isDirectory()) continue;
    const file = configFile(dir, deviceType);
    if (!file) throw new ConfigError(`${dir}: no config.pbtxt (nor config_${deviceType}.pbtxt)`);
    const config = readModelConfig(file, name);
    if (!readdirSync(dir).some((entry) => /^\d+$/.test(entry) && statSync(path.join(dir, entry)).isDirectory())) {
      throw new ConfigError(`${dir}: no version directory (Triton models need one, e.g. ${name}/1/)`);
    }
    const batching = config.dynamic_batching;
    const threads = threadsParameterText(config);
    models.push({
      name,
      dir,
      config,
      instances: (config.instance_group ?? [{ count: 1 }]).reduce((sum, g) => sum + (g.count ?? 1), 0),
      maxBatchSize: config.max_batch_size ?? 0,
      dynamicBatching: batching
        ? { maxQueueDelayUs: batching.max_queue_delay_microseconds ?? 0, preferredBatchSizes: batching.preferred_batch_size ?? [] }
        : undefined,
      maxQueueSize: batching?.default_queue_policy?.max_queue_size ?? 0,
      intraOpThreads: threads === undefined ? undefined : Number(threads),
    });
  }
  if (!models.length) throw new ConfigError(`--model-repository ${repo}: no model directories`);
  return models;
}

/** Each model matched to the pipeline endpoint it serves; a model the pipeline has no endpoint for stops startup. */
export function bindModels(models: Array<Omit<TritonModel, 'served'>>, endpoints: ServedEndpoint[]): TritonModel[] {
  const byPath = new Map(endpoints.map((e) => [e.endpoint.path, e]));
  return models.map((model) => {
    const served = byPath.get(endpointPathOfModel(model.name));
    if (!served) {
      throw new ConfigError(
        `${model.dir}: model "${model.name}" is not an endpoint of the served pipeline (it serves: ${endpoints.map((e) => modelNameOfEndpoint(e.endpoint.path)).join(', ')})`,
      );
    }
    return { ...model, served };
  });
}
