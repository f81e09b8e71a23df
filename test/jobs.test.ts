/**
 * Async jobs: 202 and the job's state, progress page by page over Server-Sent Events, the synchronous
 * response from /result, cancelling a 40-page PDF mid-way with its workers free within 1 s, a server
 * killed and restarted (finished results kept, the running job failed with a reason), expiry and the
 * store's size cap.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import YAML from 'yaml';
import { INTERRUPTED_MESSAGE } from '../src/io/jobStore.js';
import { startServerProcess } from './helpers/cli.js';
import { classifierFixtureDir, fixturePipelineYaml } from './helpers/fixtures.js';
import { makePdf } from './helpers/inputs.js';
import { REPO_ROOT, SKIMAGE_DATA } from './helpers/paths.js';
import { assertErrorEnvelope, postJson, startServer, type JsonResponse, type RunningServer } from './helpers/server.js';

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

function numberedPdf(total: number): Promise<Uint8Array> {
  return makePdf(Array.from({ length: total }, (_, i) => [`Page ${i + 1} of ${total}`, `Invoice number ${4000 + i + 1}`]));
}

/** The built-in OCR config with up to 40 PDF pages per request. */
async function ocrYaml(dir: string): Promise<string> {
  const config = YAML.parse(await readFile(path.join(REPO_ROOT, 'configs/OCR.yaml'), 'utf8'));
  config.Serving.extra.max_num_input_imgs = 40;
  const file = path.join(dir, 'OCR.yaml');
  await writeFile(file, YAML.stringify(config));
  return file;
}

async function getJson(url: string, init?: RequestInit): Promise<JsonResponse> {
  const res = await fetch(url, init);
  return { status: res.status, body: await res.json() };
}

interface SseEvent {
  type: string;
  data: any;
}

/** The events of a Server-Sent Events stream, as they arrive (comments skipped). */
async function* sseEvents(url: string): AsyncGenerator<SseEvent> {
  const res = await fetch(url);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const lines = buffer.slice(0, end).split('\n');
      buffer = buffer.slice(end + 2);
      const type = lines.find((l) => l.startsWith('event: '))?.slice(7);
      const data = lines.find((l) => l.startsWith('data: '))?.slice(6);
      if (type && data) yield { type, data: JSON.parse(data) };
    }
  }
}

