import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import * as tar from 'tar';
import { aiStudioSource, bosSource, downloadOfficialModel, mirrorSource, modelSources } from '../src/config/download.js';
import { extractModelArchive } from '../src/config/modelArchive.js';
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
 * Serves `data` honouring `Range: bytes=N-`; `fault` breaks this response: half the body and a
 * dropped connection ('truncate'), or one flipped byte ('corrupt').
 */
function serveBytes(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  data: Buffer,
  fault: 'truncate' | 'corrupt' | 'none' = 'none',
): void {
  const from = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0);
  let body = data.subarray(from);
  if (fault === 'corrupt') {
    body = Buffer.from(body);
    body[body.length >> 1] ^= 0xff;
  }
  res.statusCode = from ? 206 : 200;
  res.setHeader('content-length', body.length);
  if (req.method === 'HEAD') return void res.end();
  if (fault === 'truncate') {
    res.write(body.subarray(0, body.length >> 1), () => res.destroy());
    return;
  }
  res.end(body);
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function fixtureFiles(): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const name of REPO_FILES) files.set(name, await readFile(path.join(MODEL_DIR, name)));
  return files;
}

/**
 * A loopback Hugging Face Hub: the tree API (sizes; sha256 for the LFS file inference.pdiparams, as
 * the Hub publishes it) and /resolve/main/ downloads with Range support, plus a README the
 * downloader must ignore. `fault` breaks the weights file's first (or every) response.
 */
async function fakeHub(fault: () => Fault): Promise<{ server: TestServer; requests: string[] }> {
  const files = await fixtureFiles();
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
        ...(p.endsWith('.pdiparams') ? { lfs: { oid: sha256(data), size: data.length } } : {}),
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
    const isWeights = req.url!.endsWith('.pdiparams');
    const mode = isWeights ? fault() : 'none';
    const first = isWeights && weightsServed++ === 0;
    const corrupt = (mode === 'corrupt-once' && first) || mode === 'corrupt-always';
    serveBytes(req, res, data, corrupt ? 'corrupt' : mode === 'truncate-once' && first ? 'truncate' : 'none');
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
  const env = (url: string) => [mirrorSource(url)];

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
  const names = (env: NodeJS.ProcessEnv) => modelSources(env).map((s) => s.name);
  assert.deepEqual(names({}), ['huggingface', 'aistudio', 'modelscope', 'bos']);
  assert.deepEqual(names({ PADDLE_PDX_MODEL_SOURCE: 'BOS' }), ['bos', 'huggingface', 'aistudio', 'modelscope']);
  assert.deepEqual(names({ PADDLE_PDX_MODEL_SOURCE: 'modelscope', PIPESERVE_MODEL_SOURCE: 'http://mirror.local' }), [
    'mirror http://mirror.local',
    'modelscope',
    'huggingface',
    'aistudio',
    'bos',
  ]);
});

/**
 * A loopback AI Studio git host in aistudio_sdk's layout: the repo tree of PaddleX/<model> (two
 * pages), each file's contents metadata (LFS size and sha256 for the weights), and /media/ downloads.
 * `failing` answers every request with a 503.
 */
async function fakeAiStudio(failing = false): Promise<{ server: TestServer; requests: string[] }> {
  const files = await fixtureFiles();
  const requests: string[] = [];
  const repo = `/api/v1/repos/PaddleX/${MODEL}`;
  const json = (res: http.ServerResponse, body: unknown) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(body));
  };
  const handler: http.RequestListener = (req, res) => {
    const url = new URL(req.url!, 'http://x');
    requests.push(`${req.method} ${url.pathname}${url.search} auth=${req.headers.authorization ?? ''}`);
    if (failing) {
      res.statusCode = 503;
      return res.end('maintenance');
    }
    if (url.pathname === `${repo}/git/trees/master`) {
      const entries = [...files.keys()].map((p) => ({ path: p, type: 'blob', mode: '100644', size: 0, sha: 'x' }));
      const page = Number(url.searchParams.get('page'));
      const tree = page === 1 ? [{ path: 'docs', type: 'tree' }, ...entries.slice(0, 2)] : entries.slice(2);
      return json(res, { sha: 'x', url: `${repo}/git/trees/master`, tree, truncated: page === 1, page, total_count: entries.length });
    }
    const [, kind, file] = /^\/api\/v1\/repos\/PaddleX\/[^/]+\/(contents|media)\/(.+)$/.exec(url.pathname) ?? [];
    const data = file ? files.get(decodeURIComponent(file)) : undefined;
    if (!data) {
      res.statusCode = 404;
      return json(res, { message: "The target couldn't be found." });
    }
    if (kind === 'media') return serveBytes(req, res, data);
    const lfs = file!.endsWith('.pdiparams') ? { lfs_oid: sha256(data), lfs_size: data.length } : {};
    json(res, { name: file, path: file, type: 'file', size: data.length, sha: 'x', ...lfs });
  };
  return { server: await startTestServer(handler), requests };
}

