#!/usr/bin/env node
import { copyFile, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { builtinConfigText, builtinPipelineNames } from '../config/pipelineConfig.js';
import { ApiError, ConfigError } from '../errors.js';
import { isUrl } from '../io/input.js';
import { convertPaddleDir, ONNX_OPSET, paddleModelFiles } from '../runtime/paddle/convert.js';
import { createBasicApp } from '../serving/basic/app.js';
import { PipelineService, type ServedEndpoint } from '../serving/service.js';

const HELP = `pipeserve — PaddleX-compatible pipeline serving on Node.js

Serve (PaddleX: paddlex --serve ...):
  pipeserve --serve --pipeline <name|path.yaml> [--pipeline ...] [options]
Predict locally:
  pipeserve --pipeline <name|path.yaml> --input <file|url|dir> [--save_path DIR]
Other:
  pipeserve --get_pipeline_config <name> [--save_path DIR]   write a built-in pipeline YAML
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
  --workers <n>            inference worker threads (default: CPU cores); each loads every model
  --max-queue <n>          requests that may wait for a worker before new ones get 503 (default 16 × workers)
  --api-key <key>          require "Authorization: Bearer <key>" (also env PIPESERVE_API_KEY)
  --allow-private-urls     let URL inputs reach loopback, private and link-local addresses
  --max-body-mb <n>        largest request body accepted (default 100)
  --offline                never download official models (also env PIPESERVE_OFFLINE=1)
  --input <file|url|dir>   with --pipeline and no --serve: predict locally and print/save JSON
  --save_path <dir>        where --input results or --get_pipeline_config output go
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
  'api-key': { type: 'string' },
  'allow-private-urls': { type: 'boolean' },
  'max-body-mb': { type: 'string', default: '100' },
  input: { type: 'string' },
  save_path: { type: 'string' },
  get_pipeline_config: { type: 'string' },
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

const log = (line: string) => process.stderr.write(`${line}\n`);

function positiveNumber(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new ConfigError(`--${flag} ${value}: expected a positive number`);
  return n;
}

function startService(): Promise<PipelineService> {
  return PipelineService.start({
    pipelines: args.pipeline ?? [],
    device: args.device,
    workers: positiveNumber('workers', args.workers),
    maxQueue: positiveNumber('max-queue', args['max-queue']),
    highPerformance: args.use_hpip,
    fetchLimits: { allowPrivate: Boolean(args['allow-private-urls']) },
    log,
  });
}

async function serve(): Promise<void> {
  const port = positiveNumber('port', args.port)!;
  const service = await startService();
  const app = await createBasicApp(service, {
    apiKey: args['api-key'] ?? process.env.PIPESERVE_API_KEY ?? undefined,
    maxBodyBytes: positiveNumber('max-body-mb', args['max-body-mb'])! * 2 ** 20,
    accessLog: log,
    errorLog: log,
  });
  log(`INFO:     Started server process [${process.pid}]`);
  log('INFO:     Waiting for application startup.');
  for (const { endpoint, pipeline } of service.endpoints()) log(`INFO:     POST ${endpoint.path}  (${pipeline.config.pipeline_name}, ${pipeline.source})`);
  log(`INFO:     ${service.pool.size} inference workers on ${service.device.kind === 'cpu' ? 'cpu' : `gpu:${service.device.id}`}`);
  log('INFO:     Application startup complete.');
  await app.listen({ host: args.host, port });
  log(`INFO:     pipeserve running on http://${args.host}:${port} (Press CTRL+C to quit)`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    log('INFO:     Shutting down');
    await app.close(); // waits for in-flight requests
    log('INFO:     Waiting for application shutdown.');
    await service.close();
    log('INFO:     Application shutdown complete.');
    log(`INFO:     Finished server process [${process.pid}]`);
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

const INPUT_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp', '.gif', '.pdf']);

async function listInputs(input: string): Promise<string[]> {
  if (isUrl(input)) return [input];
  const info = await stat(input).catch(() => undefined);
  if (!info) throw new ConfigError(`--input ${input}: no such file or directory`);
  if (!info.isDirectory()) return [input];
  const names = (await readdir(input)).filter((n) => INPUT_EXTENSIONS.has(path.extname(n).toLowerCase())).sort();
  return names.map((n) => path.join(input, n));
}

/** Image fields of PaddleX results, written to files by `--input --save_path`. */
const IMAGE_KEYS = new Set(['image', 'ocrImage', 'inputImage', 'docPreprocessingImage', 'outputImage']);

/** Replace Base64 images in a result by the files they were saved to. */
async function saveImages(value: unknown, stem: string, saveDir: string, trail: string[] = []): Promise<unknown> {
  if (Array.isArray(value)) return Promise.all(value.map((v, i) => saveImages(v, stem, saveDir, [...trail, String(i)])));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (IMAGE_KEYS.has(key) && typeof v === 'string') {
      const bytes = Buffer.from(v, 'base64');
      const ext = bytes[0] === 0x89 ? '.png' : '.jpg';
      const file = path.join(saveDir, `${[stem, ...trail, key].join('_')}${ext}`);
      await writeFile(file, bytes);
      out[key] = file;
    } else {
      out[key] = await saveImages(v, stem, saveDir, [...trail, key]);
    }
  }
  return out;
}

async function predictLocally(input: string): Promise<void> {
  const service = await startService();
  try {
    const [served] = service.endpoints() as [ServedEndpoint];
    const saveDir = args.save_path;
    if (saveDir) await mkdir(saveDir, { recursive: true });
    for (const item of await listInputs(input)) {
      const fileField = served.endpoint.inputField;
      const body: Record<string, unknown> = {
        [fileField]: isUrl(item) ? item : (await readFile(item)).toString('base64'),
        visualize: Boolean(saveDir),
      };
      if (fileField === 'file' && !isUrl(item)) body.fileType = path.extname(item).toLowerCase() === '.pdf' ? 0 : 1;
      const stem = isUrl(item) ? 'url' : path.parse(item).name;
      try {
        const result = await service.invoke(served, body, 'local');
        const shown = saveDir ? await saveImages(result, stem, saveDir) : result;
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
