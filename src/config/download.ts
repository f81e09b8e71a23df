import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import cliProgress from 'cli-progress';
import { ConfigError } from '../errors.js';

/**
 * Official PaddleX models for `model_dir: null`, fetched as PaddleX does (paddlex/inference/utils/
 * official_models.py): from the Hugging Face repo `PaddlePaddle/<model_name>` or ModelScope's repo of
 * the same name, `PADDLE_PDX_MODEL_SOURCE` choosing the first source. `PIPESERVE_MODEL_SOURCE` puts a
 * mirror with the Hugging Face layout (e.g. an HF_ENDPOINT-style mirror) in front of them.
 */

export type SourceName = 'huggingface' | 'aistudio' | 'modelscope' | 'bos';

/** PaddleX's candidate order; PADDLE_PDX_MODEL_SOURCE moves one to the front. */
const PADDLEX_ORDER: SourceName[] = ['huggingface', 'aistudio', 'modelscope', 'bos'];
const HUGGING_FACE = 'https://huggingface.co';
const MODELSCOPE = 'https://modelscope.cn';

export interface RemoteFile {
  path: string;
  size?: number;
  /** hex, when the source publishes one (Hugging Face: LFS files; ModelScope: every file) */
  sha256?: string;
  url: string;
}

export interface Source {
  name: string;
  list(modelName: string): Promise<RemoteFile[]>;
}

async function getJson(url: string): Promise<any> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return res.json();
}

/** The Hugging Face Hub API (also served by its mirrors): the repo tree gives sizes and, for LFS files, sha256. */
function huggingFace(name: string, endpoint: string): Source {
  const base = endpoint.replace(/\/+$/, '');
  return {
    name,
    async list(modelName) {
      const tree: any[] = await getJson(`${base}/api/models/PaddlePaddle/${modelName}/tree/main`);
      return tree
        .filter((e) => e.type === 'file')
        .map((e) => ({
          path: e.path,
          size: e.lfs?.size ?? e.size,
          sha256: e.lfs?.oid,
          url: `${base}/PaddlePaddle/${modelName}/resolve/main/${e.path}`,
        }));
    },
  };
}

function modelScope(): Source {
  const base = `${MODELSCOPE}/api/v1/models/PaddlePaddle`;
  return {
    name: 'modelscope',
    async list(modelName) {
      const body = await getJson(`${base}/${modelName}/repo/files?Revision=master&Recursive=true`);
      return (body?.Data?.Files ?? [])
        .filter((f: any) => f.Type === 'blob')
        .map((f: any) => ({
          path: f.Path,
          size: f.Size,
          sha256: f.Sha256,
          url: `${base}/${modelName}/repo?Revision=master&FilePath=${encodeURIComponent(f.Path)}`,
        }));
    },
  };
}

/** A mirror serving the Hugging Face Hub's layout and API at `url`. */
export function mirrorSource(url: string): Source {
  return huggingFace(`mirror ${url}`, url);
}

/** Sources in the order they are tried, with the reasons some of PaddleX's are left out. */
export function modelSources(env: NodeJS.ProcessEnv = process.env): { sources: Source[]; skipped: string[] } {
  const preferred = (env.PADDLE_PDX_MODEL_SOURCE ?? 'huggingface').toLowerCase() as SourceName;
  const order = [preferred, ...PADDLEX_ORDER.filter((s) => s !== preferred)].filter((s) => PADDLEX_ORDER.includes(s));
  const sources: Source[] = [];
  const skipped: string[] = [];
  if (env.PIPESERVE_MODEL_SOURCE) sources.push(mirrorSource(env.PIPESERVE_MODEL_SOURCE));
  for (const name of order) {
    if (name === 'huggingface') sources.push(huggingFace('huggingface', env.PADDLE_PDX_HUGGING_FACE_ENDPOINT ?? HUGGING_FACE));
    else if (name === 'modelscope') sources.push(modelScope());
    // AI Studio needs its SDK's authenticated API and BOS ships tar archives: neither is fetched here
    else skipped.push(name);
  }
  return { sources, skipped };
}

/** Files of a Paddle inference dir (the repos also hold README.md, config.json, .gitattributes). */
function isModelFile(file: RemoteFile): boolean {
  return /^inference\.(yml|json|pdmodel|pdiparams|onnx)$/.test(file.path);
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

type Progress = { start(total: number, done: number): void; update(done: number): void; stop(): void };

function progressFor(label: string, log: (line: string) => void): Progress {
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: `${label} [{bar}] {percentage}% {value}/{total} bytes`, stream: process.stderr },
      cliProgress.Presets.shades_classic,
    );
    return { start: (total, done) => bar.start(total, done), update: (done) => bar.update(done), stop: () => bar.stop() };
  }
  return {
    start: (total, done) => log(`INFO:     Downloading ${label} (${total} bytes${done ? `, resuming at ${done}` : ''})`),
    update: () => {},
    stop: () => log(`INFO:     Downloaded ${label}`),
  };
}

