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
import { extractModelArchive } from './modelArchive.js';

/**
 * Official PaddleX models for `model_dir: null`, fetched as PaddleX does (paddlex/inference/utils/
 * official_models.py, its hosters): the Hugging Face repo `PaddlePaddle/<model_name>`, the AI Studio
 * repo `PaddleX/<model_name>`, ModelScope's `PaddlePaddle/<model_name>`, then BOS's
 * `<model_name>_infer.tar`, `PADDLE_PDX_MODEL_SOURCE` moving one to the front; a source that fails
 * passes on to the next. `PIPESERVE_MODEL_SOURCE` puts a mirror with the Hugging Face layout (e.g. an
 * HF_ENDPOINT-style mirror) in front of them all.
 */

export type SourceName = 'huggingface' | 'aistudio' | 'modelscope' | 'bos';

/** PaddleX's hoster_candidates order; PADDLE_PDX_MODEL_SOURCE moves one to the front. */
const PADDLEX_ORDER: SourceName[] = ['huggingface', 'aistudio', 'modelscope', 'bos'];
const HUGGING_FACE = 'https://huggingface.co';
const MODELSCOPE = 'https://modelscope.cn';
/** aistudio_sdk's git host (STUDIO_GIT_HOST overrides it there too) */
const AISTUDIO_GIT = 'http://git.aistudio.baidu.com';
/** PaddleX's _BosModelHoster base_url and version */
const BOS = 'https://paddle-model-ecology.bj.bcebos.com/paddlex/official_inference_model/paddle3.0.0';

export interface RemoteFile {
  path: string;
  size?: number;
  /** hex, when the source publishes one (Hugging Face: LFS files; ModelScope: every file) */
  sha256?: string;
  url: string;
}

/** A hub serving a model repo's files one by one. */
export interface FileSource {
  kind: 'files';
  name: string;
  list(modelName: string): Promise<RemoteFile[]>;
  /** request headers for its API and downloads */
  headers?: Record<string, string>;
}

/** A store serving each model as one archive (PaddleX's BOS source). */
export interface ArchiveSource {
  kind: 'archive';
  name: string;
  archiveUrl(modelName: string): string;
}

export type Source = FileSource | ArchiveSource;

async function getJson(url: string, headers: Record<string, string> = {}): Promise<any> {
  const res = await fetch(url, { headers });
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return res.json();
}

