/**
 * Response size: `returnImages: false` leaves every Base64 image out, and responses are compressed
 * (br or gzip) as the client's Accept-Encoding asks, tested on a large OCR response.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import zlib from 'node:zlib';
import { z } from 'zod';
import { base64Image, base64ImageMap, imageFields, withoutImages } from '../src/pipelines/shared/schemas.js';
import { makePdf } from './helpers/inputs.js';
import { assertErrorEnvelope, postJson, startServer, type RunningServer } from './helpers/server.js';

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

/** POST JSON with an Accept-Encoding; the raw (still encoded) body and its Content-Encoding. */
function postEncoded(url: string, body: unknown, acceptEncoding: string): Promise<{ encoding: string | undefined; raw: Buffer }> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      { method: 'POST', headers: { 'content-type': 'application/json', 'accept-encoding': acceptEncoding } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ encoding: res.headers['content-encoding'], raw: Buffer.concat(chunks) }));
      },
    );
    request.on('error', reject);
    request.end(JSON.stringify(body));
  });
}

describe('OCR response size', () => {
  let server: RunningServer;
  let pdf: Uint8Array;
  before(async () => {
    server = await startServer({ pipelines: ['OCR'], workers: 2 });
    pdf = await makePdf(Array.from({ length: 4 }, (_, i) => [`Page ${i + 1}`, 'Total amount 12.50', 'Thank you']));
  });
  after(() => server?.close());

  test('returnImages: false drops every image, even with visualize: true; the rest is the same', async () => {
    const full = await postJson(`${server.url}/ocr`, { file: b64(pdf), fileType: 0, visualize: true });
    assert.equal(full.status, 200);
    for (const page of full.body.result.ocrResults) assert.ok(page.ocrImage && page.inputImage);
    const lean = await postJson(`${server.url}/ocr`, { file: b64(pdf), fileType: 0, visualize: true, returnImages: false });
    assert.equal(lean.status, 200);
    assert.deepEqual(lean.body.result, {
      ocrResults: full.body.result.ocrResults.map((page: any) => ({ prunedResult: page.prunedResult })),
      dataInfo: full.body.result.dataInfo,
    });
    const bad = JSON.parse(
      assertErrorEnvelope(await postJson(`${server.url}/ocr`, { file: b64(pdf), fileType: 0, returnImages: 'x' }), 422),
    );
    assert.deepEqual(bad[0].loc, ['body', 'returnImages']);
  });

  test('a large response comes compressed as br or gzip when asked, and plain otherwise', async () => {
    const body = { file: b64(pdf), fileType: 0, visualize: true };
    const plain = await postEncoded(`${server.url}/ocr`, body, 'identity');
    assert.equal(plain.encoding, undefined);
    assert.ok(plain.raw.length > 300_000, `a large response: ${plain.raw.length} bytes`);
    const result = JSON.parse(plain.raw.toString('utf8')).result;

    const br = await postEncoded(`${server.url}/ocr`, body, 'gzip, deflate, br');
    assert.equal(br.encoding, 'br');
    assert.deepEqual(JSON.parse(zlib.brotliDecompressSync(br.raw).toString('utf8')).result, result);

    const gzip = await postEncoded(`${server.url}/ocr`, body, 'gzip');
    assert.equal(gzip.encoding, 'gzip');
    assert.deepEqual(JSON.parse(zlib.gunzipSync(gzip.raw).toString('utf8')).result, result);
    // Base64 of JPEGs carries 6 bits a character: at best about a quarter comes off
    assert.ok(br.raw.length < plain.raw.length * 0.85, `br ${br.raw.length} of ${plain.raw.length} bytes`);
    assert.ok(gzip.raw.length < plain.raw.length * 0.85, `gzip ${gzip.raw.length} of ${plain.raw.length} bytes`);
  });
});

test('withoutImages removes image fields and image maps at any depth, found from the result schema', () => {
  const schema = z.object({
    pages: z.array(z.object({ text: z.string(), outputImage: base64Image('image/png'), outputImages: base64ImageMap().optional() })),
    inputImage: base64Image(),
    csv: z.string(),
  });
  const result = {
    pages: [{ text: 'a', outputImage: 'AAA', outputImages: { layout: 'BBB' } }],
    inputImage: 'CCC',
    csv: 'YSxi',
  };
  assert.deepEqual(withoutImages(result, imageFields(schema)), { pages: [{ text: 'a' }], csv: 'YSxi' });
});
