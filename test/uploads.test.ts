/**
 * Uploads without Base64: multipart/form-data and raw file bodies give the same results as JSON (OCR of
 * an image and a PDF, classification), form values become the schema's types, mistakes get PaddleX
 * envelopes, and a 200 MB upload is refused early with 413 without anything written to disk.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { classifierFixtureDir, fixturePipelineYaml } from './helpers/fixtures.js';
import { makePdf } from './helpers/inputs.js';
import { startServerProcess } from './helpers/cli.js';
import { SKIMAGE_DATA } from './helpers/paths.js';
import { assertErrorEnvelope, postJson, startServer, type JsonResponse, type RunningServer } from './helpers/server.js';
import { renderTextImage } from './helpers/textImages.js';

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

async function send(url: string, body: BodyInit, contentType?: string): Promise<JsonResponse> {
  const res = await fetch(url, { method: 'POST', body, headers: contentType ? { 'content-type': contentType } : {} });
  return { status: res.status, body: await res.json() };
}

function form(fields: Record<string, string>, file?: { name: string; bytes: Uint8Array; type: string; filename: string }): FormData {
  const data = new FormData();
  for (const [name, value] of Object.entries(fields)) data.append(name, value);
  if (file) data.append(file.name, new Blob([Buffer.from(file.bytes)], { type: file.type }), file.filename);
  return data;
}

function assertSuccess(res: JsonResponse): any {
  assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 400));
  assert.equal(res.body.errorCode, 0);
  return res.body.result;
}

describe('OCR: multipart and raw uploads', () => {
  let server: RunningServer;
  let png: Uint8Array;
  let pdf: Uint8Array;
  before(async () => {
    server = await startServer({ pipelines: ['OCR'], workers: 1 });
    png = (await renderTextImage(['Multipart upload 42', 'no Base64 here'])).png;
    pdf = await makePdf([['First page 101'], ['Second page 202']]);
  });
  after(() => server?.close());

  test('an image as JSON, as a multipart part (typed form values) and as a raw body (query values) gives one result', async () => {
    const json = assertSuccess(
      await postJson(`${server.url}/ocr`, { file: b64(png), fileType: 1, textDetBoxThresh: 0.5, visualize: true }),
    );
    const multipart = assertSuccess(
      await send(
        `${server.url}/ocr`,
        form({ textDetBoxThresh: '0.5', visualize: 'true' }, { name: 'file', bytes: png, type: 'image/png', filename: 'sign.png' }),
      ),
    );
    const raw = assertSuccess(await send(`${server.url}/ocr?textDetBoxThresh=0.5&visualize=true`, Buffer.from(png), 'image/png'));
    assert.deepEqual(multipart, json);
    assert.deepEqual(raw, json);
    assert.ok(json.ocrResults[0].ocrImage, 'the visualisation is there');
    assert.match(json.ocrResults[0].prunedResult.rec_texts.join(' '), /42/);
  });

  test('a PDF: its type comes from the part file name or the raw Content-Type when fileType is not given', async () => {
    const json = assertSuccess(await postJson(`${server.url}/ocr`, { file: b64(pdf), fileType: 0, visualize: false }));
    assert.equal(json.dataInfo.numPages, 2);
    const multipart = assertSuccess(
      await send(
        `${server.url}/ocr`,
        form({ visualize: 'false' }, { name: 'file', bytes: pdf, type: 'application/octet-stream', filename: 'scan.pdf' }),
      ),
    );
    const raw = assertSuccess(await send(`${server.url}/ocr?visualize=false`, Buffer.from(pdf), 'application/pdf'));
    assert.deepEqual(multipart, json);
    assert.deepEqual(raw, json);
  });

  test('a part whose type cannot be told, with no fileType, is the 422 PaddleX gives Base64 without fileType', async () => {
    const res = await send(
      `${server.url}/ocr`,
      form({}, { name: 'file', bytes: pdf, type: 'application/octet-stream', filename: 'upload' }),
    );
    assert.match(assertErrorEnvelope(res, 422), /File type cannot be determined/);
  });

  test('mistakes: malformed multipart 400, missing file part 422, wrong Content-Type 415, untyped value 422, stray file part 422', async () => {
    const truncated = '--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\nContent-Type: image/png\r\n\r\nabc';
    assert.match(
      assertErrorEnvelope(await send(`${server.url}/ocr`, truncated, 'multipart/form-data; boundary=XyZ'), 400),
      /malformed multipart/,
    );
    assert.match(assertErrorEnvelope(await send(`${server.url}/ocr`, 'x', 'multipart/form-data'), 400), /malformed multipart.*[Bb]oundary/);

    const missing = JSON.parse(assertErrorEnvelope(await send(`${server.url}/ocr`, form({ fileType: '1' })), 422));
    assert.deepEqual(
      missing.map((e: any) => [e.type, e.loc]),
      [['missing', ['body', 'file']]],
    );

    assert.match(assertErrorEnvelope(await send(`${server.url}/ocr`, 'a,b\n1,2\n', 'text/csv'), 415), /image\/\* or application\/pdf/);

    // a value that is not of its field's type: the same error as in JSON
    const badValue = assertErrorEnvelope(
      await send(
        `${server.url}/ocr`,
        form({ textDetLimitSideLen: 'big' }, { name: 'file', bytes: png, type: 'image/png', filename: 'a.png' }),
      ),
      422,
    );
    const badJson = assertErrorEnvelope(await postJson(`${server.url}/ocr`, { file: b64(png), textDetLimitSideLen: 'big' }), 422);
    assert.deepEqual(
      JSON.parse(badValue).map((e: any) => [e.type, e.loc, e.input]),
      JSON.parse(badJson).map((e: any) => [e.type, e.loc, e.input]),
    );
    assert.deepEqual(JSON.parse(badValue)[0].loc, ['body', 'textDetLimitSideLen']);

    const stray = form({}, { name: 'file', bytes: png, type: 'image/png', filename: 'a.png' });
    stray.append('image', new Blob([Buffer.from(png)], { type: 'image/png' }), 'b.png');
    const strayErrors = JSON.parse(assertErrorEnvelope(await send(`${server.url}/ocr`, stray), 422));
    assert.deepEqual(strayErrors[0].loc, ['body', 'image']);

    assert.match(
      assertErrorEnvelope(await send(`${server.url}/ocr`, new Uint8Array(0), 'image/png'), 422),
      /file: the uploaded file is empty/,
    );
  });

  test('/openapi.json documents the JSON, multipart and raw forms and the query parameters', async () => {
    const spec = await (await fetch(`${server.url}/openapi.json`)).json();
    const operation = spec.paths['/ocr'].post;
    assert.deepEqual(Object.keys(operation.requestBody.content).sort(), [
      'application/json',
      'application/pdf',
      'image/*',
      'multipart/form-data',
    ]);
    assert.deepEqual(operation.requestBody.content['multipart/form-data'].schema.properties.file, {
      type: 'string',
      format: 'binary',
      description: 'the file as a file part',
    });
    const query = operation.parameters.filter((p: any) => p.in === 'query').map((p: any) => p.name);
    assert.ok(query.includes('textDetBoxThresh') && query.includes('fileType') && !query.includes('file'), query.join());
  });
});

describe('classification: multipart and raw uploads', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ pipelines: [await fixturePipelineYaml('image_classification', await classifierFixtureDir())] });
  });
  after(() => server?.close());

  test('JSON, multipart and raw bodies give one result; topk comes as a form value and a query parameter', async () => {
    const image = await readFile(path.join(SKIMAGE_DATA, 'chelsea.png'));
    const url = `${server.url}/image-classification`;
    const json = assertSuccess(await postJson(url, { image: b64(image), topk: 2, visualize: true }));
    assert.equal(json.categories.length, 2);
    const multipart = assertSuccess(
      await send(url, form({ topk: '2', visualize: 'yes' }, { name: 'image', bytes: image, type: 'image/png', filename: 'cat.png' })),
    );
    const raw = assertSuccess(await send(`${url}?topk=2&visualize=on`, image, 'image/png'));
    assert.deepEqual(multipart, json);
    assert.deepEqual(raw, json);
    assert.match(assertErrorEnvelope(await send(url, image, 'application/pdf'), 415), /image\/\*/);
  });
});

