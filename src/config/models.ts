import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { ConfigError } from '../errors.js';
import { fusedModelPath } from '../runtime/exportFusions.js';
import { convertWithCache } from '../runtime/paddle/cache.js';
import { paddleModelFiles } from '../runtime/paddle/convert.js';
import { catalogModel, catalogModelNames } from './catalog.js';
import { downloadOfficialModelSync, offline } from './download.js';
import { MODULE_GROUPS, type PipelineConfig, type SubModuleConfig } from './pipelineConfig.js';

/** Parsed `inference.yml` (or the catalog's equivalent for npm-shipped models). */
export type InferenceConfig = Record<string, any>;

/** A model whose files were found: everything a worker needs to load it. */
export interface ResolvedModel {
  modelName: string;
  onnxPath: string;
  /** the model directory, for models that read more files from it (GroundingDINO's tokenizer/); absent for catalog models */
  dir?: string;
  /** human-readable origin, printed at startup */
  source: string;
  inferenceConfig: InferenceConfig;
}

/** A sub-module config with its model already resolved (done once, on the main thread, before workers start). */
export interface ResolvedSubModule extends SubModuleConfig {
  resolved: ResolvedModel;
}

export function pipeserveHome(): string {
  return process.env.PIPESERVE_HOME || path.join(os.homedir(), '.pipeserve');
}

/**
 * PaddleTS writes `input_data` shapes as Python tuples (`!!python/tuple`, read by PaddleX with
 * `yaml.FullLoader`); here they are plain sequences, so the tag neither fails nor warns.
 */
const PYTHON_TUPLE_TAG = { tag: 'tag:yaml.org,2002:python/tuple', collection: 'seq' as const };

/** An inference.yml's text, as PaddleX reads it (FullLoader: Python tuples are plain sequences). */
export function parseInferenceYaml(text: string): InferenceConfig | null {
  return YAML.parse(text, { customTags: [PYTHON_TUPLE_TAG] });
}

function loadModelDir(dir: string, modelName: string): ResolvedModel | undefined {
  const ymlPath = path.join(dir, 'inference.yml');
  if (!existsSync(ymlPath)) {
    // PaddleOCR 2.x exports ship the program and weights only
    if (paddleModelFiles(dir)) {
      throw new ConfigError(
        `${dir} holds a Paddle program but no inference.yml (PaddleOCR 2.x exports lack it): add one with Global.model_name, PreProcess and PostProcess as PaddleX exports of "${modelName}" have`,
      );
    }
    return undefined;
  }
  let onnxPath = path.join(dir, 'inference.onnx');
  let source = dir;
  const paddle = existsSync(onnxPath) ? undefined : paddleModelFiles(dir);
  if (paddle) {
    // a Paddle inference dir (PaddleX's own download format): converted once, then served from the cache
    const converted = convertWithCache(dir, modelName, paddle, cacheDir());
    onnxPath = converted.onnxPath;
    source = `${dir} (converted from Paddle format ${converted.cached ? '(cached)' : `in ${converted.millis} ms`})`;
  } else if (!existsSync(onnxPath)) return undefined;
  let inferenceConfig: InferenceConfig;
  try {
    inferenceConfig = parseInferenceYaml(readFileSync(ymlPath, 'utf8')) ?? {};
  } catch (err) {
    throw new ConfigError(`${ymlPath}: not valid YAML: ${(err as Error).message}`);
  }
  return { modelName, onnxPath, dir, source, inferenceConfig };
}

/**
 * Resolution order: `model_dir` from the YAML → `$PIPESERVE_HOME/models/<model_name>` → the built-in
 * catalog of models shipped in npm dependencies → a download of the official model (not with --offline).
 * The model found is served with paddle2onnx's elementwise chains fused, from a copy in the cache.
 */