async function waitForJob(url: string, id: string, done: (job: any) => boolean, timeoutMs = 300_000): Promise<any> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const res = await getJson(`${url}/jobs/${id}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const job = res.body.result;
    if (done(job)) return job;
    if (performance.now() > deadline) throw new Error(`job ${id} never got there: ${JSON.stringify(job)}`);
    await sleep(100);
  }
}

function submitted(res: JsonResponse): string {
  assert.equal(res.status, 202, JSON.stringify(res.body).slice(0, 300));
  assert.equal(res.body.errorCode, 0);
  assert.match(res.body.result.jobId, /^[0-9a-f-]{36}$/);
  return res.body.result.jobId;
}

describe('async jobs on OCR (2 workers, up to 40 pages)', () => {
  let dir: string;
  let server: RunningServer;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'pipeserve-jobs-'));
    server = await startServer({
      pipelines: [await ocrYaml(dir)],
      workers: 2,
      jobs: { dbFile: path.join(dir, 'jobs.sqlite'), ttlSeconds: 3600, maxStoreBytes: 64 * 2 ** 20, timeoutSeconds: 600 },
    });
  });
  after(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('a 3-page job: 202, page results over SSE, and /result is the synchronous response', async () => {
    const body = { file: b64(await numberedPdf(3)), fileType: 0, visualize: false };
    const accepted = await postJson(`${server.url}/jobs/ocr`, body);
    const id = submitted(accepted);
    assert.equal(accepted.body.result.status, 'running');
    const events: SseEvent[] = [];
    for await (const event of sseEvents(`${server.url}/jobs/${id}/events`)) events.push(event);
    assert.equal(events.at(-1)!.type, 'end');
    assert.equal(events.at(-1)!.data.status, 'succeeded');
    const pages = events.filter((e) => e.type === 'page');
    assert.deepEqual(pages.map((e) => e.data.page).sort(), [0, 1, 2]);

    const job = (await getJson(`${server.url}/jobs/${id}`)).body.result;
    assert.equal(job.status, 'succeeded');
    assert.equal(job.pagesDone, 3);
    assert.equal(job.pagesTotal, 3);
    assert.ok(job.timings.computeMs > 0 && job.elapsedMs > 0, JSON.stringify(job));

    const result = await fetch(`${server.url}/jobs/${id}/result`);
    assert.equal(result.status, 200);
    const envelope = await result.json();
    const sync = await postJson(`${server.url}/ocr`, body);
    assert.deepEqual(Object.keys(envelope), Object.keys(sync.body));
    assert.equal(envelope.logId, accepted.body.logId);
    assert.deepEqual(envelope.result, sync.body.result);
    // each page event carried that page's entry of the final result
    for (const { data } of pages) assert.deepEqual(data.result, envelope.result.ocrResults[data.page]);
  });

  test('a 40-page job reports progress page by page over SSE, and DELETE cancels it with the workers free within 1 s', async () => {
    const id = submitted(await postJson(`${server.url}/jobs/ocr`, { file: b64(await numberedPdf(40)), fileType: 0, visualize: false }));
    const progress: number[] = [];
    let pageEvents = 0;
    for await (const event of sseEvents(`${server.url}/jobs/${id}/events`)) {
      if (event.type === 'progress' && event.data.pagesTotal !== null) {
        assert.equal(event.data.pagesTotal, 40);
        progress.push(event.data.pagesDone);
      }
      if (event.type === 'page') pageEvents++;
      if (progress.length === 5) break;
    }
    assert.ok(pageEvents >= 4, `${pageEvents} page results before the 4th page's progress`);
    // one progress event per finished page, counting up from 0
    assert.deepEqual(progress.slice(0, 5), [0, 1, 2, 3, 4]);

    const running = await getJson(`${server.url}/jobs/${id}/result`);
    assert.match(assertErrorEnvelope(running, 409), /still running \(\d+ of 40 pages done\)/);

    const pool = server.service.pipelines[0]!.pool;
    const cancelled = await getJson(`${server.url}/jobs/${id}`, { method: 'DELETE' });
    const cancelledAt = performance.now();
    assert.equal(cancelled.status, 200);
    assert.deepEqual(cancelled.body.result, { jobId: id, status: 'cancelled' });
    for (;;) {
      const stats = pool.stats();
      if (stats.busy === 0 && stats.queued === 0 && stats.reservedLanes === 0) break;
      assert.ok(performance.now() - cancelledAt < 1000, `workers still busy 1 s after the cancel: ${JSON.stringify(stats)}`);
      await sleep(10);
    }
    const job = (await getJson(`${server.url}/jobs/${id}`)).body.result;
    assert.equal(job.status, 'cancelled');
    assert.ok(job.pagesDone >= 4 && job.pagesDone < 40, `pages done: ${job.pagesDone}`);
    assert.match(assertErrorEnvelope(await getJson(`${server.url}/jobs/${id}/result`), 409), /was cancelled/);
    // a finished job's DELETE removes it
    assert.deepEqual((await getJson(`${server.url}/jobs/${id}`, { method: 'DELETE' })).body.result, { jobId: id, status: 'deleted' });
    assertErrorEnvelope(await getJson(`${server.url}/jobs/${id}`), 404);
  });

  test('mistakes are answered at submission as the endpoint answers them; unknown jobs are 404', async () => {
    const invalid = JSON.parse(assertErrorEnvelope(await postJson(`${server.url}/jobs/ocr`, { fileType: 0 }), 422));
    assert.deepEqual(invalid[0].loc, ['body', 'file']);
    assertErrorEnvelope(await getJson(`${server.url}/jobs/nope`), 404);
    assertErrorEnvelope(await getJson(`${server.url}/jobs/nope/result`), 404);
    assertErrorEnvelope(await getJson(`${server.url}/jobs/nope/events`), 404);
    assertErrorEnvelope(await getJson(`${server.url}/jobs/nope`, { method: 'DELETE' }), 404);
  });
});

