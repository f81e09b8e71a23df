#!/usr/bin/env node
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { builtinConfigText, builtinPipelineNames } from '../config/pipelineConfig.js';
import { ApiError, ConfigError } from '../errors.js';
import { isUrl } from '../io/input.js';
import { imageFields } from '../pipelines/shared/schemas.js';
import { formatDevice } from '../runtime/device.js';
import { createBasicApp } from '../serving/basic/app.js';
import { jsonLogger } from '../serving/requestLog.js';
import { PipelineService, type ServedEndpoint } from '../serving/service.js';

const HELP = `pipeserve — PaddleX-compatible pipeline serving on Node.js

Serve (PaddleX: paddlex --serve ...):
  pipeserve --serve --pipeline <name|path.yaml> [--pipeline ...] [options]
Predict locally:
  pipeserve --pipeline <name|path.yaml> --input <file|url|dir> [--save_path DIR]
Other:
  pipeserve --get_pipeline_config <name> [--save_path DIR]   write a built-in pipeline YAML
  pipeserve --install serving                                 nothing to do: serving is built in

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
  --api-key <key>          require "Authorization: Bearer <key>" (also env PIPESERVE_API_KEY)
  --allow-private-urls     let URL inputs reach loopback, private and link-local addresses
  --max-body-mb <n>        largest request body accepted (default 100)
  --input <file|url|dir>   with --pipeline and no --serve: predict locally and print/save JSON
  --save_path <dir>        where --input results or --get_pipeline_config output go
  -h, --help               this text

Built-in pipelines: ${builtinPipelineNames().join(', ')}
Models are looked up in: model_dir of the YAML, then $PIPESERVE_HOME/models/<model_name>
(default ~/.pipeserve/models), then models shipped in npm dependencies. Nothing is downloaded.`;

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
  'api-key': { type: 'string' },
  'allow-private-urls': { type: 'boolean' },
  'max-body-mb': { type: 'string', default: '100' },
  input: { type: 'string' },
  save_path: { type: 'string' },
  get_pipeline_config: { type: 'string' },
  install: { type: 'string' },
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

if (args['log-format'] !== 'uvicorn' && args['log-format'] !== 'json') {
  process.stderr.write(`ERROR:    --log-format ${args['log-format']}: expected uvicorn or json\n`);
  process.exit(2);
}
const jsonLog = args['log-format'] === 'json' ? jsonLogger() : undefined;
const log = jsonLog?.log ?? ((line: string) => process.stderr.write(`${line}\n`));

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

async function serve(): Promise<void> {
  const port = positiveNumber('port', args.port)!;
  const service = await startService();
  const app = await createBasicApp(service, {
    apiKey: args['api-key'] ?? process.env.PIPESERVE_API_KEY ?? undefined,
    maxBodyBytes: positiveNumber('max-body-mb', args['max-body-mb'])! * 2 ** 20,
    accessLog: jsonLog ? undefined : log,
    jsonLog: jsonLog?.logger,
    errorLog: log,
    metrics: !args['no-metrics'],
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

type ImageFields = ReturnType<typeof imageFields>;

async function saveImage(b64: string, saveDir: string, nameParts: string[]): Promise<string> {
  const bytes = Buffer.from(b64, 'base64');
  const file = path.join(saveDir, `${nameParts.join('_')}${bytes[0] === 0x89 ? '.png' : '.jpg'}`);
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

async function predictLocally(input: string): Promise<void> {
  const service = await startService();
  try {
    const [served] = service.endpoints() as [ServedEndpoint];
    const fields = imageFields(served.endpoint.result);
    const saveDir = args.save_path;
    if (saveDir) await mkdir(saveDir, { recursive: true });
    for (const item of await listInputs(input)) {
      const fileField = served.endpoint.input.field;
      const body: Record<string, unknown> = {
        [fileField]: isUrl(item) ? item : (await readFile(item)).toString('base64'),
        visualize: Boolean(saveDir),
      };
      if (served.endpoint.input.kind === 'document' && !isUrl(item)) body.fileType = path.extname(item).toLowerCase() === '.pdf' ? 0 : 1;
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