export function resolveModel(sub: SubModuleConfig, keyPath: string): ResolvedModel {
  const found = findModel(sub, keyPath);
  const fused = fusedModelPath(found.onnxPath, found.modelName, cacheDir());
  return fused ? { ...found, onnxPath: fused, source: `${found.source}, elementwise chains fused` } : found;
}

function cacheDir(): string {
  return path.join(pipeserveHome(), 'cache');
}

function findModel(sub: SubModuleConfig, keyPath: string): ResolvedModel {
  const searched: string[] = [];
  if (sub.model_dir) {
    const dir = path.resolve(sub.model_dir);
    const found = loadModelDir(dir, sub.model_name);
    if (found) return found;
    searched.push(`${dir} (${keyPath}.model_dir)`);
  } else {
    const dir = path.join(pipeserveHome(), 'models', sub.model_name);
    const found = loadModelDir(dir, sub.model_name);
    if (found) return found;
    searched.push(`${dir} ($PIPESERVE_HOME/models/<model_name>)`);
    const fromCatalog = catalogModel(sub.model_name);
    if (fromCatalog) return fromCatalog;
    searched.push(`the built-in catalog of npm-shipped models (it has ${catalogModelNames().join(', ')})`);
    if (offline()) {
      searched.push('no download: offline (--offline / PIPESERVE_OFFLINE=1)');
    } else {
      // PaddleX's behaviour for an official model name: fetch it on first use
      try {
        const downloaded = loadModelDir(downloadOfficialModelSync(sub.model_name, path.join(pipeserveHome(), 'models')), sub.model_name);
        if (downloaded) return downloaded;
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        searched.push(err.message);
      }
    }
  }
  throw new ConfigError(
    [
      `Model "${sub.model_name}" (${keyPath}, module ${sub.module_name}) was not found. Searched:`,
      ...searched.map((s) => `  - ${s}`),
      'A model directory holds inference.yml plus inference.onnx, or a Paddle program (inference.json or inference.pdmodel) with inference.pdiparams, converted at load. To make the ONNX file yourself:',
      `  paddlex --paddle2onnx --paddle_model_dir <paddle model dir> --onnx_model_dir ${path.join(pipeserveHome(), 'models', sub.model_name)}`,
      `then either put it at that path or set ${keyPath}.model_dir in the pipeline YAML.`,
    ].join('\n'),
  );
}

/** Resolve every sub-module of a pipeline and its sub-pipelines, in place order. */
export function resolvePipelineModels(config: PipelineConfig, keyPath = ''): PipelineConfig {
  const prefix = keyPath ? `${keyPath}.` : '';
  const SubModules = Object.fromEntries(
    Object.entries(config.SubModules ?? {})
      .filter(([role]) => !MODULE_GROUPS.includes(role))
      .map(([role, sub]) => [role, { ...sub, resolved: resolveModel(sub, `${prefix}SubModules.${role}`) } satisfies ResolvedSubModule]),
  );
  const SubPipelines = Object.fromEntries(
    Object.entries(config.SubPipelines ?? {}).map(([role, p]) => [role, resolvePipelineModels(p, `${prefix}SubPipelines.${role}`)]),
  );
  return { ...config, SubModules, SubPipelines };
}

/** Every resolved model of a pipeline tree, with its YAML key path (for startup log lines). */
export function listResolvedModels(config: PipelineConfig, keyPath = ''): Array<{ keyPath: string; model: ResolvedModel }> {
  const prefix = keyPath ? `${keyPath}.` : '';
  const own = Object.entries(config.SubModules ?? {}).flatMap(([role, sub]) => {
    const resolved = (sub as Partial<ResolvedSubModule>).resolved;
    return resolved ? [{ keyPath: `${prefix}SubModules.${role}`, model: resolved }] : [];
  });
  const nested = Object.entries(config.SubPipelines ?? {}).flatMap(([role, p]) => listResolvedModels(p, `${prefix}SubPipelines.${role}`));
  return [...own, ...nested];
}
