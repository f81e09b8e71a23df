import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { downloadOfficialModel, mirrorSource, modelSources } from '../src/config/download.js';
import { runCli } from './helpers/cli.js';
import { fixturePipelineYaml } from './helpers/fixtures.js';
import { startTestServer, type TestServer } from './helpers/inputs.js';
import { PADDLE_MODELS } from './helpers/paddleModels.js';
import { OPENCV_DATA } from './helpers/paths.js';

const MODEL = 'PP-LCNet_x0_25_textline_ori';
const MODEL_DIR = path.join(PADDLE_MODELS, MODEL);
const REPO_FILES = ['inference.json', 'inference.pdiparams', 'inference.yml'];

type Fault = 'none' | 'truncate-once' | 'corrupt-once' | 'corrupt-always';

/**
 * A loopback Hugging Face Hub: the tree API (sizes; sha256 for the LFS file inference.pdiparams, as
 * the Hub publishes it) and /resolve/main/ downloads with Range support, plus a README the
 * downloader must ignore. `fault` breaks the weights file's first (or every) response.
 */
async function fakeHub(fault: () => Fault): Promise<{ server: TestServer; requests: string[] }> {
  const files = new Map<string, Buffer>();
  for (const name of REPO_FILES) files.set(name, await readFile(path.join(MODEL_DIR, name)));
  files.set('README.md', Buffer.from('# model card\n'));
  const requests: string[] = [];
  let weightsServed = 0;
  const handler: http.RequestListener = (req, res) => {
    requests.push(`${req.method} ${req.url}${req.headers.range ? ` ${req.headers.range}` : ''}`);
    if (req.url === `/api/models/PaddlePaddle/${MODEL}/tree/main`) {
      const tree = [...files].map(([p, data]) => ({
        type: 'file',
        path: p,
        size: data.length,
        ...(p.endsWith('.pdiparams') ? { lfs: { oid: createHash('sha256').update(data).digest('hex'), size: data.length } } : {}),
      }));
      res.setHeader('content-type', 'application/json');
      return res.end(JSON.stringify(tree));
    }
    const prefix = `/PaddlePaddle/${MODEL}/resolve/main/`;
    const data = req.url?.startsWith(prefix) ? files.get(req.url.slice(prefix.length)) : undefined;
    if (!data) {
      res.statusCode = 404;
      return res.end('not found');
    }
    const from = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0);
    let body = data.subarray(from);
    const isWeights = req.url!.endsWith('.pdiparams');
    const mode = isWeights ? fault() : 'none';
    const first = isWeights && weightsServed++ === 0;
    if ((mode === 'corrupt-once' && first) || mode === 'corrupt-always') {
      body = Buffer.from(body);
      body[body.length >> 1] ^= 0xff;
    }
    res.statusCode = from ? 206 : 200;
    res.setHeader('content-length', body.length);
    if (mode === 'truncate-once' && first) {
      // half the body, then the connection drops
      res.write(body.subarray(0, body.length >> 1), () => res.destroy());
      return;
    }
    res.end(body);
  };
  return { server: await startTestServer(handler), requests };
}

let home: string;
before(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'pipeserve-dl-'));
});
after(async () => {
  await rm(home, { recursive: true, force: true });
});

async function freshModelsDir(): Promise<string> {
  return mkdtemp(path.join(home, 'models-'));
}

async function assertSameFiles(dir: string): Promise<void> {
  assert.deepEqual((await readdir(dir)).sort(), REPO_FILES);
  for (const name of REPO_FILES) assert.ok((await readFile(path.join(dir, name))).equals(await readFile(path.join(MODEL_DIR, name))), name);
}

