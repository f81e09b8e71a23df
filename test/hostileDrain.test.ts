/**
 * Issue 14 item 7: after SIGTERM idle sockets close at once, requests in flight are answered, late
 * requests get a 503 envelope with `Connection: close`, and the process exits by --drain-timeout
 * whatever is left (a stalled upload). The real CLI.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startServerProcess, type ServerProcess } from './helpers/cli.js';
import { detectorFixtureDir, fixturePipelineYaml } from './helpers/fixtures.js';
import { startTestServer, type TestServer } from './helpers/inputs.js';
import { SHARED_MODELS } from './helpers/paths.js';
import { connectRaw, parseRawResponse } from './helpers/rawHttp.js';
import { assertErrorEnvelope } from './helpers/server.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SLOW_DOWNLOAD_MS = 1500;

async function detectorServer(extraArgs: string[]): Promise<ServerProcess> {
  const yaml = await fixturePipelineYaml('object_detection', detectorFixtureDir());
  return startServerProcess(['--pipeline', yaml, '--workers', '1', '--allow-private-urls', ...extraArgs]);
}

/** POST /object-detection with an image URL that takes SLOW_DOWNLOAD_MS to arrive: a request that stays in flight. */
async function slowRequest(server: ServerProcess, files: TestServer) {
  const res = await fetch(`${server.url}/object-detection`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ image: `${files.url}/dog.jpg`, visualize: false }),
  });
  return { status: res.status, connection: res.headers.get('connection'), body: await res.json() };
}

function refusesConnections(url: string): Promise<boolean> {
  const { port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

describe('drain on SIGTERM (real CLI)', () => {
  let files: TestServer;
  let requestsSeen = 0;
  before(async () => {
    const image = await readFile(path.join(SHARED_MODELS, 'PicoDet-XS/dog.jpg'));
    files = await startTestServer((_req, res) => {
      requestsSeen++;
      setTimeout(() => res.end(image), SLOW_DOWNLOAD_MS);
    });
  });
  after(() => files?.close());

  test('idle sockets close at once, in-flight answered, late request 503 envelope, stalled upload cut at --drain-timeout', async () => {
    const server = await detectorServer(['--drain-timeout', '3']);
    try {
      const idle = await connectRaw(server.url);
      idle.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      while (!idle.received().includes('Healthy')) await sleep(10);
      const late = await connectRaw(server.url);
      late.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n'); // headers not finished yet
      const stalled = await connectRaw(server.url);
      stalled.write('POST /object-detection HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n{"image": "');
      const seenBefore = requestsSeen;
      const inFlight = slowRequest(server, files);
      while (requestsSeen === seenBefore) await sleep(10); // the server is downloading the image

      const signalled = performance.now();
      server.child.kill('SIGTERM');
      await idle.closed;
      assert.ok(
        performance.now() - signalled < 1000,
        `idle keep-alive socket closed ${(performance.now() - signalled).toFixed(0)} ms after SIGTERM`,
      );
      assert.ok(await refusesConnections(server.url), 'new connections are refused');

      late.write('\r\n');
      await late.closed;
      const lateResponse = parseRawResponse(late.received());
      assert.equal(lateResponse.headers.connection, 'close');
      assert.match(assertErrorEnvelope(lateResponse, 503), /shutting down/);

      const answered = await inFlight;
      assert.equal(answered.status, 200, JSON.stringify(answered.body).slice(0, 300));
      assert.equal(answered.connection, 'close');

      const code = await server.exited;
      const exitedAfter = performance.now() - signalled;
      assert.equal(code, 0);
      assert.ok(exitedAfter >= 2900 && exitedAfter < 6000, `exited ${exitedAfter.toFixed(0)} ms after SIGTERM (--drain-timeout 3)`);
      assert.match(server.log(), /Drain timeout \(3 s, --drain-timeout\) reached/);
      assert.ok((await stalled.closed) > 0, 'the stalled upload was cut');
    } finally {
      server.child.kill('SIGKILL');
    }
  });

  test('without stragglers the process exits as soon as the requests in flight are answered', async () => {
    const server = await detectorServer([]); // default --drain-timeout 30
    try {
      const seenBefore = requestsSeen;
      const inFlight = slowRequest(server, files);
      while (requestsSeen === seenBefore) await sleep(10);
      const signalled = performance.now();
      server.child.kill('SIGTERM');
      assert.equal((await inFlight).status, 200);
      assert.equal(await server.exited, 0);
      const exitedAfter = performance.now() - signalled;
      assert.ok(exitedAfter < SLOW_DOWNLOAD_MS + 5000, `exited ${exitedAfter.toFixed(0)} ms after SIGTERM`);
      assert.doesNotMatch(server.log(), /Drain timeout/);
      assert.match(server.log(), /Application shutdown complete/);
    } finally {
      server.child.kill('SIGKILL');
    }
  });
});
