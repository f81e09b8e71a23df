/**
 * `pipeserve --get_hps_sdk <pipeline>`: PaddleX's HPS SDK layout, served by pipeserve instead of a
 * Triton container: server/{pipeline_config.yaml, server.sh, model_repo/<model>/{config_cpu.pbtxt,
 * config_gpu.pbtxt, 1/}}, client/{README.md, client.mjs}, version.txt.
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtinConfigText, parsePipelineConfig } from '../../config/pipelineConfig.js';
import { pipelineDescriptor } from '../../pipelines/registry.js';
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

function clientScript(models: string[], inputKind: string): string {
  const fileFlags =
    inputKind === 'document' ? `  file: { type: 'string' },\n  'file-type': { type: 'string' },` : `  image: { type: 'string' },`;
  const body =
    inputKind === 'document'
      ? `const input = { file: await prepareInputFile(args.file), visualize: !args['no-visualization'] };
if (args['file-type'] !== undefined) input.fileType = Number(args['file-type']);`
      : `const input = { image: await prepareInputFile(args.image), visualize: !args['no-visualization'] };`;
  return `#!/usr/bin/env node
// Calls the pipeline over gRPC as PaddleX's client.py does: the request JSON in, the envelope JSON
// out; output images are saved to files. A nonzero errorCode goes to stderr with exit code 1.
import { parseArgs } from 'node:util';
import { prepareInputFile, saveOutputFile, tritonRequest } from ${JSON.stringify(HPS_CLIENT_PATH)};

const { values: args } = parseArgs({ options: {
${fileFlags}
  'no-visualization': { type: 'boolean' },
  url: { type: 'string', default: 'localhost:8001' },
  model: { type: 'string', default: ${JSON.stringify(models[0])} },
} });
${body}
const output = await tritonRequest(args.url, args.model, input, { timeout: 600 });
if (output.errorCode !== 0) {
  process.stderr.write(\`Error code: \${output.errorCode}\\nError message: \${output.errorMsg}\\n\`);
  process.exit(1);
}
const saved = await saveOutputImages(output.result, 'output');
console.log(JSON.stringify({ ...output.result, savedImages: saved }, null, 2));

async function saveOutputImages(value, stem, out = []) {
  if (Array.isArray(value)) for (const [i, v] of value.entries()) await saveOutputImages(v, \`\${stem}_\${i}\`, out);
  else if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (/(image|Image)$/.test(key) && typeof v === 'string') {
        const file = \`\${stem}_\${key}.jpg\`;
        await saveOutputFile(v, file);
        out.push(file);
        delete value[key];
      } else await saveOutputImages(v, \`\${stem}_\${key}\`, out);
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
  await writeFile(path.join(root, 'client', 'client.mjs'), clientScript(models, descriptor.endpoints[0]!.input.kind));
  await writeFile(
    path.join(root, 'client', 'README.md'),
    `# ${name} client\n\n\`node client.mjs ${descriptor.endpoints[0]!.input.kind === 'document' ? '--file <path|URL> [--file-type 0|1]' : '--image <path|URL>'} [--no-visualization] [--url localhost:8001]\`\n\nModels: ${models.join(', ')}. PaddleX's own \`client.py\` works unchanged against the same server.\n`,
  );
  await writeFile(path.join(root, 'version.txt'), `${SDK_VERSION}\n`);
  return root;
}
