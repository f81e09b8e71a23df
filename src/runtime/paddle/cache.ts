import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { convertPaddleDir, CONVERTER_VERSION, type PaddleModelFiles } from './convert.js';

export interface ConvertedModel {
  onnxPath: string;
  /** true when an earlier start already converted the same program, weights and converter */
  cached: boolean;
  /** conversion time; 0 on a cache hit */
  millis: number;
}

/**
 * The ONNX form of a Paddle inference dir, converted once and kept under `cacheDir` by a hash of
 * program + weights + converter version, so a changed file or converter never reuses a stale model.
 */
export function convertWithCache(dir: string, modelName: string, files: PaddleModelFiles, cacheDir: string): ConvertedModel {
  const program = readFileSync(files.programPath);
  const params = existsSync(files.paramsPath) ? readFileSync(files.paramsPath) : undefined;
  const hash = createHash('sha256');
  hash.update(`pipeserve-paddle-converter ${CONVERTER_VERSION}\0${path.basename(files.programPath)}\0`);
  hash.update(program);
  if (params) hash.update(params);
  const onnxPath = path.join(cacheDir, `${modelName}-${hash.digest('hex').slice(0, 32)}.onnx`);
  if (existsSync(onnxPath)) return { onnxPath, cached: true, millis: 0 };

  const started = performance.now();
  const model = convertPaddleDir(dir, modelName, files, program, params);
  writeFileAtomically(onnxPath, model);
  return { onnxPath, cached: false, millis: Math.round(performance.now() - started) };
}

/** Write then rename (creating the folder): a crash mid-write never leaves a file that looks finished. */
export function writeFileAtomically(file: string, bytes: Uint8Array): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const partial = `${file}.${process.pid}.partial`;
  writeFileSync(partial, bytes);
  renameSync(partial, file);
}