describe('a job server killed and restarted (server processes, same --jobs-db)', () => {
  test('keeps finished results and marks the job that was running failed, with the reason', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pipeserve-jobs-restart-'));
    const args = ['--pipeline', await ocrYaml(dir), '--workers', '1', '--jobs-db', path.join(dir, 'jobs.sqlite')];
    try {
      const first = await startServerProcess(args);
      let finishedId: string;
      let finishedResponse: string;
      let runningId: string;
      try {
        finishedId = submitted(await postJson(`${first.url}/jobs/ocr`, { file: b64(await numberedPdf(1)), fileType: 0, visualize: false }));
        await waitForJob(first.url, finishedId, (job) => job.status === 'succeeded');
        finishedResponse = await (await fetch(`${first.url}/jobs/${finishedId}/result`)).text();
        runningId = submitted(await postJson(`${first.url}/jobs/ocr`, { file: b64(await numberedPdf(40)), fileType: 0, visualize: false }));
        await waitForJob(first.url, runningId, (job) => job.pagesDone >= 1);
      } finally {
        first.child.kill('SIGKILL');
        await first.exited;
      }
      const second = await startServerProcess(args);
      try {
        const kept = await fetch(`${second.url}/jobs/${finishedId}/result`);
        assert.equal(kept.status, 200);
        assert.equal(await kept.text(), finishedResponse);
        const interrupted = (await getJson(`${second.url}/jobs/${runningId}`)).body.result;
        assert.equal(interrupted.status, 'failed');
        assert.equal(interrupted.errorMsg, INTERRUPTED_MESSAGE);
        assert.equal(assertErrorEnvelope(await getJson(`${second.url}/jobs/${runningId}/result`), 500), INTERRUPTED_MESSAGE);
      } finally {
        await second.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('job store limits (classification, a 5 s TTL and room for two results)', () => {
  let dir: string;
  let server: RunningServer;
  let image: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'pipeserve-jobs-limits-'));
    image = b64(await readFile(path.join(SKIMAGE_DATA, 'chelsea.png')));
    const pipelines = [await fixturePipelineYaml('image_classification', await classifierFixtureDir())];
    // the store takes exactly two results: their size is the synchronous response's (same length of logId)
    const measuring = await startServer({ pipelines });
    const res = await fetch(`${measuring.url}/image-classification`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ image, visualize: false }),
    });
    const resultBytes = Buffer.byteLength(await res.text());
    await measuring.close();
    server = await startServer({
      pipelines,
      jobs: { dbFile: path.join(dir, 'jobs.sqlite'), ttlSeconds: 5, maxStoreBytes: 2 * resultBytes, timeoutSeconds: 60 },
    });
  });
  after(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('a result larger than the store fails the job with 507; a full store refuses new jobs with 507; expired results go', async () => {
    const big = submitted(await postJson(`${server.url}/jobs/image-classification`, { image, visualize: true }));
    const failed = await waitForJob(server.url, big, (job) => job.status !== 'running');
    assert.equal(failed.status, 'failed');
    assert.equal(failed.errorCode, 507);
    assert.match(assertErrorEnvelope(await getJson(`${server.url}/jobs/${big}/result`), 507), /does not fit in the job store/);

    let refusal: JsonResponse | undefined;
    const stored: string[] = [];
    for (let i = 0; i < 3 && !refusal; i++) {
      const res = await postJson(`${server.url}/jobs/image-classification`, { image, visualize: false });
      if (res.status === 507) refusal = res;
      else {
        const id = submitted(res);
        const job = await waitForJob(server.url, id, (job) => job.status !== 'running');
        // the job admitted while there was room may find none left for its result
        if (job.status === 'succeeded') stored.push(id);
        else assert.equal(job.errorCode, 507, JSON.stringify(job));
      }
    }
    assert.equal(stored.length, 2);
    assert.ok(refusal, 'the third job is refused');
    assert.match(assertErrorEnvelope(refusal, 507), /Insufficient storage.*--jobs-max-mb/);

    await sleep(5200);
    assertErrorEnvelope(await getJson(`${server.url}/jobs/${stored[0]}`), 404);
    submitted(await postJson(`${server.url}/jobs/image-classification`, { image, visualize: false }));
  });
});
