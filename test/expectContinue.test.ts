/**
 * `Expect: 100-continue` on pipeline endpoints, with a raw socket client: the server sends `100
 * Continue` only when it will take the body; a full pipeline (503 with Retry-After) or a missing API
 * key (401) is answered at once with the final status, and the client never sends its body.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { classifierFixtureDir, fixturePipelineYaml } from './helpers/fixtures.js';
import { OPENCV_DATA } from './helpers/paths.js';
import { connectRaw, parseRawResponse, type RawClient } from './helpers/rawHttp.js';
import { type RunningServer, startServer } from './helpers/server.js';

const ENDPOINT = '/image-classification';
const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n';

async function until(client: RawClient, done: (text: string) => boolean, what: string): Promise<string> {
  const deadline = performance.now() + 30_000;
  while (!done(client.received())) {
    assert.ok(performance.now() < deadline, `timed out waiting for ${what}; received ${JSON.stringify(client.received().slice(0, 300))}`);
    await sleep(5);
  }
  return client.received();
}

/** Headers of a POST that waits for `100 Continue` before sending its `length`-byte body. */
function head(url: string, length: number, extra = ''): string {
  const { host } = new URL(url);
  return `POST ${ENDPOINT} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\nExpect: 100-continue\r\n${extra}\r\n`;
}

/** Sends only the headers; returns the final response, which must come without `100 Continue` and without the body sent. */
async function refusedBeforeBody(url: string, extra = ''): Promise<ReturnType<typeof parseRawResponse>> {
  const client = await connectRaw(url);
  try {
    client.write(head(url, 1000, extra));
    const text = await until(
      client,
      (t) => t.includes('\r\n\r\n') && t.includes('"errorCode"') && t.trimEnd().endsWith('}'),
      'the final answer',
    );
    assert.ok(!text.includes('100 Continue'), `no 100 Continue before a refusal: ${text.slice(0, 200)}`);
    return parseRawResponse(text);
  } finally {
    client.socket.destroy();
  }
}

describe('Expect: 100-continue', () => {
  let server: RunningServer;
  let keyed: RunningServer;
  let body: Buffer;

  before(async () => {
    const pipeline = await fixturePipelineYaml('image_classification', await classifierFixtureDir());
    // one instance and no queue: one admitted request fills the pipeline
    server = await startServer({ pipelines: [pipeline], workers: 1, maxQueue: 0 });
    keyed = await startServer({ pipelines: [pipeline], workers: 1, apiKey: 'sesame' });
    const image = await readFile(path.join(OPENCV_DATA, 'orange.jpg'));
    body = Buffer.from(JSON.stringify({ image: image.toString('base64'), visualize: false }));
  });

  after(async () => {
    await Promise.all([server?.close(), keyed?.close()]);
  });

  test('admitted: 100 Continue first, then the body is read and answered', async () => {
    const client = await connectRaw(server.url);
    try {
      client.write(head(server.url, body.length));
      await until(client, (t) => t.startsWith(CONTINUE), '100 Continue');
      client.write(body);
      const text = await until(client, (t) => t.length > CONTINUE.length && t.trimEnd().endsWith('}'), 'the answer');
      const response = parseRawResponse(text.slice(CONTINUE.length));
      assert.equal(response.status, 200);
      assert.equal(response.body.errorCode, 0);
    } finally {
      client.socket.destroy();
    }
  });

  test('pipeline full: the 503 envelope with Retry-After instead of 100 Continue', async () => {
    const lease = server.service.admitEarly(server.service.endpoint(ENDPOINT)!);
    try {
      const response = await refusedBeforeBody(server.url);
      assert.equal(response.status, 503);
      assert.equal(response.headers['retry-after'], '1');
      assert.equal(response.body.errorCode, 503);
      assert.match(response.body.errorMsg, /busy/);
    } finally {
      lease.end();
    }
  });

  test('no API key: the 401 envelope instead of 100 Continue', async () => {
    const response = await refusedBeforeBody(keyed.url);
    assert.equal(response.status, 401);
    assert.equal(response.body.errorCode, 401);
    // with the key the same request goes ahead
    const client = await connectRaw(keyed.url);
    try {
      client.write(head(keyed.url, body.length, 'Authorization: Bearer sesame\r\n'));
      await until(client, (t) => t.startsWith(CONTINUE), '100 Continue');
    } finally {
      client.socket.destroy();
    }
  });
});