/** `<model>_infer.tar` holding `<model>_infer/` with the fixture files, as BOS serves official models. */
async function officialArchive(): Promise<Buffer> {
  const work = await mkdtemp(path.join(home, 'tar-'));
  await cp(MODEL_DIR, path.join(work, `${MODEL}_infer`), { recursive: true });
  const file = path.join(work, 'model.tar');
  await tar.c({ cwd: work, file, portable: true }, [`${MODEL}_infer`]);
  return readFile(file);
}

/** A loopback BOS bucket serving `/paddlex/official_inference_model/paddle3.0.0/<name>` (HEAD, GET, Range). */
async function fakeBos(archives: Record<string, Buffer>, truncateFirst = false): Promise<{ server: TestServer; requests: string[] }> {
  const requests: string[] = [];
  let served = 0;
  const handler: http.RequestListener = (req, res) => {
    requests.push(`${req.method} ${req.url}${req.headers.range ? ` ${req.headers.range}` : ''}`);
    const name = req.url!.replace('/paddlex/official_inference_model/paddle3.0.0/', '');
    const data = archives[name];
    if (!data) {
      res.statusCode = 404;
      return res.end('NoSuchKey');
    }
    serveBytes(req, res, data, req.method === 'GET' && truncateFirst && served++ === 0 ? 'truncate' : 'none');
  };
  return { server: await startTestServer(handler), requests };
}

const bosAt = (server: TestServer) => bosSource(`${server.url}/paddlex/official_inference_model/paddle3.0.0`);

describe('AI Studio and BOS, the other sources of PaddleX', () => {
  test('AI Studio: the PaddleX/<model> repo tree (paged), sizes and LFS sha256 from contents, files from /media/, the token sent', async () => {
    const { server, requests } = await fakeAiStudio();
    try {
      const dir = await downloadOfficialModel(MODEL, await freshModelsDir(), () => {}, [aiStudioSource(server.url, 'secret')]);
      await assertSameFiles(dir);
      assert.ok(
        requests.some((r) => r.includes('/git/trees/master?recursive=true&page=2')),
        requests.join('\n'),
      );
      assert.ok(requests.some((r) => r.startsWith(`GET /api/v1/repos/PaddleX/${MODEL}/media/inference.pdiparams`)));
      assert.ok(requests.every((r) => r.endsWith('auth=token secret')));
    } finally {
      await server.close();
    }
  });

  test('BOS: <model>_infer.tar unpacked into <models>/<model_name>, resumed after a dropped connection, the archive removed', async () => {
    const { server, requests } = await fakeBos({ [`${MODEL}_infer.tar`]: await officialArchive() }, true);
    try {
      const modelsDir = await freshModelsDir();
      const dir = await downloadOfficialModel(MODEL, modelsDir, () => {}, [bosAt(server)]);
      await assertSameFiles(dir);
      assert.ok(requests.some((r) => r.startsWith('HEAD ')));
      assert.ok(
        requests.some((r) => / bytes=\d+-$/.test(r)),
        requests.join('\n'),
      );
      assert.deepEqual(await readdir(path.join(modelsDir, '.partial')), []);
    } finally {
      await server.close();
    }
  });

  test('a failing source hands over to the next one (AI Studio down → BOS), and the log says so', async () => {
    const studio = await fakeAiStudio(true);
    const bos = await fakeBos({ [`${MODEL}_infer.tar`]: await officialArchive() });
    try {
      const lines: string[] = [];
      const sources = [aiStudioSource(studio.server.url), bosAt(bos.server)];
      const dir = await downloadOfficialModel(MODEL, await freshModelsDir(), (l) => lines.push(l), sources);
      await assertSameFiles(dir);
      assert.equal(studio.requests.length, 1);
      assert.ok(
        lines.some((l) => /aistudio failed \(.*HTTP 503\); trying bos/.test(l)),
        lines.join('\n'),
      );
    } finally {
      await studio.server.close();
      await bos.server.close();
    }
  });

  test('when every source fails, the error lists each one and nothing is put in place', async () => {
    const studio = await fakeAiStudio(true);
    const bos = await fakeBos({});
    try {
      const modelsDir = await freshModelsDir();
      await assert.rejects(
        downloadOfficialModel(MODEL, modelsDir, () => {}, [aiStudioSource(studio.server.url), bosAt(bos.server)]),
        (err: Error) => /aistudio: GET .* HTTP 503/.test(err.message) && /bos: HEAD .*_infer\.tar: HTTP 404/.test(err.message),
      );
      assert.equal(existsSync(path.join(modelsDir, MODEL)), false);
    } finally {
      await studio.server.close();
      await bos.server.close();
    }
  });
});