describe('official model download (loopback mirror in the Hugging Face layout)', () => {
  // only the loopback mirror: the real sources are never tried from tests
  const env = (url: string) => ({ sources: [mirrorSource(url)], skipped: [] });

  test('downloads the model files, not the rest of the repo, into <models>/<model_name>', async () => {
    const { server } = await fakeHub(() => 'none');
    try {
      const modelsDir = await freshModelsDir();
      const lines: string[] = [];
      const dir = await downloadOfficialModel(MODEL, modelsDir, (l) => lines.push(l), env(server.url));
      assert.equal(dir, path.join(modelsDir, MODEL));
      await assertSameFiles(dir);
      assert.ok(
        lines.some((l) => l.includes(`Downloading ${MODEL}/inference.pdiparams`)),
        lines.join('\n'),
      );
      assert.equal(existsSync(path.join(modelsDir, '.partial', MODEL)), false);
    } finally {
      await server.close();
    }
  });

  test('a dropped connection is resumed with a Range request', async () => {
    const { server, requests } = await fakeHub(() => 'truncate-once');
    try {
      const dir = await downloadOfficialModel(MODEL, await freshModelsDir(), () => {}, env(server.url));
      await assertSameFiles(dir);
      assert.ok(
        requests.some((r) => r.includes('inference.pdiparams bytes=')),
        requests.join('\n'),
      );
    } finally {
      await server.close();
    }
  });

  test('a corrupt download fails the sha256 check and is fetched again', async () => {
    const { server, requests } = await fakeHub(() => 'corrupt-once');
    try {
      const lines: string[] = [];
      const dir = await downloadOfficialModel(MODEL, await freshModelsDir(), (l) => lines.push(l), env(server.url));
      await assertSameFiles(dir);
      assert.equal(requests.filter((r) => r.includes('inference.pdiparams')).length, 2);
      assert.ok(
        lines.some((l) => /sha256 differs/.test(l)),
        lines.join('\n'),
      );
    } finally {
      await server.close();
    }
  });

  test('a download that stays corrupt is never put in place', async () => {
    const { server } = await fakeHub(() => 'corrupt-always');
    try {
      const modelsDir = await freshModelsDir();
      await assert.rejects(
        downloadOfficialModel(MODEL, modelsDir, () => {}, env(server.url)),
        (err: Error) =>
          err.message.includes(`Official model "${MODEL}" could not be downloaded`) && /mirror .*sha256 differs/.test(err.message),
      );
      assert.equal(existsSync(path.join(modelsDir, MODEL)), false);
    } finally {
      await server.close();
    }
  });
});

test('source order follows PaddleX (huggingface, aistudio, modelscope, bos; PADDLE_PDX_MODEL_SOURCE first), a mirror in front', () => {
  const names = (env: NodeJS.ProcessEnv) => {
    const { sources, skipped } = modelSources(env);
    return { tried: sources.map((s) => s.name), skipped };
  };
  assert.deepEqual(names({}), { tried: ['huggingface', 'modelscope'], skipped: ['aistudio', 'bos'] });
  assert.deepEqual(names({ PADDLE_PDX_MODEL_SOURCE: 'modelscope', PIPESERVE_MODEL_SOURCE: 'http://mirror.local' }), {
    tried: ['mirror http://mirror.local', 'modelscope', 'huggingface'],
    skipped: ['aistudio', 'bos'],
  });
});

describe('model_dir: null through the CLI', () => {
  let hub: { server: TestServer; requests: string[] };
  let yaml: string;
  let cliHome: string;
  before(async () => {
    hub = await fakeHub(() => 'none');
    yaml = await fixturePipelineYaml('image_classification', MODEL_DIR, { model_dir: null });
    cliHome = await mkdtemp(path.join(home, 'cli-'));
  });
  after(() => hub.server.close());

  const predict = (extraEnv: Record<string, string> = {}, extraArgs: string[] = []) =>
    runCli(['--pipeline', yaml, '--input', path.join(OPENCV_DATA, 'messi5.jpg'), '--workers', '1', ...extraArgs], {
      PIPESERVE_HOME: cliHome,
      PIPESERVE_MODEL_SOURCE: hub.server.url,
      ...extraEnv,
    });

  test('--offline with no local copy fails clearly and touches no network', async () => {
    const run = await predict({}, ['--offline']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, new RegExp(`Model "${MODEL}" .* was not found`));
    assert.match(run.stderr, /no download: offline \(--offline \/ PIPESERVE_OFFLINE=1\)/);
    assert.deepEqual(hub.requests, []);
  });

  test('first start downloads and converts, the second uses both copies', async () => {
    const first = await predict();
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, new RegExp(`Downloading official model ${MODEL} from mirror`));
    assert.match(first.stderr, /Downloaded PP-LCNet_x0_25_textline_ori\/inference\.pdiparams/);
    assert.match(first.stderr, /converted from Paddle format in \d+ ms/);
    assert.match(JSON.stringify(JSON.parse(first.stdout)), /"(0|180)_degree"/);
    const requestsAfterFirst = hub.requests.length;
    assert.ok((await stat(path.join(cliHome, 'models', MODEL, 'inference.pdiparams'))).size > 0);

    const second = await predict({ PIPESERVE_OFFLINE: '1' });
    assert.equal(second.code, 0, second.stderr);
    assert.doesNotMatch(second.stderr, /Downloading/);
    assert.match(second.stderr, /converted from Paddle format \(cached\)/);
    assert.equal(hub.requests.length, requestsAfterFirst);
  });
});
