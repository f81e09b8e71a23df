/**
 * `pipeserve --get_hps_sdk <pipeline>`: PaddleX's HPS SDK layout, served by pipeserve instead of a
 * Triton container: server/{pipeline_config.yaml, server.sh, model_repo/<model>/{config_cpu.pbtxt,
 * config_gpu.pbtxt, 1/}}, client/{README.md, client.mjs}, version.txt.
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtinConfigText, parsePipelineConfig } from '../../config/pipelineConfig.js';
import type { ClientCommand, ClientFlag, ClientSpec } from '@pipeserve/hps-client/cli';
import type { EndpointSpec, PipelineDescriptor } from '../../pipelines/define.js';
import { pipelineDescriptor } from '../../pipelines/registry.js';
import { takesVisualize } from '../service.js';
import { modelNameOfEndpoint } from './modelRepository.js';

/** This SDK layout's version (PaddleX versions each pipeline's SDK; ours follows pipeserve's). */
export const SDK_VERSION = '0.1.0';

const CLI_PATH = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
/** client.mjs imports the client package by path: the SDK is written outside this repo's node_modules */
const HPS_CLIENT_CLI_PATH = fileURLToPath(import.meta.resolve('@pipeserve/hps-client/cli'));

/** config_cpu.pbtxt / config_gpu.pbtxt exactly as PaddleX's SDK writes them. */
export function defaultModelConfig(kind: 'KIND_CPU' | 'KIND_GPU'): string {
  return [
    'backend: "python"',
    'max_batch_size: 1',
    'input [',
    '  {',
    '    name: "input"',
    '    data_type: TYPE_STRING',
    '    dims: [ 1 ]',
    '  }',
    ']',
    'output [',
    '  {',
    '    name: "output"',
    '    data_type: TYPE_STRING',
    '    dims: [ 1 ]',
    '  }',
    ']',
    'instance_group [',
    '  {',
    '    count: 1',
    `    kind: ${kind}`,
    ...(kind === 'KIND_GPU' ? ['    gpus: [ 0 ]'] : []),
    '  }',
    ']',
    '',
  ].join('\n');
}

function serverScript(): string {
  return `#!/usr/bin/env bash
# Starts the pipeline behind Triton's ports (HTTP 8000, gRPC 8001, metrics 8002), as PaddleX's
# HPS server.sh does, with pipeserve in place of tritonserver. Arguments pass through, e.g.
#   bash server.sh --http-port 18000 --grpc-port 18001 --metrics-port 18002
set -euo pipefail
here="$(cd "$(dirname "\${BASH_SOURCE[0]}")" && pwd)"
export LANG=C.UTF-8
export PADDLEX_HPS_PIPELINE_CONFIG_PATH="\${PADDLEX_HPS_PIPELINE_CONFIG_PATH:-$here/pipeline_config.yaml}"
# PaddleX copies the repository to a fixed place (/paddlex/var/paddlex_model_repo); ours is beside it.
repo="$here/.run/model_repo"
rm -rf "$repo"
mkdir -p "$(dirname "$repo")"
cp -r "$here/model_repo" "$repo"
# PaddleX copies config_<device>.pbtxt to config.pbtxt where a model has none. With
# PADDLEX_HPS_DEVICE_TYPE unset, pipeserve picks gpu when CUDA is usable, else cpu.
if [ -n "\${PADDLEX_HPS_DEVICE_TYPE:-}" ]; then
  for dir in "$repo"/*/; do
    [ -f "$dir/config.pbtxt" ] || cp "$dir/config_\${PADDLEX_HPS_DEVICE_TYPE}.pbtxt" "$dir/config.pbtxt"
  done
fi
args=(--serve_hps --model-repository "$repo" --pipeline_config "$PADDLEX_HPS_PIPELINE_CONFIG_PATH")
if [ "\${PADDLEX_HPS_USE_HPIP:-0}" = 1 ]; then args+=(--use_hpip); fi
# exec, as PaddleX's server.sh execs tritonserver: signals (SIGTERM) reach the server itself
exec node "\${PIPESERVE_CLI:-${CLI_PATH}}" "\${args[@]}" "$@"
`;
}