/** A tar archive built entry by entry, for archives no honest tool would write. */
function rawTar(entries: Array<{ path: string; type: 'File' | 'SymbolicLink' | 'Directory'; body?: string; linkpath?: string }>): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? '');
    const header = Buffer.alloc(512);
    new tar.Header({ path: e.path, type: e.type, size: body.length, mode: 0o644, mtime: new Date(0), linkpath: e.linkpath }).encode(
      header,
      0,
    );
    blocks.push(header, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  return Buffer.concat([...blocks, Buffer.alloc(1024)]);
}

describe('model archives are unpacked safely', () => {
  const yml = { path: 'm_infer/inference.yml', type: 'File' as const, body: 'Global: {}\n' };
  const cases: Array<[string, Buffer, RegExp]> = [
    ['a path leaving the model dir', rawTar([yml, { path: 'm_infer/../../escaped.txt', type: 'File', body: 'x' }]), /points outside/],
    ['an absolute path', rawTar([yml, { path: '/tmp/pipeserve-absolute.txt', type: 'File', body: 'x' }]), /points outside/],
    ['a symlink', rawTar([yml, { path: 'm_infer/inference.pdiparams', type: 'SymbolicLink', linkpath: '/etc/passwd' }]), /SymbolicLink/],
  ];
  for (const [what, archive, reason] of cases) {
    test(`refused: ${what}; nothing is written`, async () => {
      const work = await mkdtemp(path.join(home, 'unsafe-'));
      const file = path.join(work, 'm_infer.tar');
      await writeFile(file, archive);
      await assert.rejects(extractModelArchive(file, path.join(work, 'model'), 'm'), reason);
      assert.deepEqual((await readdir(work)).sort(), ['m_infer.tar']);
      assert.equal(existsSync(path.join(home, 'escaped.txt')), false);
      assert.equal(existsSync('/tmp/pipeserve-absolute.txt'), false);
    });
  }

  test('refused: an archive past the size cap', async () => {
    const work = await mkdtemp(path.join(home, 'big-'));
    const file = path.join(work, 'm_infer.tar');
    await writeFile(file, rawTar([yml, { path: 'm_infer/inference.pdiparams', type: 'File', body: 'x'.repeat(4096) }]));
    await assert.rejects(
      extractModelArchive(file, path.join(work, 'model'), 'm', { totalBytes: 1024, entries: 100 }),
      /more than 1024 bytes/,
    );
    assert.equal(existsSync(path.join(work, 'model')), false);
  });

  test('an archive with several top-level entries: its <model_name>/ dir is the model (PaddleX download_and_extract)', async () => {
    const work = await mkdtemp(path.join(home, 'multi-'));
    const file = path.join(work, 'm.tar');
    await writeFile(
      file,
      rawTar([
        { path: 'm/inference.yml', type: 'File', body: 'Global: {}\n' },
        { path: 'README', type: 'File', body: 'hi' },
      ]),
    );
    await extractModelArchive(file, path.join(work, 'model'), 'm');
    assert.deepEqual(await readdir(path.join(work, 'model')), ['inference.yml']);
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