/** Downloads into `target`, resuming a partial file with a Range request; verifies size and sha256 when known. */
async function fetchFile(file: RemoteFile, target: string, label: string, log: (line: string) => void): Promise<void> {
  const have = existsSync(target) ? (await stat(target)).size : 0;
  const complete = file.size !== undefined && have === file.size;
  if (!complete) {
    const res = await fetch(file.url, { headers: have ? { Range: `bytes=${have}-` } : {} });
    if (!res.ok || !res.body) throw new Error(`GET ${file.url}: HTTP ${res.status}`);
    const resumed = res.status === 206;
    const progress = progressFor(label, log);
    const total = file.size ?? Number(res.headers.get('content-length') ?? 0) + (resumed ? have : 0);
    let done = resumed ? have : 0;
    progress.start(total, done);
    // chunk by chunk rather than through a write stream: what arrived before a dropped connection
    // must be on disk for the next attempt to resume from
    const out = await open(target, resumed ? 'a' : 'w');
    try {
      for await (const chunk of Readable.fromWeb(res.body as any) as AsyncIterable<Buffer>) {
        await out.write(chunk);
        progress.update((done += chunk.length));
      }
    } finally {
      await out.close();
      progress.stop();
    }
  }
  const size = (await stat(target)).size;
  if (file.size !== undefined && size !== file.size) throw new Error(`${label}: got ${size} bytes, the source lists ${file.size}`);
  if (file.sha256 && (await sha256Of(target)) !== file.sha256) {
    await rm(target, { force: true });
    throw new Error(`${label}: sha256 differs from the one the source publishes`);
  }
}

const ATTEMPTS = 3;

/**
 * Downloads official model `modelName` into `modelsDir/<modelName>`. Files gather in
 * `modelsDir/.partial/<modelName>` (kept between runs, so an interrupted download resumes) and the
 * dir is renamed into place only when every file is complete and verified.
 */
export async function downloadOfficialModel(
  modelName: string,
  modelsDir: string,
  log: (line: string) => void,
  { sources, skipped } = modelSources(),
): Promise<string> {
  const finalDir = path.join(modelsDir, modelName);
  const partialDir = path.join(modelsDir, '.partial', modelName);
  const failures: string[] = skipped.map((s) => `${s}: not supported by pipeserve's downloader`);
  for (const source of sources) {
    let files: RemoteFile[];
    try {
      files = (await source.list(modelName)).filter(isModelFile);
    } catch (err) {
      failures.push(`${source.name}: ${(err as Error).message}`);
      continue;
    }
    if (!files.some((f) => f.path === 'inference.yml')) {
      failures.push(`${source.name}: no inference.yml for ${modelName}`);
      continue;
    }
    log(`INFO:     Downloading official model ${modelName} from ${source.name} into ${finalDir}`);
    await mkdir(partialDir, { recursive: true });
    try {
      for (const file of files) {
        const label = `${modelName}/${file.path}`;
        for (let attempt = 1; ; attempt++) {
          try {
            await fetchFile(file, path.join(partialDir, file.path), label, log);
            break;
          } catch (err) {
            if (attempt >= ATTEMPTS) throw err;
            log(`WARNING:  ${(err as Error).message}; retrying (${attempt}/${ATTEMPTS - 1})`);
          }
        }
      }
    } catch (err) {
      failures.push(`${source.name}: ${(err as Error).message}`);
      continue;
    }
    await rm(finalDir, { recursive: true, force: true });
    await rename(partialDir, finalDir);
    return finalDir;
  }
  throw new ConfigError(`Official model "${modelName}" could not be downloaded:\n${failures.map((f) => `  - ${f}`).join('\n')}`);
}

export function offline(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.PIPESERVE_OFFLINE === '1' || env.PIPESERVE_OFFLINE === 'true';
}

/**
 * The download, made synchronous for model resolution (which runs once at startup, before any
 * worker or server exists): a child Node process runs it with our stderr, so a terminal shows its
 * progress bar, and reports a failure on its stdout.
 */
export function downloadOfficialModelSync(modelName: string, modelsDir: string): string {
  const script = fileURLToPath(new URL('./downloadMain.js', import.meta.url));
  const run = spawnSync(process.execPath, [script, modelName, modelsDir], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (run.status !== 0)
    throw new ConfigError(run.stdout.trim() || `downloading official model "${modelName}" failed (exit ${run.status ?? run.signal})`);
  return path.join(modelsDir, modelName);
}