/** The Hugging Face Hub API (also served by its mirrors): the repo tree gives sizes and, for LFS files, sha256. */
function huggingFace(name: string, endpoint: string): FileSource {
  const base = endpoint.replace(/\/+$/, '');
  return {
    kind: 'files',
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

function modelScope(): FileSource {
  const base = `${MODELSCOPE}/api/v1/models/PaddlePaddle`;
  return {
    kind: 'files',
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

/**
 * AI Studio's model hub, a Gitea behind aistudio_sdk's snapshot_download: the repo tree lists the
 * files, each file's contents API gives its size (and, for LFS files, `lfs_oid` = sha256), and
 * `/media/` serves the file itself. Public repos need no token; AISTUDIO_ACCESS_TOKEN is sent as the SDK does.
 */
export function aiStudioSource(host: string, token?: string): FileSource {
  const repo = `${host.replace(/\/+$/, '')}/api/v1/repos/PaddleX`;
  const headers: Record<string, string> = token ? { Authorization: `token ${token}` } : {};
  return {
    kind: 'files',
    name: 'aistudio',
    headers,
    async list(modelName) {
      const paths: string[] = [];
      for (let page = 1; ; page++) {
        const tree = await getJson(`${repo}/${modelName}/git/trees/master?recursive=true&page=${page}&per_page=1000`, headers);
        paths.push(...(tree.tree ?? []).filter((e: any) => e.type === 'blob').map((e: any) => String(e.path)));
        if (!tree.truncated) break;
      }
      return Promise.all(
        paths.map(async (p) => {
          const file = encodeURIComponent(p);
          const info = await getJson(`${repo}/${modelName}/contents/${file}`, headers);
          return { path: p, size: info.lfs_size ?? info.size, sha256: info.lfs_oid, url: `${repo}/${modelName}/media/${file}` };
        }),
      );
    },
  };
}

/** BOS: `<base>/<model_name>_infer.tar`, a tar of the model dir (PaddleX's _BosModelHoster). */
export function bosSource(base: string): ArchiveSource {
  return { kind: 'archive', name: 'bos', archiveUrl: (modelName) => `${base.replace(/\/+$/, '')}/${modelName}_infer.tar` };
}

/** A mirror serving the Hugging Face Hub's layout and API at `url`. */
export function mirrorSource(url: string): FileSource {
  return huggingFace(`mirror ${url}`, url);
}

/** Sources in the order they are tried. */
export function modelSources(env: NodeJS.ProcessEnv = process.env): Source[] {
  const preferred = (env.PADDLE_PDX_MODEL_SOURCE ?? 'huggingface').toLowerCase() as SourceName;
  const order = [preferred, ...PADDLEX_ORDER.filter((s) => s !== preferred)].filter((s) => PADDLEX_ORDER.includes(s));
  const byName: Record<SourceName, () => Source> = {
    huggingface: () => huggingFace('huggingface', env.PADDLE_PDX_HUGGING_FACE_ENDPOINT ?? HUGGING_FACE),
    aistudio: () => aiStudioSource(env.STUDIO_GIT_HOST ?? AISTUDIO_GIT, env.AISTUDIO_ACCESS_TOKEN),
    modelscope: modelScope,
    bos: () => bosSource(BOS),
  };
  return [...(env.PIPESERVE_MODEL_SOURCE ? [mirrorSource(env.PIPESERVE_MODEL_SOURCE)] : []), ...order.map((name) => byName[name]())];
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
async function fetchFile(
  file: RemoteFile,
  target: string,
  label: string,
  log: (line: string) => void,
  headers: Record<string, string> = {},
): Promise<void> {
  const have = existsSync(target) ? (await stat(target)).size : 0;
  const complete = file.size !== undefined && have === file.size;
  if (!complete) {
    const res = await fetch(file.url, { headers: { ...headers, ...(have ? { Range: `bytes=${have}-` } : {}) } });
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

async function fetchWithRetries(
  file: RemoteFile,
  target: string,
  label: string,
  log: (line: string) => void,
  headers?: Record<string, string>,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetchFile(file, target, label, log, headers);
    } catch (err) {
      if (attempt >= ATTEMPTS) throw err;
      log(`WARNING:  ${(err as Error).message}; retrying (${attempt}/${ATTEMPTS - 1})`);
    }
  }
}

/** The model's files one by one into `partialDir` (kept between runs: a partial file resumes). */
async function downloadFiles(source: FileSource, modelName: string, partialDir: string, log: (line: string) => void): Promise<void> {
  const files = (await source.list(modelName)).filter(isModelFile);
  if (!files.some((f) => f.path === 'inference.yml')) throw new Error(`no inference.yml for ${modelName}`);
  await mkdir(partialDir, { recursive: true });
  for (const file of files)
    await fetchWithRetries(file, path.join(partialDir, file.path), `${modelName}/${file.path}`, log, source.headers);
}

/** The model's archive (resumable, its size from a HEAD request), unpacked into a fresh `partialDir`. */
async function downloadArchive(source: ArchiveSource, modelName: string, partialDir: string, log: (line: string) => void): Promise<void> {
  const url = source.archiveUrl(modelName);
  const head = await fetch(url, { method: 'HEAD' });
  if (!head.ok) throw new Error(`HEAD ${url}: HTTP ${head.status}`);
  const length = head.headers.get('content-length');
  const archive = `${partialDir}${path.extname(new URL(url).pathname)}`;
  await mkdir(path.dirname(partialDir), { recursive: true });
  await fetchWithRetries(
    { path: path.basename(archive), url, size: length ? Number(length) : undefined },
    archive,
    `${modelName} archive`,
    log,
  );
  await rm(partialDir, { recursive: true, force: true });
  await extractModelArchive(archive, partialDir, modelName);
  if (!existsSync(path.join(partialDir, 'inference.yml'))) {
    await rm(partialDir, { recursive: true, force: true });
    throw new Error(`the archive holds no inference.yml for ${modelName}`);
  }
  await rm(archive, { force: true });
}

/**
 * Downloads official model `modelName` into `modelsDir/<modelName>`, trying the sources in order.
 * Files gather in `modelsDir/.partial/<modelName>` and the dir is renamed into place only when
 * every file is complete and verified.
 */
export async function downloadOfficialModel(
  modelName: string,
  modelsDir: string,
  log: (line: string) => void,
  sources = modelSources(),
): Promise<string> {
  const finalDir = path.join(modelsDir, modelName);
  const partialDir = path.join(modelsDir, '.partial', modelName);
  const failures: string[] = [];
  for (const [i, source] of sources.entries()) {
    log(`INFO:     Downloading official model ${modelName} from ${source.name} into ${finalDir}`);
    try {
      if (source.kind === 'files') await downloadFiles(source, modelName, partialDir, log);
      else await downloadArchive(source, modelName, partialDir, log);
    } catch (err) {
      failures.push(`${source.name}: ${(err as Error).message}`);
      const next = sources[i + 1];
      if (next) log(`WARNING:  ${source.name} failed (${(err as Error).message}); trying ${next.name}`);
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
