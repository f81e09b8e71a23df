/**
 * Runtime faults through HTTP: an instance killed with SIGKILL under load, requests over --timeout,
 * clients that disconnect mid-PDF, admission before URL downloads, PDF pages counted against the
 * queue bound, and a pipeline whose instances cannot be restarted.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import YAML from 'yaml';
import { PipelineService } from '../src/serving/service.js';
import { classifierFixtureDir, detectorFixtureDir, fixturePipelineYaml } from './helpers/fixtures.js';
import { makePdf, startTestServer, type TestServer } from './helpers/inputs.js';
import { OPENCV_DATA } from './helpers/paths.js';
import { assertErrorEnvelope, startServer, type JsonResponse, type RunningServer } from './helpers/server.js';
import { renderTextImage } from './helpers/textImages.js';

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<number> {
  const started = performance.now();
  while (!(await condition())) {
    if (performance.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
  return performance.now() - started;
}

/** POST that gives up (and fails the test) after `timeoutMs`: no request may hang. */
async function postWithin(url: string, body: unknown, timeoutMs = 30_000): Promise<JsonResponse & { ms: number }> {
  const started = performance.now();
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  return { status: res.status, body: await res.json(), ms: performance.now() - started };
}

/** One sample value of /metrics, e.g. metric('pipeserve_queue_length', 'pipeline="OCR"'). */
async function metric(server: RunningServer, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(labels ? `${name}{` : `${name} `) && l.includes(labels));
  return line ? Number(line.split(' ').pop()) : 0;
}

async function classificationYaml(modelDir?: string): Promise<string> {
  return fixturePipelineYaml('image_classification', modelDir ?? (await classifierFixtureDir()));
}

describe('an instance killed with SIGKILL under load', () => {
  let messi: string;
  before(async () => {
    messi = b64(await readFile(path.join(OPENCV_DATA, 'messi5.jpg')));
  });

  for (const workers of [1, 2]) {
    test(`${workers} instance(s): only its in-flight request fails, no request hangs${workers === 1 ? ', readiness dips and recovers within 3 s' : ''}`, async () => {
      const server = await startServer({ pipelines: [await classificationYaml()], workers, maxQueue: 16 });
      try {
        const pool = server.service.pipelines[0]!.pool;
        const requests = Array.from({ length: 16 }, () =>
          postWithin(`${server.url}/image-classification`, { image: messi, visualize: false }),
        );
        await waitFor(() => pool.stats().busy === workers && pool.stats().queued >= 4, 'load');
        const victim = pool.stats().detail.find((i) => i.busy)!;
        const killedAt = performance.now();
        process.kill(victim.pid!, 'SIGKILL');
        const readiness: Array<{ at: number; status: number }> = [];
        let done = false;
        const prober = (async () => {
          while (!done) {
            const status = (await fetch(`${server.url}/health/ready`)).status;
            readiness.push({ at: performance.now() - killedAt, status });
            if (workers === 1 && status === 200 && readiness.some((r) => r.status === 503)) break;
            await sleep(20);
          }
        })();
        const results = await Promise.all(requests);
        await waitFor(() => pool.stats().live === workers, 'the replacement', 10_000);
        done = true;
        await prober;
        const failed = results.filter((r) => r.status !== 200);
        assert.equal(failed.length, 1, `failures: ${JSON.stringify(failed.map((f) => f.body))}`);
        assert.match(assertErrorEnvelope(failed[0]!, 500), /inference instance running this request died \(signal SIGKILL\)/);
        if (workers === 1) {
          const dip = readiness.find((r) => r.status === 503);
          const back = readiness.find((r) => r.status === 200 && dip && r.at > dip.at);
          assert.ok(dip, 'readiness reported the dead instance');
          assert.ok(back && back.at < 3000, `ready again after ${back?.at.toFixed(0)} ms`);
          console.log(`readiness: 503 at ${dip.at.toFixed(0)} ms, 200 again at ${back.at.toFixed(0)} ms after the kill`);
        } else {
          assert.ok(
            readiness.every((r) => r.status === 200),
            'the other instance kept the pipeline ready',
          );
        }
        assert.equal(await metric(server, 'pipeserve_instance_restarts_total', 'reason="crash"'), 1);
      } finally {
        await server.close();
      }
    });
  }
});

