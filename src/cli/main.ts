#!/usr/bin/env node
import { copyFile, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { builtinConfigText, builtinPipelineNames } from '../config/pipelineConfig.js';
import { ApiError, ConfigError } from '../errors.js';
import { isUrl } from '../io/input.js';
import type { InputKind } from '../pipelines/define.js';
import { imageFields } from '../pipelines/shared/schemas.js';
import { cudaInstalled, formatDevice } from '../runtime/device.js';
import { convertPaddleDir, ONNX_OPSET, paddleModelFiles } from '../runtime/paddle/convert.js';
import { createBasicApp } from '../serving/basic/app.js';
import { type ConnectionLimits, DEFAULT_CONNECTION_LIMITS } from '../serving/basic/connections.js';
import { DEFAULT_JOB_OPTIONS, type JobOptions } from '../serving/jobs.js';
import { jsonLogger } from '../serving/requestLog.js';
import { writeHpsSdk } from '../serving/triton/sdk.js';
import { startHpsServer } from '../serving/triton/server.js';
import { PipelineService, type ServedEndpoint } from '../serving/service.js';

const HELP = `pipeserve — PaddleX-compatible pipeline serving on Node.js

Serve (PaddleX: paddlex --serve ...):
  pipeserve --serve --pipeline <name|path.yaml> [--pipeline ...] [options]
Predict locally:
  pipeserve --pipeline <name|path.yaml> --input <file|url|dir> [--save_path DIR]
Other:
  pipeserve --get_pipeline_config <name> [--save_path DIR]   write a built-in pipeline YAML
High-stability serving (Triton's protocol; PaddleX HPS SDK layout):
  pipeserve --get_hps_sdk <name|path.yaml> [--save_path DIR]  write DIR/pipeserve_hps_<name>_sdk/
  pipeserve --serve_hps --model-repository DIR --pipeline_config FILE
            [--http-port 8000] [--grpc-port 8001] [--metrics-port 8002]
  pipeserve --install serving                                 nothing to do: serving is built in
  pipeserve --paddle2onnx --paddle_model_dir DIR [--onnx_model_dir OUT]
                           convert a Paddle inference dir (inference.json or inference.pdmodel +
                           inference.pdiparams) to OUT/inference.onnx (opset ${ONNX_OPSET}) and copy inference.yml;
                           OUT defaults to DIR. Serving converts such dirs by itself (cached).

Options:
  --pipeline <name|yaml>   built-in pipeline name or a PaddleX pipeline YAML; repeat to serve several
                           pipelines on one port (their endpoints must not clash)
  --device <cpu|gpu|gpu:N> default gpu:0 when onnxruntime's CUDA provider is usable, else cpu
  --host <addr>            default 0.0.0.0
  --port <n>               default 8080
  --use_hpip               lowest-latency configuration found by \`npm run bench\`: one inference
                           worker whose sessions use every core (unless --workers is given)
  --workers <n>            inference instances per pipeline (default: CPU cores); each instance is a
                           child process with the pipeline's models (a crash kills only that one)
  --max-queue <n>          tasks that may wait per pipeline before new requests get 503 (default 16 × workers)
  --pipeline-workers <name=n>    instances of one pipeline (by pipeline_name; repeatable; YAML: Serving.workers)
  --pipeline-max-queue <name=n>  queue bound of one pipeline (repeatable; YAML: Serving.max_queue)
  --timeout <s>            seconds a request may take before it gets 504; an instance still busy with
                           it then is killed and replaced (default 600)
  --recycle-after <n>      replace an instance after n tasks, without failing requests (default: never)
  --recycle-rss-mb <n>     replace an instance whose memory exceeds n MB after a task (default: never)
  --log-format <f>         uvicorn (default: PaddleX-like lines) or json (pino, one object per line)
  --no-metrics             no GET /metrics (Prometheus; on by default, open like /health)
  --no-playground          no web playground at GET / (on by default: try any endpoint in a browser)
  --api-key <key>          require "Authorization: Bearer <key>" (also env PIPESERVE_API_KEY)
  --allow-private-urls     let URL inputs reach loopback, private and link-local addresses
  --max-body-mb <n>        largest request body accepted (default 100)
  --max-connections <n>    open sockets; at the cap a new one evicts the longest-idle socket that is
                           not being answered (default 1000)
  --headers-timeout <s>    time to send a request's headers, else 408 (default 30)
  --receive-timeout <s>    time to send a whole request, headers and body, else 408 (default 300)
  --idle-timeout <s>       silence allowed on a socket that is not being answered (default 30)
  --keep-alive-timeout <s> idle keep-alive sockets are closed after this (default 5, as uvicorn)
  --drain-timeout <s>      after SIGTERM/SIGINT, requests in flight get this long before exit (default 30)
  --jobs-db <file>         enable async jobs (POST /jobs/<endpoint>, GET /jobs/<id>[/result|/events],
                           DELETE /jobs/<id>), their state and results kept in this SQLite file; one
                           server per file. Off without it
  --job-ttl <s>            how long finished jobs and their results are kept (default 86400)
  --jobs-max-mb <n>        disk the stored results may take; new jobs then get 507 (default 1024)
  --job-timeout <s>        a job's time limit, like --timeout for requests (default 3600)
  --offline                never download official models (also env PIPESERVE_OFFLINE=1)
  --input <file|url|dir>   with --pipeline and no --serve: predict locally and print/save JSON
  --save_path <dir>        where --input results or --get_pipeline_config output go
  --prompt <text|json>     with --input, as PaddleX's CLI: open-vocabulary detection's text prompt, or
                           segmentation's prompt list (JSON, e.g. '[[10, 20, 200, 300]]')
  --prompt_type <box|point>  with --input, open-vocabulary segmentation's prompt kind
  --thresholds <json>      with --input, open-vocabulary detection's thresholds, e.g. '{"box_threshold": 0.4}'
  -h, --help               this text

Built-in pipelines: ${builtinPipelineNames().join(', ')}
Models are looked up in: model_dir of the YAML, then $PIPESERVE_HOME/models/<model_name>
(default ~/.pipeserve/models), then models shipped in npm dependencies; an official PaddleX model
missing from all of them is downloaded into $PIPESERVE_HOME/models as PaddleX does (Hugging Face
first; PADDLE_PDX_MODEL_SOURCE picks the first source, PIPESERVE_MODEL_SOURCE adds a mirror URL).
Paddle inference dirs (inference.json/.pdmodel + .pdiparams) are converted to ONNX once and cached.`;

const OPTIONS = {
  serve: { type: 'boolean' },
  pipeline: { type: 'string', multiple: true },
  device: { type: 'string' },
  host: { type: 'string', default: '0.0.0.0' },
  port: { type: 'string', default: '8080' },
  use_hpip: { type: 'boolean' },
  workers: { type: 'string' },
  'max-queue': { type: 'string' },
  'pipeline-workers': { type: 'string', multiple: true },
  'pipeline-max-queue': { type: 'string', multiple: true },
  timeout: { type: 'string' },
  'recycle-after': { type: 'string' },
  'recycle-rss-mb': { type: 'string' },
  'log-format': { type: 'string', default: 'uvicorn' },
  'no-metrics': { type: 'boolean' },
  'no-playground': { type: 'boolean' },
  'api-key': { type: 'string' },
  'allow-private-urls': { type: 'boolean' },
  'max-body-mb': { type: 'string', default: '100' },
  'max-connections': { type: 'string' },
  'headers-timeout': { type: 'string' },
  'receive-timeout': { type: 'string' },
  'idle-timeout': { type: 'string' },
  'keep-alive-timeout': { type: 'string' },
  'drain-timeout': { type: 'string' },
  'jobs-db': { type: 'string' },
  'job-ttl': { type: 'string' },
  'jobs-max-mb': { type: 'string' },
  'job-timeout': { type: 'string' },
  input: { type: 'string' },
  save_path: { type: 'string' },
  prompt: { type: 'string' },
  prompt_type: { type: 'string' },
  thresholds: { type: 'string' },
  get_pipeline_config: { type: 'string' },
  get_hps_sdk: { type: 'string' },
  serve_hps: { type: 'boolean' },
  'model-repository': { type: 'string' },
  pipeline_config: { type: 'string' },
  'http-port': { type: 'string' },
  'grpc-port': { type: 'string' },
  'metrics-port': { type: 'string' },
  install: { type: 'string' },
  offline: { type: 'boolean' },
  paddle2onnx: { type: 'boolean' },
  paddle_model_dir: { type: 'string' },
  onnx_model_dir: { type: 'string' },
  opset_version: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function parseCommandLine() {
  try {
    return parseArgs({ options: OPTIONS, strict: true }).values;
  } catch (err) {
    process.stderr.write(`ERROR:    ${(err as Error).message}\nRun pipeserve --help for the options.\n`);
    process.exit(2);
  }
}

const args = parseCommandLine();
// model resolution (and anything it starts) reads the environment
if (args.offline) process.env.PIPESERVE_OFFLINE = '1';

if (args['log-format'] !== 'uvicorn' && args['log-format'] !== 'json') {
  process.stderr.write(`ERROR:    --log-format ${args['log-format']}: expected uvicorn or json\n`);
  process.exit(2);
}
const jsonLog = args['log-format'] === 'json' ? jsonLogger() : undefined;
const log = jsonLog?.log ?? ((line: string) => process.stderr.write(`${line}\n`));

const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;

function positiveNumber(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new ConfigError(`--${flag} ${value}: expected a positive number`);
  return n;
}

/** `NAME=N` values of a repeatable per-pipeline flag. */
function perPipeline(flag: string, values: string[] | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const value of values ?? []) {
    const m = /^(.+)=(.+)$/.exec(value);
    if (!m) throw new ConfigError(`--${flag} ${value}: expected <pipeline_name>=<number>, e.g. OCR=2`);
    out[m[1]!] = positiveNumber(flag, m[2])!;
  }
  return out;
}

function startService(): Promise<PipelineService> {
  return PipelineService.start({
    pipelines: args.pipeline ?? [],
    device: args.device,
    workers: positiveNumber('workers', args.workers),
    maxQueue: positiveNumber('max-queue', args['max-queue']),
    pipelineWorkers: perPipeline('pipeline-workers', args['pipeline-workers']),
    pipelineMaxQueue: perPipeline('pipeline-max-queue', args['pipeline-max-queue']),
    timeoutSeconds: positiveNumber('timeout', args.timeout),
    recycle: {
      afterTasks: positiveNumber('recycle-after', args['recycle-after']) ?? 0,
      rssBytes: (positiveNumber('recycle-rss-mb', args['recycle-rss-mb']) ?? 0) * 2 ** 20,
    },
    highPerformance: args.use_hpip,
    fetchLimits: { allowPrivate: Boolean(args['allow-private-urls']) },
    log,
  });
}

/** A flag given in seconds, in milliseconds; `defaultMs` when the flag is absent. */
function milliseconds(flag: string, value: string | undefined, defaultMs: number): number {
  const seconds = positiveNumber(flag, value);
  return seconds === undefined ? defaultMs : seconds * 1000;
}

function connectionLimits(): ConnectionLimits {
  const limits: ConnectionLimits = {
    maxConnections: positiveNumber('max-connections', args['max-connections']) ?? DEFAULT_CONNECTION_LIMITS.maxConnections,
    headersTimeoutMs: milliseconds('headers-timeout', args['headers-timeout'], DEFAULT_CONNECTION_LIMITS.headersTimeoutMs),
    receiveTimeoutMs: milliseconds('receive-timeout', args['receive-timeout'], DEFAULT_CONNECTION_LIMITS.receiveTimeoutMs),
    idleTimeoutMs: milliseconds('idle-timeout', args['idle-timeout'], DEFAULT_CONNECTION_LIMITS.idleTimeoutMs),
    keepAliveTimeoutMs: milliseconds('keep-alive-timeout', args['keep-alive-timeout'], DEFAULT_CONNECTION_LIMITS.keepAliveTimeoutMs),
  };
  if (limits.headersTimeoutMs > limits.receiveTimeoutMs) {
    throw new ConfigError(
      `--headers-timeout ${limits.headersTimeoutMs / 1000} is longer than --receive-timeout ${limits.receiveTimeoutMs / 1000}: the headers are part of the request`,
    );
  }
  return limits;
}

function jobOptions(): JobOptions | undefined {
  if (args['jobs-db'] === undefined) return undefined;
  const maxMb = positiveNumber('jobs-max-mb', args['jobs-max-mb']);
  return {
    dbFile: args['jobs-db'],
    ttlSeconds: positiveNumber('job-ttl', args['job-ttl']) ?? DEFAULT_JOB_OPTIONS.ttlSeconds,
    maxStoreBytes: maxMb === undefined ? DEFAULT_JOB_OPTIONS.maxStoreBytes : maxMb * 2 ** 20,
    timeoutSeconds: positiveNumber('job-timeout', args['job-timeout']) ?? DEFAULT_JOB_OPTIONS.timeoutSeconds,
  };
}

async function serve(): Promise<void> {
  const port = positiveNumber('port', args.port)!;
  const limits = connectionLimits();
  const drainTimeoutMs = milliseconds('drain-timeout', args['drain-timeout'], DEFAULT_DRAIN_TIMEOUT_MS);
  const service = await startService();
  const app = await createBasicApp(service, {
    apiKey: args['api-key'] ?? process.env.PIPESERVE_API_KEY ?? undefined,
    maxBodyBytes: positiveNumber('max-body-mb', args['max-body-mb'])! * 2 ** 20,
    connectionLimits: limits,
    accessLog: jsonLog ? undefined : log,
    jsonLog: jsonLog?.logger,
    errorLog: log,
    metrics: !args['no-metrics'],
    playground: !args['no-playground'],
    jobs: jobOptions(),
  });
  log(`INFO:     Started server process [${process.pid}]`);
  log('INFO:     Waiting for application startup.');
  for (const { endpoint, pipeline } of service.endpoints())
    log(`INFO:     POST ${endpoint.path}  (${pipeline.config.pipeline_name}, ${pipeline.source})`);
  for (const { config, pool } of service.pipelines)
    log(`INFO:     ${config.pipeline_name}: ${pool.size} inference instances (child processes) on ${formatDevice(service.device)}`);
  log('INFO:     Application startup complete.');
  await app.listen({ host: args.host, port });
  log(`INFO:     pipeserve running on http://${args.host}:${port} (Press CTRL+C to quit)`);

  let stopping = false;
  const finish = () => {
    log(`INFO:     Finished server process [${process.pid}]`);
    process.exit(0);
  };
  // Drain: new connections are refused and idle sockets closed at once (app.close), requests in
  // flight are answered; whatever is left at the deadline (a stalled upload, a long job) is cut.
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    log('INFO:     Shutting down');
    setTimeout(() => {
      log(`WARNING:  Drain timeout (${drainTimeoutMs / 1000} s, --drain-timeout) reached: closing the connections still open and exiting`);
      finish();
    }, drainTimeoutMs);
    await app.close(); // waits for in-flight requests
    log('INFO:     Waiting for application shutdown.');
    await service.close();
    log('INFO:     Application shutdown complete.');
    finish();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

async function serveHps(): Promise<void> {
  const repository = args['model-repository'];
  const pipelineConfig = args.pipeline_config ?? process.env.PADDLEX_HPS_PIPELINE_CONFIG_PATH;
  if (!repository) throw new ConfigError('--serve_hps needs --model-repository DIR');
  if (!pipelineConfig) throw new ConfigError('--serve_hps needs --pipeline_config FILE (or PADDLEX_HPS_PIPELINE_CONFIG_PATH)');
  const envDevice = process.env.PADDLEX_HPS_DEVICE_TYPE;
  if (envDevice && envDevice !== 'cpu' && envDevice !== 'gpu')
    throw new ConfigError(`PADDLEX_HPS_DEVICE_TYPE=${envDevice}: expected cpu or gpu`);
  const server = await startHpsServer({
    pipelineConfig,
    modelRepository: repository,
    host: args.host,
    httpPort: positiveNumber('http-port', args['http-port']),
    grpcPort: positiveNumber('grpc-port', args['grpc-port']),
    metricsPort: positiveNumber('metrics-port', args['metrics-port']),
    deviceType: (envDevice as 'cpu' | 'gpu' | undefined) ?? (cudaInstalled() ? 'gpu' : 'cpu'),
    useHpip: args.use_hpip || process.env.PADDLEX_HPS_USE_HPIP === '1',
    allowPrivateUrls: Boolean(args['allow-private-urls']),
    log,
  });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    log('I1201 server] Waiting for in-flight requests to complete.');
    // Triton's --exit-timeout-secs default: whatever is left after 30 s does not hold the exit
    setTimeout(() => process.exit(0), 30_000).unref();
    await server.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

const INPUT_EXTENSIONS: Record<InputKind, Set<string>> = {
  image: new Set(['.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp', '.gif']),
  document: new Set(['.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp', '.gif', '.pdf']),
  csv: new Set(['.csv']),
  audio: new Set(['.wav', '.mp3', '.flac', '.ogg', '.oga', '.opus', '.m4a', '.aac']),
  video: new Set(['.mp4', '.avi', '.mov', '.mkv', '.webm', '.mpeg', '.mpg']),
  tar: new Set(['.tar']),
  // endpoints whose input is not one file (ShiTu's imageLabelPairs) are never fed by --input
  none: new Set(),
};

/** The input itself, or the files of a directory that the endpoint's input kind takes (CSV files sent as Base64 too). */
async function listInputs(input: string, kind: InputKind): Promise<string[]> {
  if (isUrl(input)) return [input];
  const info = await stat(input).catch(() => undefined);
  if (!info) throw new ConfigError(`--input ${input}: no such file or directory`);
  if (!info.isDirectory()) return [input];
  const names = (await readdir(input)).filter((n) => INPUT_EXTENSIONS[kind].has(path.extname(n).toLowerCase())).sort();
  return names.map((n) => path.join(input, n));
}

type ImageFields = ReturnType<typeof imageFields>;

async function saveImage(b64: string, saveDir: string, nameParts: string[]): Promise<string> {
  const bytes = Buffer.from(b64, 'base64');
  // map keys may be relative paths (PP-StructureV3's markdown images: imgs/img_in_….jpg): one flat file name
  const name = nameParts
    .join('_')
    .replace(/[/\\]/g, '_')
    .replace(/\.(jpg|png)$/, '');
  const file = path.join(saveDir, `${name}${bytes[0] === 0x89 ? '.png' : '.jpg'}`);
  await writeFile(file, bytes);
  return file;
}

/** Replace the result's Base64 images (the fields its schema marks as images) by the files they were saved to. */
async function saveImages(value: unknown, fields: ImageFields, stem: string, saveDir: string, trail: string[] = []): Promise<unknown> {
  if (Array.isArray(value)) return Promise.all(value.map((v, i) => saveImages(v, fields, stem, saveDir, [...trail, String(i)])));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (fields.images.has(key) && typeof v === 'string') {
      out[key] = await saveImage(v, saveDir, [stem, ...trail, key]);
    } else if (fields.imageMaps.has(key) && v && typeof v === 'object') {
      const saved: Record<string, string> = {};
      for (const [name, img] of Object.entries(v)) saved[name] = await saveImage(String(img), saveDir, [stem, ...trail, key, name]);
      out[key] = saved;
    } else {
      out[key] = await saveImages(v, fields, stem, saveDir, [...trail, key]);
    }
  }
  return out;
}

/** A JSON flag value (PaddleX's CLI reads these as Python literals; their JSON spelling is the same for numbers and lists). */
function jsonFlag(flag: string, value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    throw new ConfigError(
      `--${flag} ${value}: expected JSON, e.g. ${flag === 'thresholds' ? '\'{"box_threshold": 0.4}\'' : "'[[10, 20, 200, 300]]'"}`,
    );
  }
}

/** The open-vocabulary request fields PaddleX's CLI takes as flags, for --input (the request schema checks them). */
function promptFields(): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  if (args.prompt !== undefined) fields.prompt = args.prompt.trimStart().startsWith('[') ? jsonFlag('prompt', args.prompt) : args.prompt;
  if (args.prompt_type !== undefined) fields.promptType = args.prompt_type;
  if (args.thresholds !== undefined) fields.thresholds = jsonFlag('thresholds', args.thresholds);
  return fields;
}

