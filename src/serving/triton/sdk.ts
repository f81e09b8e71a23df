/**
 * `pipeserve --get_hps_sdk <pipeline>`: PaddleX's HPS SDK layout, served by pipeserve instead of a
 * Triton container: server/{pipeline_config.yaml, server.sh, model_repo/<model>/{config_cpu.pbtxt,
 * config_gpu.pbtxt, 1/}}, client/{README.md, client.mjs}, version.txt.
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtinConfigText, parsePipelineConfig } from '../../config/pipelineConfig.js';
import type { EndpointSpec } from '../../pipelines/define.js';
import { pipelineDescriptor } from '../../pipelines/registry.js';
import { takesVisualize } from '../service.js';
import { modelNameOfEndpoint } from './modelRepository.js';

/** This SDK layout's version (PaddleX versions each pipeline's SDK; ours follows pipeserve's). */
export const SDK_VERSION = '0.1.0';

const CLI_PATH = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
/** client.mjs imports the client package by path: the SDK is written outside this repo's node_modules */
const HPS_CLIENT_PATH = fileURLToPath(import.meta.resolve('@pipeserve/hps-client'));

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

/**
 * The flags of PaddleX's per-pipeline `client.py`, from the endpoint's descriptor: the input field as
 * the flag (`--image`, `--csv`, `--audio`, `--video`, `--tar`; documents `--file` and `--file-type`),
 * `--no-visualization` where the request has `visualize`, and `--url`.
 */
export function clientUsage(endpoint: EndpointSpec): string {
  const { field, kind } = endpoint.input;
  return [
    `--${field} <path|URL>`,
    ...(kind === 'document' ? ['[--file-type 0|1]'] : []),
    ...(takesVisualize(endpoint) ? ['[--no-visualization]'] : []),
    '[--url localhost:8001]',
  ].join(' ');
}

function clientScript(endpoint: EndpointSpec): string {
  const { field, kind } = endpoint.input;
  const visualize = takesVisualize(endpoint);
  const options = [
    `  ${JSON.stringify(field)}: { type: 'string' },`,
    ...(kind === 'document' ? [`  'file-type': { type: 'string' },`] : []),
    ...(visualize ? [`  'no-visualization': { type: 'boolean' },`] : []),
  ].join('\n');
  return `#!/usr/bin/env node
// Calls the pipeline over gRPC as PaddleX's client.py does: the request JSON in, the envelope JSON
// out; output images (and a CSV result) are saved to files. A nonzero errorCode goes to stderr with exit code 1.
import { parseArgs } from 'node:util';
import { prepareInputFile, saveOutputFile, tritonRequest } from ${JSON.stringify(HPS_CLIENT_PATH)};

const { values: args } = parseArgs({ options: {
${options}
  url: { type: 'string', default: 'localhost:8001' },
  model: { type: 'string', default: ${JSON.stringify(modelNameOfEndpoint(endpoint.path))} },
} });
if (args[${JSON.stringify(field)}] === undefined) {
  process.stderr.write(${JSON.stringify(`usage: client.mjs ${clientUsage(endpoint)}\nerror: the following arguments are required: --${field}\n`)});
  process.exit(2);
}
const input = { ${JSON.stringify(field)}: await prepareInputFile(args[${JSON.stringify(field)}]) };
${kind === 'document' ? "if (args['file-type'] !== undefined) input.fileType = Number(args['file-type']);\n" : ''}${visualize ? "if (args['no-visualization']) input.visualize = false;\n" : ''}const output = await tritonRequest(args.url, args.model, input, { timeout: 600 });
if (output.errorCode !== 0) {
  process.stderr.write(\`Error code: \${output.errorCode}\\nError message: \${output.errorMsg}\\n\`);
  process.exit(1);
}
const saved = await saveOutputFiles(output.result, 'output');
console.log(JSON.stringify({ ...output.result, savedFiles: saved }, null, 2));

async function saveOutputFiles(value, stem, out = []) {
  if (Array.isArray(value)) for (const [i, v] of value.entries()) await saveOutputFiles(v, \`\${stem}_\${i}\`, out);
  else if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      const extension = /(image|Image)$/.test(key) ? 'jpg' : key === 'csv' ? 'csv' : undefined;
      if (extension && typeof v === 'string') {
        const file = \`\${stem}_\${key}.\${extension}\`;
        await saveOutputFile(v, file);
        out.push(file);
        delete value[key];
      } else await saveOutputFiles(v, \`\${stem}_\${key}\`, out);
    }
  }
  return out;
}
`;
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
  // the endpoint that takes one input file (ShiTu's and face recognition's index endpoints take other inputs)
  const fileEndpoint = descriptor.endpoints.find((e) => e.input.kind !== 'none') ?? descriptor.endpoints[0]!;
  await writeFile(path.join(root, 'client', 'client.mjs'), clientScript(fileEndpoint));
  await writeFile(
    path.join(root, 'client', 'README.md'),
    `# ${name} client\n\n\`node client.mjs ${clientUsage(fileEndpoint)}\`\n\nModels: ${models.join(', ')}. PaddleX's own \`client.py\` works unchanged against the same server.\n`,
  );
  await writeFile(path.join(root, 'version.txt'), `${SDK_VERSION}\n`);
  return root;
}