describe('--timeout', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ pipelines: ['OCR'], workers: 1, timeoutSeconds: 4 });
  });
  after(() => server?.close());

  test('a request over the timeout gets a 504 envelope; the stuck instance is replaced and serves again', async () => {
    const lines = Array.from({ length: 30 }, (_, i) => `Line ${i + 1}: the quick brown fox jumps over the lazy dog ${i * 7919}`);
    const { png } = await renderTextImage(lines, { fontSize: 32, width: 1600 });
    // detection at 4000 px on the short side (≈ 4000 × 4500) and hundreds of words: far beyond 4 s
    const heavy = { file: b64(png), fileType: 1, textDetLimitSideLen: 4000, textDetLimitType: 'min', visualize: false };
    const res = await postWithin(`${server.url}/ocr`, heavy);
    assert.match(assertErrorEnvelope(res, 504), /did not finish within the server's timeout of 4 s \(--timeout\)/);
    assert.ok(res.ms < 5500, `504 after ${res.ms.toFixed(0)} ms`);
    await waitFor(async () => (await metric(server, 'pipeserve_instance_restarts_total', 'reason="timeout"')) === 1, 'the kill', 5000);
    await waitFor(async () => (await fetch(`${server.url}/health/ready`)).status === 200, 'readiness', 30_000);
    assert.equal(server.service.pipelines[0]!.pool.stats().busy, 0);
    const small = await renderTextImage(['Hello'], { fontSize: 32, width: 240 });
    const ok = await postWithin(`${server.url}/ocr`, { file: b64(small.png), fileType: 1, visualize: false });
    assert.equal(ok.status, 200, JSON.stringify(ok.body).slice(0, 300));
  });
});

describe('PDFs and admission (OCR, 2 instances)', () => {
  let server: RunningServer;
  let pdf10: Uint8Array;
  before(async () => {
    server = await startServer({ pipelines: ['OCR'], workers: 2, maxQueue: 4 });
    pdf10 = await makePdf(Array.from({ length: 10 }, (_, i) => [`Page ${i + 1}`]));
  });
  after(() => server?.close());

  test('a client that disconnects mid-PDF frees the instances: its remaining pages never run', async () => {
    const pool = server.service.pipelines[0]!.pool;
    let pagesDone = 0;
    const onTask = (t: { op: string }) => {
      if (t.op === 'predictPdfPage') pagesDone++;
    };
    pool.on('taskDone', onTask);
    try {
      const body = JSON.stringify({ file: b64(pdf10), fileType: 0, visualize: false });
      const req = http.request(`${server.url}/ocr`, { method: 'POST', headers: { 'content-type': 'application/json' } });
      req.on('error', () => {});
      req.end(body);
      await waitFor(() => pagesDone >= 1, 'the first page');
      req.destroy();
      const doneAtDisconnect = pagesDone;
      const freed = await waitFor(
        async () =>
          (await metric(server, 'pipeserve_instances_busy', 'pipeline="OCR"')) === 0 &&
          (await metric(server, 'pipeserve_queue_length', 'pipeline="OCR"')) === 0 &&
          (await metric(server, 'pipeserve_requests_in_flight', 'endpoint="/ocr"')) === 0 &&
          (await metric(server, 'pipeserve_admitted_lanes', 'pipeline="OCR"')) === 0,
        'the instances to be free',
      );
      console.log(`disconnect after ${doneAtDisconnect} pages; instances free ${freed.toFixed(0)} ms later; ${pagesDone} of 10 pages ran`);
      assert.ok(pagesDone <= doneAtDisconnect + 2, `${pagesDone} pages ran; at most the two running at the disconnect may finish`);
      await sleep(300);
      assert.equal(pool.stats().busy, 0, 'no further page started');
    } finally {
      pool.off('taskDone', onTask);
    }
  });

  test('#14.6: with --max-queue 4, twenty 10-page PDFs are admitted with their pages or refused at once', async () => {
    const pool = server.service.pipelines[0]!.pool;
    let maxQueued = 0;
    const sampler = setInterval(() => (maxQueued = Math.max(maxQueued, pool.stats().queued)), 5);
    const body = { file: b64(pdf10), fileType: 0, visualize: false };
    const results = await Promise.all(Array.from({ length: 20 }, () => postWithin(`${server.url}/ocr`, body, 120_000)));
    clearInterval(sampler);
    const admitted = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status !== 200);
    for (const r of refused) assert.match(assertErrorEnvelope(r, 503), /busy/i);
    for (const r of admitted) assert.equal(r.body.result.dataInfo.numPages, 10);
    // 2 instances + 4 waiting = 6 lanes; a PDF holds one lane per instance
    assert.equal(admitted.length, 3);
    assert.ok(maxQueued <= 4, `up to ${maxQueued} page tasks waited`);
    const slowestRefusal = Math.max(...refused.map((r) => r.ms));
    assert.ok(slowestRefusal < Math.min(...admitted.map((r) => r.ms)), 'every refusal came before any admitted PDF was done');
    console.log(
      `refused in at most ${slowestRefusal.toFixed(0)} ms; admitted answered in ${admitted.map((r) => r.ms.toFixed(0)).join(', ')} ms`,
    );
  });
});