async function predictLocally(input: string): Promise<void> {
  const service = await startService();
  try {
    // the endpoint that takes one image or document (ShiTu's index endpoints take other inputs)
    const served = service.endpoints().find((e) => e.endpoint.input.kind !== 'none') as ServedEndpoint;
    const fields = imageFields(served.endpoint.result);
    const saveDir = args.save_path;
    if (saveDir) await mkdir(saveDir, { recursive: true });
    for (const item of await listInputs(input, served.endpoint.input.kind)) {
      const fileField = served.endpoint.input.field;
      const body: Record<string, unknown> = {
        [fileField]: isUrl(item) ? item : (await readFile(item)).toString('base64'),
        visualize: Boolean(saveDir),
      };
      if (served.endpoint.input.kind === 'document' && !isUrl(item)) body.fileType = path.extname(item).toLowerCase() === '.pdf' ? 0 : 1;
      Object.assign(body, promptFields());
      const stem = isUrl(item) ? 'url' : path.parse(item).name;
      try {
        const result = await service.invoke(served, body, 'local');
        const shown = saveDir ? await saveImages(result, fields, stem, saveDir) : result;
        const json = JSON.stringify({ input_path: item, ...(shown as object) }, null, 2);
        if (saveDir) await writeFile(path.join(saveDir, `${stem}_res.json`), `${json}\n`);
        process.stdout.write(`${json}\n`);
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        log(`ERROR:    ${item}: ${err.message}`);
        process.exitCode = 1;
      }
    }
  } finally {
    await service.close();
  }
}

