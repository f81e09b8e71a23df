/**
 * GET /metrics (Prometheus text), /health/live and /health/ready, their exemption from the API key,
 * `--no-metrics`, and `--log-format json` access lines.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { startServerProcess, type ServerProcess } from './helpers/cli.js';
import { classifierFixtureDir, fixturePipelineYaml } from './helpers/fixtures.js';
import { OPENCV_DATA } from './helpers/paths.js';
import { postJson, startServer, type RunningServer } from './helpers/server.js';

const API_KEY = 'metrics-test-key';
const auth = { authorization: `Bearer ${API_KEY}` };

async function messiBase64(): Promise<string> {
  return (await readFile(path.join(OPENCV_DATA, 'messi5.jpg'))).toString('base64');
}

/** The value of the sample `name{labels}` (labels in prom-client's order), or undefined. */
function sample(text: string, name: string, labels = ''): number | undefined {
  const prefix = labels ? `${name}{${labels}} ` : `${name} `;
  const line = text.split('\n').find((l) => l.startsWith(prefix));
  return line === undefined ? undefined : Number(line.slice(prefix.length));
}

async function classificationServer(options: { apiKey?: string; metrics?: boolean }): Promise<RunningServer> {
  return startServer({
    pipelines: [await fixturePipelineYaml('image_classification', await classifierFixtureDir())],
    workers: 1,
    ...options,
  });
}

describe('GET /metrics and health probes', () => {
  let server: RunningServer;
  before(async () => {
    server = await classificationServer({ apiKey: API_KEY });
  });
  after(() => server?.close());

  test('/health/live and /health/ready answer without the API key; /health keeps PaddleX shape', async () => {
    for (const [probe, message] of [
      ['/health/live', 'Alive'],
      ['/health/ready', 'Ready'],
      ['/health', 'Healthy'],
    ] as const) {
      const res = await fetch(`${server.url}${probe}`);
      assert.equal(res.status, 200, probe);
      const body = await res.json();
      assert.deepEqual(Object.keys(body).sort(), ['errorCode', 'errorMsg', 'logId']);
      assert.equal(body.errorCode, 0);
      assert.equal(body.errorMsg, message);
    }
  });

  test('requests by status, latency, queue wait, instances and process metrics, without the API key', async () => {
    const image = await messiBase64();
    for (let i = 0; i < 2; i++) assert.equal((await postJson(`${server.url}/image-classification`, { image }, auth)).status, 200);
    assert.equal((await postJson(`${server.url}/image-classification`, { image: 'not base64!' }, auth)).status, 422);
    assert.equal((await postJson(`${server.url}/image-classification`, { image })).status, 401);

    const res = await fetch(`${server.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const endpoint = 'endpoint="/image-classification"';
    assert.equal(sample(text, 'pipeserve_requests_total', `${endpoint},status="200"`), 2);
    assert.equal(sample(text, 'pipeserve_requests_total', `${endpoint},status="422"`), 1);
    assert.equal(sample(text, 'pipeserve_requests_total', `${endpoint},status="401"`), 1);
    assert.equal(sample(text, 'pipeserve_request_duration_seconds_count', endpoint), 4);
    assert.equal(sample(text, 'pipeserve_requests_in_flight', endpoint), 0);
    const pipeline = 'pipeline="image_classification"';
    assert.equal(sample(text, 'pipeserve_queue_length', pipeline), 0);
    assert.equal(sample(text, 'pipeserve_queue_capacity', pipeline), 16);
    assert.equal(sample(text, 'pipeserve_queue_wait_seconds_count', pipeline), 2);
    assert.equal(sample(text, 'pipeserve_task_duration_seconds_count', `${pipeline},op="predict"`), 2);
    assert.equal(sample(text, 'pipeserve_instances_live', pipeline), 1);
    assert.equal(sample(text, 'pipeserve_instances_busy', pipeline), 0);
    assert.equal(sample(text, 'pipeserve_pipeline_ready', pipeline), 1);
    const rss = sample(text, 'pipeserve_instance_rss_bytes', `${pipeline},instance="0"`);
    assert.ok(rss && rss > 20 * 2 ** 20, `instance RSS ${rss}`);
    assert.ok((sample(text, 'process_resident_memory_bytes') ?? 0) > 0);
    assert.match(text, /^nodejs_eventloop_lag_seconds /m);
  });
});

describe('--no-metrics', () => {
  let server: RunningServer;
  before(async () => {
    server = await classificationServer({ metrics: false });
  });
  after(() => server?.close());

  test('/metrics is a 404 envelope', async () => {
    const res = await fetch(`${server.url}/metrics`);
    assert.equal(res.status, 404);
    assert.equal((await res.json()).errorCode, 404);
  });
});

describe('--log-format json', () => {
  let server: ServerProcess;
  before(async () => {
    const yaml = await fixturePipelineYaml('image_classification', await classifierFixtureDir());
    server = await startServerProcess(['--pipeline', yaml, '--workers', '1', '--log-format', 'json']);
  });
  after(() => server?.stop());

  test('one JSON object per line; a request line has its logId, endpoint, status and stage durations', async () => {
    const res = await postJson(`${server.url}/image-classification`, { image: await messiBase64() });
    assert.equal(res.status, 200);
    const bad = await postJson(`${server.url}/image-classification`, { image: 'x' });
    assert.equal(bad.status, 422);
    await server.waitForLog(new RegExp(bad.body.logId), 5000);
    const lines = server
      .log()
      .split('\n')
      .filter((l) => l.trim());
    const entries = lines.map((l) => JSON.parse(l) as Record<string, any>);
    assert.ok(entries.some((e) => e.level === 30 && /Application startup complete/.test(e.msg)));
    const ok = entries.find((e) => e.logId === res.body.logId)!;
    assert.equal(ok.msg, 'request');
    assert.equal(ok.endpoint, '/image-classification');
    assert.equal(ok.status, 200);
    for (const stage of ['totalMs', 'downloadMs', 'queueMs', 'computeMs']) assert.equal(typeof ok[stage], 'number', stage);
    assert.ok(ok.computeMs > 0 && ok.totalMs >= ok.computeMs);
    const failed = entries.find((e) => e.logId === bad.body.logId)!;
    assert.equal(failed.status, 422);
  });
});
