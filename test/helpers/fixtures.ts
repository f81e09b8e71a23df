import { mkdtempSync, rmSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { parseInferenceYaml, resolveModel, resolvePipelineModels, type ResolvedSubModule } from '../../src/config/models.js';
import { parsePipelineConfig, type PipelineConfig, type SubModuleConfig } from '../../src/config/pipelineConfig.js';
import { decodeImage } from '../../src/io/codec.js';
import type { RgbImage } from '../../src/io/image.js';
import {
  type EndpointContext,
  NO_PROGRESS,
  type PipelineDescriptor,
  type RuntimeContext,
  type WorkerOps,
} from '../../src/pipelines/define.js';
import type { WorkerModule } from '../../src/runtime/context.js';
import { createSession } from '../../src/runtime/session.js';
import { appendSoftmax } from './onnxBuilder.js';
import { REPO_ROOT, SHARED_MODELS } from './paths.js';

/** One temp folder per test process for generated fixtures, removed when the process exits. */
let tempRoot: string | undefined;
export function fixtureTempRoot(): string {
  if (!tempRoot) {
    const root = mkdtempSync(path.join(os.tmpdir(), 'pipeserve-fixtures-'));
    process.once('exit', () => rmSync(root, { recursive: true, force: true }));
    tempRoot = root;
  }
  return tempRoot;
}

const CLASSIFIER_SOURCE = path.join(SHARED_MODELS, 'MobileNetV2_x1_0_int8');

/**
 * PaddleX classification exports end in a softmax, so their scores are probabilities. This fixture
 * (ONNX Model Zoo mobilenetv2-12-int8) outputs logits, so the copy made here gets a Softmax appended.
 */
async function buildClassifierFixture(): Promise<string> {
  const dir = await mkdtemp(path.join(fixtureTempRoot(), 'MobileNetV2_x1_0-'));
  await writeFile(path.join(dir, 'inference.onnx'), appendSoftmax(await readFile(path.join(CLASSIFIER_SOURCE, 'inference.onnx'))));
  await copyFile(path.join(CLASSIFIER_SOURCE, 'inference.yml'), path.join(dir, 'inference.yml'));
  return dir;
}

let classifierDir: Promise<string> | undefined;

/** A PaddleX-layout ImageNet classifier dir (MobileNetV2 int8 + softmax), built once per process. */
export function classifierFixtureDir(): Promise<string> {
  classifierDir ??= buildClassifierFixture();
  return classifierDir;
}

/** PaddleDetection PicoDet-XS exported with post-process (COCO, 320×320), read in place. */
export function detectorFixtureDir(): string {
  return path.join(SHARED_MODELS, 'PicoDet-XS');
}

export type FixturePipeline =
  | 'image_classification'
  | 'object_detection'
  | 'small_object_detection'
  | 'semantic_segmentation'
  | 'anomaly_detection'
  | 'image_multilabel_classification'
  | 'instance_segmentation'
  | 'ts_forecast'
  | 'ts_anomaly_detection'
  | 'ts_classification'
  | 'multilingual_speech_recognition'
  | 'video_classification'
  | 'video_detection'
  | 'open_vocabulary_detection'
  | '3d_bev_detection';

/** `Global.model_name` of a model dir's inference.yml. */
async function modelNameOf(modelDir: string): Promise<string> {
  const config = parseInferenceYaml(await readFile(path.join(modelDir, 'inference.yml'), 'utf8'));
  return String(config?.Global?.model_name ?? path.basename(modelDir));
}

/**
 * Writes a copy of the built-in `configs/<kind>.yaml` whose only sub-module uses `modelDir` (and the
 * model name found there), with `moduleParams` merged into that sub-module. Returns the file path.
 */
export async function fixturePipelineYaml(
  kind: FixturePipeline,
  modelDir: string,
  moduleParams: Record<string, unknown> = {},
): Promise<string> {
  const config = YAML.parse(await readFile(path.join(REPO_ROOT, 'configs', `${kind}.yaml`), 'utf8'));
  const roles = Object.keys(config.SubModules ?? {});
  if (roles.length !== 1) throw new Error(`configs/${kind}.yaml: expected exactly one sub-module, found ${roles.length}`);
  Object.assign(config.SubModules[roles[0]!], { model_name: await modelNameOf(modelDir), model_dir: modelDir }, moduleParams);
  const file = path.join(await mkdtemp(path.join(fixtureTempRoot(), `${kind}-`)), `${kind}.yaml`);
  await writeFile(file, YAML.stringify(config));
  return file;
}

/** The pipeline config of `fixturePipelineYaml`, parsed and with its models resolved (as the server does before starting workers). */
export async function fixturePipelineConfig(
  kind: FixturePipeline,
  modelDir: string,
  moduleParams: Record<string, unknown> = {},
): Promise<PipelineConfig> {
  const file = await fixturePipelineYaml(kind, modelDir, moduleParams);
  return resolvePipelineModels(parsePipelineConfig(await readFile(file, 'utf8'), file));
}

/** A sub-module config with its model resolved (model_dir, $PIPESERVE_HOME or the catalog), as module classes receive it. */
export function resolveSubModule(sub: SubModuleConfig): ResolvedSubModule {
  return { ...sub, resolved: resolveModel(sub, `SubModules.${sub.module_name}`) };
}

/** A resolved sub-module for a model dir, named as the dir's inference.yml names its model. */
export async function fixtureSubModule(
  moduleName: string,
  modelDir: string,
  params: Partial<SubModuleConfig> = {},
): Promise<ResolvedSubModule> {
  return resolveSubModule({ module_name: moduleName, model_name: await modelNameOf(modelDir), model_dir: modelDir, ...params });
}

/** What a worker thread provides, in-process: CPU sessions, by default with one intra-op thread (the machine has 2 cores). */
export function cpuRuntime(intraOpThreads = 1): RuntimeContext {
  return {
    loadSession: (model) => createSession(model.onnxPath, { device: { kind: 'cpu', id: 0 }, intraOpThreads }),
  };
}

/** A test photo, decoded by the server's own decoder. */
export async function readTestImage(file: string): Promise<RgbImage> {
  return decodeImage(await readFile(file), file);
}

/** The operations of a pipeline's worker module, created in-process (as a worker would). */
export async function createWorkerOps<Ops extends WorkerOps>(
  descriptor: PipelineDescriptor<Ops, any>,
  config: PipelineConfig,
  rt = cpuRuntime(),
): Promise<Ops> {
  const worker = ((await import(descriptor.worker)) as { default: WorkerModule<Ops> }).default;
  return worker.create(config, rt);
}

/** An EndpointContext that runs `ops` in-process and reads inputs as Base64; Serving.extra gets the descriptor's defaults. */
export function inProcessContext<Ops extends WorkerOps>(
  descriptor: PipelineDescriptor<Ops, any>,
  ops: Ops,
  config: PipelineConfig,
  visualize: boolean,
): EndpointContext<Ops, any> {
  return {
    logId: 'test',
    config,
    serving: { visualize, extra: descriptor.servingExtra.parse({}) },
    parallelism: 1,
    signal: new AbortController().signal,
    progress: NO_PROGRESS,
    allowPrivateUrls: false,
    run: (async (op: string, payload: unknown) => ops[op]!(payload)) as EndpointContext<Ops, any>['run'],
    releaseInstances: () => {},
    loadInput: async (value: string) => new Uint8Array(Buffer.from(value, 'base64')),
  };
}
