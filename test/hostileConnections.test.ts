/**
 * Issue 14 item 3: slow and idle clients are timed out, a connection flood cannot lock clients out.
 * The real CLI with a low --max-connections and short timeouts; only 127.0.0.1 is targeted.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli, startServerProcess, type ServerProcess } from './helpers/cli.js';
import { detectorFixtureDir, fixturePipelineYaml } from './helpers/fixtures.js';
import { assertHealthy, startHealthProbe } from './helpers/healthProbe.js';
import { startTestServer, type TestServer } from './helpers/inputs.js';
import { SHARED_MODELS } from './helpers/paths.js';
import { connectRaw, parseRawResponse, type RawClient } from './helpers/rawHttp.js';
import { assertErrorEnvelope, postJson } from './helpers/server.js';

const MAX_CONNECTIONS = 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A raw-socket request's answer: a PaddleX envelope with `Connection: close`, then the socket closed. */
async function assertClosedWithEnvelope(client: RawClient, status: number, withinMs: number): Promise<string> {
  const closedAfter = await Promise.race([client.closed, sleep(withinMs + 5000).then(() => Number.POSITIVE_INFINITY)]);
  assert.ok(closedAfter <= withinMs, `socket closed after ${closedAfter.toFixed(0)} ms (expected ≤ ${withinMs})`);
  const res = parseRawResponse(client.received());
  assert.equal(res.headers.connection, 'close');
  return assertErrorEnvelope(res, status);
}

describe('slow and idle clients (--max-connections 100, 1-2 s timeouts)', () => {
  let server: ServerProcess;
  let files: TestServer;
  let image: Buffer;

  before(async () => {
    image = await readFile(path.join(SHARED_MODELS, 'PicoDet-XS/dog.jpg'));
    files = await startTestServer((_req, res) => void setTimeout(() => res.end(image), 2500));
    server = await startServerProcess([
      '--pipeline',
      await fixturePipelineYaml('object_detection', detectorFixtureDir()),
      '--workers',
      '1',
      '--allow-private-urls',
      '--max-connections',
      String(MAX_CONNECTIONS),
      '--headers-timeout',
      '1',
      '--receive-timeout',
      '2',
      '--idle-timeout',
      '1',
      '--keep-alive-timeout',
      '1',
    ]);
  });
  after(async () => {
    await server?.stop();
    await files?.close();
  });

  const detect = () => postJson(`${server.url}/object-detection`, { image: image.toString('base64'), visualize: false });

  test('2,000 idle sockets against a cap of 100: /health answers within 100 ms throughout, the oldest idle sockets are evicted', async () => {
    const probe = await startHealthProbe(server.url);
    const flood: RawClient[] = [];
    // 2,000 sockets in 4 s: each batch of 25 is opened at once, then a pause
    for (let batch = 0; batch < 80; batch++) {
      flood.push(...(await Promise.all(Array.from({ length: 25 }, () => connectRaw(server.url)))));
      await sleep(50);
    }
    await sleep(300);
    const report = await probe.stop();
    const open = flood.filter((c) => !c.socket.destroyed && c.socket.readyState === 'open');
    for (const c of flood) c.socket.destroy();
    assertHealthy(report, 100, 50);
    assert.ok(open.length <= MAX_CONNECTIONS, `${open.length} flood sockets still open (cap ${MAX_CONNECTIONS})`);
    assert.ok(
      flood.every((c) => c.received() === ''),
      'evicted idle sockets get no bytes',
    );
    assert.equal((await detect()).status, 200, 'still serving');
  });

  test('a socket that never sends anything is closed after --idle-timeout', async () => {
    const client = await connectRaw(server.url);
    const closedAfter = await client.closed;
    assert.ok(closedAfter >= 900 && closedAfter < 3000, `closed after ${closedAfter.toFixed(0)} ms`);
    assert.equal(client.received(), '');
  });

  test('headers trickled a byte every 200 ms: 408 envelope by --headers-timeout', async () => {
    const client = await connectRaw(server.url);
    client.write('POST /object-detection HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const timer = setInterval(() => client.write('X'), 200);
    try {
      assert.match(await assertClosedWithEnvelope(client, 408, 3500), /too slowly/);
    } finally {
      clearInterval(timer);
    }
  });

  test('body trickled: 408 envelope by --receive-timeout, and no worker was held meanwhile', async () => {
    const client = await connectRaw(server.url);
    client.write(
      'POST /object-detection HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"image": "',
    );
    const timer = setInterval(() => client.write('QUFB'), 200);
    try {
      const answered = await detect(); // the single worker is free
      assert.equal(answered.status, 200);
      assert.match(await assertClosedWithEnvelope(client, 408, 4500), /too slowly/);
    } finally {
      clearInterval(timer);
    }
  });

  test('body stalled after the headers: 408 envelope by --idle-timeout', async () => {
    const client = await connectRaw(server.url);
    client.write('POST /object-detection HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n{"image": ');
    assert.match(await assertClosedWithEnvelope(client, 408, 3000), /stopped sending/);
  });

  test('a request being answered for longer than --idle-timeout keeps its socket', async () => {
    const started = performance.now();
    const res = await postJson(`${server.url}/object-detection`, { image: `${files.url}/dog.jpg`, visualize: false });
    assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 300));
    assert.ok(performance.now() - started >= 2400, 'the download took 2.5 s');
  });

  test('an idle keep-alive socket is closed after --keep-alive-timeout (Node adds 1 s of grace)', async () => {
    const client = await connectRaw(server.url);
    client.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    while (!client.received().includes('Healthy')) await sleep(10);
    const answeredAt = performance.now();
    await client.closed;
    const idleFor = performance.now() - answeredAt;
    assert.equal(parseRawResponse(client.received()).headers['keep-alive'], 'timeout=1');
    assert.ok(idleFor >= 900 && idleFor < 3500, `closed ${idleFor.toFixed(0)} ms after the answer`);
  });

  test('malformed HTTP and oversized headers get envelopes too', async () => {
    const garbage = await connectRaw(server.url);
    garbage.write('NOT HTTP AT ALL\r\n\r\n');
    assert.match(await assertClosedWithEnvelope(garbage, 400, 2000), /Malformed HTTP request/);
    const bigHeaders = await connectRaw(server.url);
    bigHeaders.write(`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`);
    assert.match(await assertClosedWithEnvelope(bigHeaders, 431, 2000), /headers are too large/);
  });
});

test('timeout flags are checked before anything loads', async () => {
  const longHeaders = await runCli(['--serve', '--pipeline', 'OCR', '--headers-timeout', '400']);
  assert.equal(longHeaders.code, 1);
  assert.match(longHeaders.stderr, /--headers-timeout 400 is longer than --receive-timeout 300/);
  const zero = await runCli(['--serve', '--pipeline', 'OCR', '--idle-timeout', '0']);
  assert.equal(zero.code, 1);
  assert.match(zero.stderr, /--idle-timeout 0: expected a positive number/);
  const help = await runCli(['--help']);
  for (const flag of [
    '--max-connections',
    '--headers-timeout',
    '--receive-timeout',
    '--idle-timeout',
    '--keep-alive-timeout',
    '--drain-timeout',
  ]) {
    assert.match(help.stdout, new RegExp(flag));
  }
});