describe('#14.5: admission before a URL is downloaded', () => {
  let server: RunningServer;
  let slow: TestServer;
  let downloads = 0;
  before(async () => {
    server = await startServer({
      pipelines: [await classificationYaml()],
      workers: 1,
      maxQueue: 1,
      fetchLimits: { allowPrivate: true, timeoutMs: 20_000 },
    });
    const messi = await readFile(path.join(OPENCV_DATA, 'messi5.jpg'));
    slow = await startTestServer((_req, res) => {
      downloads++;
      setTimeout(() => res.end(messi), 3000).unref();
    });
  });
  after(async () => {
    await server?.close();
    await slow?.close();
  });

  test('with the pipeline full, a URL request gets 503 without any download', async () => {
    const url = `${slow.url}/messi5.jpg`;
    // two slow downloads hold both lanes (1 instance + 1 waiting) while they download
    const admitted = [
      postWithin(`${server.url}/image-classification`, { image: url }),
      postWithin(`${server.url}/image-classification`, { image: url }),
    ];
    await waitFor(() => downloads === 2, 'both downloads to start');
    const refused = await postWithin(`${server.url}/image-classification`, { image: url });
    assert.match(assertErrorEnvelope(refused, 503), /busy/i);
    assert.ok(refused.ms < 500, `503 after ${refused.ms.toFixed(0)} ms`);
    assert.equal(downloads, 2, 'the refused request downloaded nothing');
    for (const r of await Promise.all(admitted)) assert.equal(r.status, 200);
  });
});

describe('#14.8: every instance dead and restarts failing', () => {
  let server: RunningServer;
  let modelDir: string;
  before(async () => {
    modelDir = path.join(await mkdtemp(path.join(os.tmpdir(), 'pipeserve-model-')), 'model');
    await cp(await classifierFixtureDir(), modelDir, { recursive: true });
    server = await startServer({ pipelines: [await classificationYaml(modelDir)], workers: 1 });
  });
  after(async () => {
    await server?.close();
    await rm(path.dirname(modelDir), { recursive: true, force: true });
  });

  test('requests get 503 at once and /health/ready says not ready; both recover when the model is back', async () => {
    const model = path.join(modelDir, 'inference.onnx');
    await rename(model, `${model}.away`);
    process.kill(server.service.pipelines[0]!.pool.stats().detail[0]!.pid!, 'SIGKILL');
    await waitFor(async () => (await metric(server, 'pipeserve_instance_restarts_total', 'reason="startup"')) >= 1, 'a failed restart');
    const ready = await fetch(`${server.url}/health/ready`);
    assert.match(
      assertErrorEnvelope({ status: ready.status, body: await ready.json() }, 503),
      /Not ready: image_classification has no live inference instance/,
    );
    const messi = b64(await readFile(path.join(OPENCV_DATA, 'messi5.jpg')));
    const refused = await postWithin(`${server.url}/image-classification`, { image: messi });
    assert.match(assertErrorEnvelope(refused, 503), /No inference instance of image_classification is running/);
    assert.ok(refused.ms < 100, `503 after ${refused.ms.toFixed(0)} ms`);
    // PaddleX's /health keeps its meaning (the HTTP server is up)
    assert.equal((await fetch(`${server.url}/health`)).status, 200);
    await rename(`${model}.away`, model);
    await waitFor(async () => (await fetch(`${server.url}/health/ready`)).status === 200, 'ready again', 40_000);
    assert.equal((await postWithin(`${server.url}/image-classification`, { image: messi })).status, 200);
  });
});

describe('instances and queue bound per pipeline', () => {
  /** the classification fixture YAML with `serving` merged into its Serving section */
  async function classificationWithServing(serving: Record<string, unknown>): Promise<string> {
    const file = await classificationYaml();
    const config = YAML.parse(await readFile(file, 'utf8'));
    config.Serving = { ...config.Serving, ...serving };
    await writeFile(file, YAML.stringify(config));
    return file;
  }

  test('CLI per-pipeline values win over the YAML (Serving.workers / max_queue), which wins over --workers / --max-queue', async () => {
    const service = await PipelineService.start({
      pipelines: [
        await classificationWithServing({ workers: 2, max_queue: 3 }),
        await fixturePipelineYaml('object_detection', detectorFixtureDir()),
      ],
      workers: 1,
      maxQueue: 5,
      pipelineMaxQueue: { image_classification: 7 },
      log: () => {},
    });
    try {
      const [classification, detection] = service.pipelines.map((p) => p.pool.stats());
      assert.deepEqual([classification!.instances, classification!.maxQueue, classification!.live], [2, 7, 2]);
      assert.deepEqual([detection!.instances, detection!.maxQueue, detection!.live], [1, 5, 1]);
    } finally {
      await service.close();
    }
  });

  test('a bad Serving.workers stops startup naming the key', async () => {
    await assert.rejects(
      PipelineService.start({ pipelines: [await classificationWithServing({ workers: 0 })], log: () => {} }),
      /Serving\.workers: .*(>|greater|positive)/i,
    );
  });
});