/** Sends `total` bytes of a multipart body (declared or chunked) and reports how much was sent when the answer came. */
function uploadUntilAnswered(
  url: string,
  total: number,
  declareLength: boolean,
): Promise<{ status: number; body: any; sentBytes: number }> {
  const boundary = 'pipeserveBoundary';
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="big.png"\r\nContent-Type: image/png\r\n\r\n`,
  );
  const chunk = Buffer.alloc(1 << 20, 0x41);
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const headers: http.OutgoingHttpHeaders = { 'content-type': `multipart/form-data; boundary=${boundary}` };
    if (declareLength) headers['content-length'] = total;
    const request = http.request(`${url}/image-classification`, { method: 'POST', headers }, (res) => {
      answered = true;
      const sentBytes = sent;
      let text = '';
      res.setEncoding('utf8').on('data', (d) => (text += d));
      res.on('end', () => {
        request.destroy();
        resolve({ status: res.statusCode!, body: JSON.parse(text), sentBytes });
      });
    });
    request.on('error', (err) => {
      if (!answered) reject(err);
    });
    const pump = () => {
      while (!answered && sent < total) {
        const piece = sent === 0 ? head : chunk.subarray(0, Math.min(chunk.length, total - sent));
        sent += piece.length;
        if (!request.write(piece)) return void request.once('drain', pump);
      }
      if (!answered) request.end();
    };
    pump();
  });
}

describe('a 200 MB multipart upload (server process with its own TMPDIR)', () => {
  test('is refused with 413 early, declared or chunked, and nothing is written to disk', async () => {
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'pipeserve-upload-tmp-'));
    const yaml = await fixturePipelineYaml('image_classification', await classifierFixtureDir());
    const server = await startServerProcess(['--pipeline', yaml, '--workers', '1'], { TMPDIR: tmp });
    // what the server's libraries leave there at startup is theirs; the uploads must add nothing
    const atStartup = await readdir(tmp);
    try {
      const declared = await uploadUntilAnswered(server.url, 200 * 2 ** 20, true);
      assert.equal(declared.status, 413);
      assert.match(assertErrorEnvelope(declared, 413), /100 MB \(--max-body-mb\)/);
      // refused from the headers: what was sent is what the socket buffers took before the answer
      assert.ok(declared.sentBytes < 40 * 2 ** 20, `sent ${declared.sentBytes} bytes before the 413`);

      const chunked = await uploadUntilAnswered(server.url, 200 * 2 ** 20, false);
      assert.equal(chunked.status, 413);
      // read up to the cap (100 MB), then refused: far less than the 200 MB offered
      assert.ok(chunked.sentBytes < 140 * 2 ** 20, `sent ${chunked.sentBytes} bytes before the 413`);
      assert.deepEqual(await readdir(tmp), atStartup);
      const health = await fetch(`${server.url}/health`);
      assert.equal(health.status, 200);
    } finally {
      await server.stop();
      await rm(tmp, { recursive: true, force: true });
    }
  });
});
