/**
 * Inference runs on worker threads: the HTTP thread stays responsive while they are busy, and a full
 * queue answers 503 at once instead of piling up work.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connectRaw, parseRawResponse } from './helpers/rawHttp.js';
import { renderTextImage } from './helpers/textImages.js';
import { assertErrorEnvelope, postJson, startServer, type RunningServer } from './helpers/server.js';

/** A page of text detected at a large side length: a second or more of detector work per request. */
async function heavyOcrBody(): Promise<Record<string, unknown>> {
  const lines = Array.from({ length: 12 }, (_, i) => `Line ${i + 1}: the quick brown fox ${i * 7919}`);
  const { png } = await renderTextImage(lines, { fontSize: 32, width: 1000 });
  return { file: Buffer.from(png).toString('base64'), fileType: 1, textDetLimitSideLen: 2000, textDetLimitType: 'min', visualize: false };
}

describe('the event loop stays free during inference', () => {
  let server: RunningServer;
  let body: Record<string, unknown>;
  before(async () => {
    server = await startServer({ pipelines: ['OCR'], workers: 2 });
    body = await heavyOcrBody();
  });
  after(() => server?.close());

  test('/health answers within 100 ms while every worker runs a long OCR', async () => {
    const inflight = Array.from({ length: 4 }, () => postJson(`${server.url}/ocr`, body));
    // wait until both workers run a request and the other two wait in the queue (bodies all received)
    const loaded = () => server.service.pipelines[0]!.pool.stats().busy === 2 && server.service.pipelines[0]!.pool.stats().queued === 2;
    for (let i = 0; i < 500 && !loaded(); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(loaded(), JSON.stringify(server.service.pipelines[0]!.pool.stats()));
    const latencies: number[] = [];
    for (let i = 0; i < 10; i++) {
      assert.equal(server.service.pipelines[0]!.pool.stats().busy, 2, 'workers must still be busy while /health is probed');
      const started = performance.now();
      const res = await fetch(`${server.url}/health`);
      latencies.push(performance.now() - started);
      assert.equal(res.status, 200);
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(Math.max(...latencies) < 100, `health latencies ${latencies.map((l) => l.toFixed(1)).join(', ')} ms`);
    const results = await Promise.all(inflight);
    for (const r of results) assert.equal(r.status, 200);
    // (upscaled 2×, lines split into words; what matters here is that the work was real)
    assert.match(results[0]!.body.result.ocrResults[0].prunedResult.rec_texts.join(' '), /quick/);
  });
});

describe('bounded queue, admission before the body is read', () => {
  let server: RunningServer;
  let body: Record<string, unknown>;
  before(async () => {
    server = await startServer({ pipelines: ['OCR'], workers: 1, maxQueue: 1 });
    body = await heavyOcrBody();
  });
  after(() => server?.close());

  test('requests beyond the queue bound get a 503 envelope at once', async () => {
    const started = performance.now();
    const answered: Array<{ status: number; ms: number; body: any }> = [];
    await Promise.all(
      Array.from({ length: 5 }, async () => {
        const res = await postJson(`${server.url}/ocr`, body);
        answered.push({ ...res, ms: performance.now() - started });
      }),
    );
    const rejected = answered.filter((a) => a.status === 503);
    const served = answered.filter((a) => a.status === 200);
    assert.equal(served.length, 2, 'one running + one queued');
    assert.equal(rejected.length, 3);
    for (const r of rejected) assert.match(assertErrorEnvelope(r, 503), /busy/i);
    assert.ok(Math.max(...rejected.map((r) => r.ms)) < Math.min(...served.map((s) => s.ms)), '503s come before any inference finishes');
    assert.equal((await fetch(`${server.url}/health`)).status, 200);
  });

  const stats = () => server.service.pipelines[0]!.pool.stats();
  async function waitFor(condition: () => boolean, what: string): Promise<void> {
    for (let i = 0; i < 1000 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(condition(), `${what}: ${JSON.stringify(stats())}`);
  }

  test('with the queue full, a large upload gets 503 before its body is sent, and the connection closes cleanly', async () => {
    const inflight = Array.from({ length: 2 }, () => postJson(`${server.url}/ocr`, body));
    await waitFor(() => stats().reservedLanes === 2 && stats().busy === 1, 'one request running, one queued');

    const client = await connectRaw(server.url);
    const declared = 50 * 2 ** 20;
    client.write(`POST /ocr HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${declared}\r\n\r\n`);
    client.write(`{"file":"${'A'.repeat(64 * 1024)}`);
    await waitFor(() => client.received().includes('\r\n\r\n{'), 'the answer arrives while the body is 0.1% sent');
    const refused = parseRawResponse(client.received());
    assert.match(assertErrorEnvelope(refused, 503), /busy/i);
    assert.equal(refused.headers['retry-after'], '1');
    assert.equal(refused.headers.connection, 'close');
    assert.equal(stats().reservedLanes, 2, 'the refused request holds nothing');
    // the client may go on sending a little without a reset; the server closes once the client does
    client.write('A'.repeat(256 * 1024));
    client.socket.end();
    await client.closed;

    for (const r of await Promise.all(inflight)) assert.equal(r.status, 200);
    await waitFor(() => stats().reservedLanes === 0, 'every lane given back');
  });

  test('an admitted request whose body is invalid or never finished gives its lane back', async () => {
    assert.equal(assertErrorEnvelope(await postJson(`${server.url}/ocr`, '{"file": '), 422).length > 0, true);
    assert.equal(stats().reservedLanes, 0);

    const client = await connectRaw(server.url);
    client.write('POST /ocr HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"file":"AAAA');
    await waitFor(() => stats().reservedLanes === 1, 'admitted while its body arrives');
    client.socket.destroy();
    await waitFor(() => stats().reservedLanes === 0, 'the lane comes back when the client goes away');
  });
});