const KEY_LIST: ClientFlag = { name: 'key-list', type: 'string', many: true, required: true };
const INDEX_KEY: ClientFlag = { name: 'index-key', type: 'string', required: true, field: 'indexKey' };
/** PaddleX's open-vocabulary clients send `visualize` though their requests have none (both servers ignore it) */
const SENT_UNREAD_NO_VISUALIZATION: ClientFlag = { name: 'no-visualization', type: 'boolean', field: 'visualize', encode: 'false' };
const IMAGE_LABEL_PAIRS: ClientFlag = {
  name: 'image-label-pairs',
  type: 'string',
  many: true,
  field: 'imageLabelPairs',
  encode: 'imageLabelPairs',
};

/**
 * The flags PaddleX's hand-written `client.py` of a pipeline adds to those of its input (after the
 * input flag, as PaddleX orders them), and the requests it sends after the first one.
 */
const CLIENT_EXTRAS: Record<string, { flags: ClientFlag[]; chain?: ClientCommand['chain'] }> = {
  open_vocabulary_detection: { flags: [{ name: 'prompt', type: 'string', required: true, field: 'prompt' }, SENT_UNREAD_NO_VISUALIZATION] },
  open_vocabulary_segmentation: {
    flags: [
      { name: 'prompt', type: 'string', required: true, field: 'prompt', encode: 'literal' },
      { name: 'prompt_type', type: 'string', required: true, choices: ['box', 'point'], field: 'promptType' },
      SENT_UNREAD_NO_VISUALIZATION,
    ],
  },
  'PP-ChatOCRv3-doc': { flags: [KEY_LIST], chain: 'chatocr' },
  'PP-ChatOCRv4-doc': { flags: [KEY_LIST, { name: 'invoke-mllm', type: 'boolean' }], chain: 'chatocr' },
  'PP-DocTranslation': { flags: [{ name: 'target-language', type: 'string', default: 'zh' }], chain: 'doctrans' },
};

/** PaddleX's subcommands for the index endpoints of PP-ShiTuV2 and face_recognition (`<prefix>-index-build` ...). */
const INDEX_COMMANDS: Record<string, ClientFlag[]> = {
  'index-build': [IMAGE_LABEL_PAIRS],
  'index-add': [{ ...IMAGE_LABEL_PAIRS, required: true }, INDEX_KEY],
  'index-remove': [{ name: 'ids', type: 'int', many: true, required: true, field: 'ids' }, INDEX_KEY],
};

/**
 * The flags every client.py derives from its endpoint: the input field (`--image`, `--csv`, ...;
 * documents `--file` and `--file-type`) and `--no-visualization` where the request has `visualize`.
 */
function inputFlags(endpoint: EndpointSpec, extra: ClientFlag[] = []): ClientFlag[] {
  const { field, kind } = endpoint.input;
  return [
    { name: field, type: 'string', required: true, field, encode: 'file' },
    ...extra,
    ...(kind === 'document' ? [{ name: 'file-type', type: 'int', choices: [0, 1], field: 'fileType' } as const] : []),
    ...(takesVisualize(endpoint) ? [{ name: 'no-visualization', type: 'boolean', field: 'visualize', encode: 'false' } as const] : []),
  ];
}

/** The commands of PaddleX's client.py for a pipeline. */
export function clientSpec(descriptor: PipelineDescriptor): ClientSpec {
  const infer = descriptor.endpoints.find((e) => e.path.endsWith('-infer'));
  if (infer && descriptor.endpoints.some((e) => e.path.endsWith('-index-build'))) {
    const prefix = infer.path.slice(0, -'infer'.length);
    const spec: ClientSpec = {};
    for (const [name, flags] of Object.entries(INDEX_COMMANDS)) spec[name] = { model: modelNameOfEndpoint(prefix + name), flags };
    // PaddleX adds --no-visualization to the main parser: it goes before the subcommand
    const flags = inputFlags(infer, [{ ...INDEX_KEY, required: false }]).map((f) =>
      f.name === 'no-visualization' ? { ...f, global: true } : f,
    );
    spec.infer = { model: modelNameOfEndpoint(infer.path), flags };
    return spec;
  }
  // the endpoint that takes the input file (a chain's first request)
  const first = descriptor.endpoints.find((e) => e.input.kind !== 'none') ?? descriptor.endpoints[0]!;
  const extras = CLIENT_EXTRAS[descriptor.pipelineName];
  return { '': { model: modelNameOfEndpoint(first.path), flags: inputFlags(first, extras?.flags), chain: extras?.chain } };
}