/** PaddleX's `--paddle2onnx`: writes inference.onnx and copies inference.yml (and scaler.pkl) as PaddleX does. */
async function paddleToOnnx(): Promise<void> {
  if (!args.paddle_model_dir) throw new ConfigError('--paddle2onnx needs --paddle_model_dir <Paddle inference dir>');
  if (args.opset_version !== undefined && Number(args.opset_version) !== ONNX_OPSET) {
    throw new ConfigError(`--opset_version ${args.opset_version}: this converter writes opset ${ONNX_OPSET} only`);
  }
  const source = path.resolve(args.paddle_model_dir);
  const target = path.resolve(args.onnx_model_dir ?? source);
  const files = paddleModelFiles(source);
  if (!files) throw new ConfigError(`--paddle_model_dir ${source}: holds neither inference.json nor inference.pdmodel`);
  const model = convertPaddleDir(source, path.basename(source), files);
  await mkdir(target, { recursive: true });
  await writeFile(path.join(target, 'inference.onnx'), model);
  for (const name of ['inference.yml', 'scaler.pkl']) {
    if (source !== target && existsSync(path.join(source, name))) await copyFile(path.join(source, name), path.join(target, name));
  }
  process.stdout.write(`The ONNX model has been saved to: ${path.join(target, 'inference.onnx')}\n`);
}

async function main(): Promise<void> {
  if (args.help) return void process.stdout.write(`${HELP}\n`);
  if (args.install !== undefined) {
    process.stdout.write(`Nothing to install: ${args.install === 'serving' ? 'serving' : `"${args.install}"`} is built into pipeserve.\n`);
    return;
  }
  if (args.get_pipeline_config) {
    const text = await builtinConfigText(args.get_pipeline_config);
    const dir = args.save_path ?? '.';
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, `${args.get_pipeline_config}.yaml`);
    await writeFile(file, text);
    process.stdout.write(`The pipeline config has been saved to: ${file}\n`);
    return;
  }
  if (args.get_hps_sdk) {
    const root = await writeHpsSdk(args.get_hps_sdk, args.save_path ?? '.');
    process.stdout.write(`The HPS SDK has been saved to: ${root}\n`);
    return;
  }
  if (args.serve_hps) return serveHps();
  if (args.paddle2onnx) return paddleToOnnx();
  if (args.serve) return serve();
  if (args.pipeline && args.input) return predictLocally(args.input);
  process.stderr.write(`${HELP}\n`);
  process.exitCode = 2;
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof ApiError) log(`ERROR:    ${err.message}`);
  else log(`ERROR:    ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