function clientScript(pipeline: string, spec: ClientSpec): string {
  return `#!/usr/bin/env node
// PaddleX's client.py for ${pipeline}: its flags (node client.mjs --help; README.md), the request(s) it
// sends over gRPC. Result images (and a CSV result) are saved to files, the rest printed as JSON;
// a nonzero errorCode goes to stderr with exit code 1, a usage error with exit code 2.
import { runClient } from ${JSON.stringify(HPS_CLIENT_CLI_PATH)};

const SPEC = ${JSON.stringify(spec, null, 2)};

await runClient(SPEC, process.argv.slice(2));
`;
}

/** The README's table of a client's flags. */
function clientReadme(name: string, spec: ClientSpec, models: string[]): string {
  const lines = [`# ${name} client`, '', 'Run `node client.mjs --help` for the usage line.', ''];
  const url: ClientFlag = { name: 'url', type: 'string', default: 'localhost:8001' };
  for (const [command, { model, flags, chain }] of Object.entries(spec)) {
    if (command) lines.push(`## \`node client.mjs [--url URL] ${command} ...\` (model \`${model}\`)`, '');
    else lines.push(`Model \`${model}\`${chain ? ", then the requests PaddleX's client chains to it" : ''}.`, '');
    lines.push('| flag | request field | type | required / default |', '| --- | --- | --- | --- |');
    for (const f of command ? flags : [...flags, url]) {
      const type = `${f.type}${f.many ? ' (one or more)' : ''}${f.choices ? ` (${f.choices.join(' or ')})` : ''}`;
      const field = f.field ? `\`${f.field}\`${f.encode === 'false' ? ' = false' : f.encode === 'file' ? ' (path or URL)' : ''}` : '—';
      const need = f.required ? 'required' : f.default !== undefined ? `default \`${f.default}\`` : 'optional';
      lines.push(`| \`--${f.name}\`${f.global ? ' (before the command)' : ''} | ${field} | ${type} | ${need} |`);
    }
    lines.push('');
  }
  lines.push(`Models: ${models.join(', ')}. PaddleX's own \`client.py\` works unchanged against the same server.`, '');
  return lines.join('\n');
}

/** Writes `<saveDir>/pipeserve_hps_<pipeline>_sdk/` for a built-in pipeline name or a YAML path; returns its path. */
export async function writeHpsSdk(pipeline: string, saveDir: string): Promise<string> {
  const isPath = /\.ya?ml$/i.test(pipeline);
  const yamlText = isPath ? await readFile(pipeline, 'utf8') : await builtinConfigText(pipeline);
  const config = parsePipelineConfig(yamlText, pipeline);
  const descriptor = pipelineDescriptor(config.pipeline_name);
  const name = isPath ? config.pipeline_name : pipeline;
  const root = path.join(saveDir, `pipeserve_hps_${name}_sdk`);
  const models = descriptor.endpoints.map((e) => modelNameOfEndpoint(e.path));
  await mkdir(path.join(root, 'client'), { recursive: true });
  for (const model of models) {
    const dir = path.join(root, 'server', 'model_repo', model);
    await mkdir(path.join(dir, '1'), { recursive: true });
    await writeFile(path.join(dir, 'config_cpu.pbtxt'), defaultModelConfig('KIND_CPU'));
    await writeFile(path.join(dir, 'config_gpu.pbtxt'), defaultModelConfig('KIND_GPU'));
  }
  await writeFile(path.join(root, 'server', 'pipeline_config.yaml'), yamlText);
  await writeFile(path.join(root, 'server', 'server.sh'), serverScript());
  await chmod(path.join(root, 'server', 'server.sh'), 0o755);
  const spec = clientSpec(descriptor);
  await writeFile(path.join(root, 'client', 'client.mjs'), clientScript(config.pipeline_name, spec));
  await writeFile(path.join(root, 'client', 'README.md'), clientReadme(name, spec, models));
  await writeFile(path.join(root, 'version.txt'), `${SDK_VERSION}\n`);
  return root;
}
