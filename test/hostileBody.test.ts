/**
 * Issue 14 items 1 and 2: one request body must not stall or kill the server. Parse cost is checked
 * before JSON.parse (depth, values, bytes outside strings), errors echo little, /health keeps answering.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { ApiError } from '../src/errors.js';
import { DEFAULT_JSON_BODY_LIMITS, JsonBodyWithFile, readJsonBody } from '../src/serving/basic/jsonBody.js';
import { MAX_ERROR_MESSAGE_CHARS, MAX_LISTED_ERRORS, type ValidationError, validateBody } from '../src/serving/validation.js';
import { startServerProcess, type ServerProcess } from './helpers/cli.js';
import { assertHealthy, startHealthProbe } from './helpers/healthProbe.js';
import { makePdf } from './helpers/inputs.js';
import { assertErrorEnvelope, postJson, startServer, type JsonResponse, type RunningServer } from './helpers/server.js';

/** `[0,0,…,0]` of exactly `bytes` bytes (odd), built natively so the test thread stays free. */
function zeroArray(bytes: number): Buffer {
  const body = Buffer.alloc(bytes | 1, ',0');
  body[0] = 0x5b; // '[' replaces the first ','
  body[body.length - 1] = 0x5d; // ']' replaces the last ','
  return body;
}

async function postBytes(url: string, body: Buffer | string, contentType = 'application/json'): Promise<JsonResponse> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': contentType }, body: new Uint8Array(Buffer.from(body)) });
  return { status: res.status, body: await res.json() };
}

const LIMITS = { ...DEFAULT_JSON_BODY_LIMITS, maxBytes: 100 * 2 ** 20 };

/** POST raw bytes; also how long the answer took after the last byte was handed to the kernel. */
function postTimed(url: string, body: Buffer): Promise<JsonResponse & { afterUploadMs: number }> {
  return new Promise((resolve, reject) => {
    let uploaded = 0;
    const req = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      const answered = performance.now();
      let text = '';
      res.setEncoding('utf8').on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text), afterUploadMs: answered - uploaded }));
    });
    req.on('error', reject);
    req.end(body, () => (uploaded = performance.now()));
  });
}

/** The body as the server reads it, in chunks of `chunkBytes` (default: one chunk), for an endpoint whose input file is `fileField`. */
function parse(body: string | Buffer, chunkBytes?: number, fileField?: string): Promise<unknown> {
  const bytes = Buffer.from(body);
  const size = chunkBytes ?? Math.max(1, bytes.length);
  const chunks = Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => bytes.subarray(i * size, (i + 1) * size));
  return readJsonBody(Readable.from(chunks), Number.NaN, LIMITS, fileField);
}

async function refused(body: string | Buffer, chunkBytes?: number): Promise<ApiError> {
  try {
    await parse(body, chunkBytes);
  } catch (err) {
    assert.ok(err instanceof ApiError, `expected an ApiError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the body to be refused');
}

/** The `ctx.error` of a json_invalid 422. */
async function jsonError(body: string | Buffer, chunkBytes?: number): Promise<string> {
  const err = await refused(body, chunkBytes);
  assert.equal(err.status, 422);
  const [error] = JSON.parse(err.message);
  assert.equal(error.type, 'json_invalid');
  return error.ctx.error;
}

function thrown(run: () => unknown): ApiError {
  try {
    run();
  } catch (err) {
    assert.ok(err instanceof ApiError, `expected an ApiError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected an error');
}

describe('readJsonBody: what a body may cost is checked as it arrives, before JSON.parse', () => {
  test('ordinary bodies parse, also a byte at a time; a leading BOM is accepted; whitespace only is no body', async () => {
    const text = '{"file": "a\\"b\\\\", "é": "\\\\\\"", "n": [1, 2.5e3, null]}';
    const expected = { file: 'a"b\\', é: '\\"', n: [1, 2500, null] };
    assert.deepEqual(await parse(text), expected);
    assert.deepEqual(await parse(text, 1), expected, 'escapes and UTF-8 split across chunks');
    assert.deepEqual(await parse('\uFEFF{"a": 1}'), { a: 1 });
    assert.equal(await parse(' \r\n\t '), undefined);
  });

  test('nesting beyond the documented depth is refused, at any depth', async () => {
    const limit = DEFAULT_JSON_BODY_LIMITS.maxDepth;
    const nested = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
    assert.ok(Array.isArray(await parse(nested(limit))));
    for (const depth of [limit + 1, 100_000, 5_000_000]) {
      const err = await refused(nested(depth));
      assert.equal(err.status, 422);
      const [error] = JSON.parse(err.message);
      assert.match(error.ctx.error, new RegExp(`nested deeper than ${limit} levels`));
      assert.deepEqual(error.loc, ['body', limit]);
    }
    // brackets inside strings do not count
    assert.deepEqual(await parse(`{"file": "${'['.repeat(10_000)}"}`, 1000), { file: '['.repeat(10_000) });
  });

  test('too many values, too much structure, escaped-quote floods; over the size limit', async () => {
    assert.match(await jsonError(zeroArray(1024 * 1024), 65536), /more than 10000 array items and object members/);
    assert.match(await jsonError(`{"a": 1${' '.repeat(2 * 1024 * 1024)}}`), /more than 1048576 bytes outside strings/);
    assert.match(await jsonError(`{"file": "${'\\"'.repeat(1024 * 1024)}"}`, 65536), /escaped quotes/);
    // a long string is content, not structure
    const image = 'QUFB'.repeat(8 * 1024 * 1024);
    assert.equal(((await parse(`{"file": "${image}"}`, 65536)) as { file: string }).file.length, image.length);
    const small = { ...LIMITS, maxBytes: 1000 };
    await assert.rejects(readJsonBody(Readable.from([Buffer.alloc(600), Buffer.alloc(600)]), Number.NaN, small), /larger than/);
    await assert.rejects(readJsonBody(Readable.from([]), 5000, small), (err: ApiError) => err.status === 413);
  });

  test('invalid UTF-8 is a 400 (as FastAPI), malformed JSON a json_invalid 422 with its position', async () => {
    const invalid = await refused(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]));
    assert.equal(invalid.status, 400);
    assert.match(invalid.message, /not valid UTF-8/);
    const cut = Buffer.from('{"a": "é"}').subarray(0, 8); // ends inside a two-byte character
    assert.equal((await refused(cut)).status, 400);
    const truncated = await refused('{"file": "abc", ');
    const [error] = JSON.parse(truncated.message);
    assert.equal(error.type, 'json_invalid');
    assert.equal(error.loc[1], 16);
  });
});

describe('readJsonBody: long strings are cut out before JSON.parse and the input file decoded from the bytes', () => {
  const file = Buffer.from(Array.from({ length: 100_000 }, (_, i) => (i * 7919) % 256));
  const long = 'x'.repeat(40_000);

  test('canonical Base64 in the file field arrives as bytes; other long strings, anywhere, as they were', async () => {
    const urlSafe = file.toString('base64url');
    for (const encoded of [file.toString('base64'), urlSafe.padEnd(Math.ceil(urlSafe.length / 4) * 4, '=')]) {
      const text = JSON.stringify({ note: long, image: encoded, nested: [{ deep: `${long}é` }, long], visualize: false });
      for (const chunkBytes of [undefined, 1000, 65_536]) {
        const parsed = await parse(text, chunkBytes, 'image');
        assert.ok(parsed instanceof JsonBodyWithFile, 'the file was decoded');
        assert.deepEqual(Buffer.from(parsed.bytes), file);
        const { image, ...rest } = parsed.value;
        assert.equal(image, parsed.placeholder);
        assert.deepEqual(rest, { note: long, nested: [{ deep: `${long}é` }, long], visualize: false });
        // without a file field every string is the body's own
        assert.deepEqual(await parse(text, chunkBytes), JSON.parse(text));
      }
    }
  });

  test('anything but canonical Base64 stays a string, for decodeBase64 to check and report', async () => {
    const base64 = file.toString('base64');
    for (const image of [
      `data:image/png;base64,${base64}`,
      `${base64.slice(0, 20_000)} ${base64.slice(20_000)}`,
      base64.replace(/=+$/, '').slice(0, -1),
      `${base64.slice(0, 20_000)}=${base64.slice(20_001)}`,
      `${base64.slice(0, 20_000)}*${base64.slice(20_001)}`,
      `https://example.com/${'a'.repeat(20_000)}.png`,
    ]) {
      const text = JSON.stringify({ image, visualize: false });
      assert.deepEqual(await parse(text, 4096, 'image'), JSON.parse(text), image.slice(0, 40));
    }
    // escapes in a long string: not cut, parsed as JSON says
    const escaped = `{"image": "${'ab\\n'.repeat(10_000)}"}`;
    assert.deepEqual(await parse(escaped, 4096, 'image'), JSON.parse(escaped));
  });

  test('a long string still makes the body invalid where JSON.parse says so, with the same position', async () => {
    for (const text of [`{"image": "${long}\t${long}"}`, `{"image": "${long}", "x": }`, `{"image": "${long}"`]) {
      const expected = (() => {
        try {
          JSON.parse(text);
        } catch (err) {
          return (err as Error).message;
        }
        assert.fail(`${text.slice(-20)} parses`);
      })();
      assert.equal(await jsonError(text, 4096), expected);
      const err = await refused(Buffer.from(text), 4096);
      assert.equal(err.status, 422);
    }
    const invalidUtf8 = Buffer.concat([Buffer.from(`{"image": "${long}`), Buffer.from([0xff]), Buffer.from(`${long}"}`)]);
    assert.equal((await refused(invalidUtf8, 4096)).status, 400);
  });
});

describe('validation errors stay small whatever the input', () => {
  const schema = z.object({ file: z.string(), threshold: z.record(z.string(), z.number()).optional() });

  test('thousands of errors: at most MAX_LISTED_ERRORS listed, then a count', () => {
    const threshold = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [String(i), 'high']));
    const err = thrown(() => validateBody(schema, { file: 'x', threshold })) as ValidationError;
    const listed = JSON.parse(err.message);
    assert.equal(listed.length, MAX_LISTED_ERRORS + 1);
    assert.deepEqual(listed.at(-1), {
      type: 'too_many_errors',
      loc: ['body'],
      msg: `${5000 - MAX_LISTED_ERRORS} more errors not listed`,
      input: null,
    });
    assert.ok(err.message.length <= MAX_ERROR_MESSAGE_CHARS);
  });

  test('echoed inputs are cut: long strings and keys, big and deep containers', () => {
    const deep = JSON.parse(`${'{"a":'.repeat(120)}1${'}'.repeat(120)}`);
    const zeros = Array.from({ length: 100_000 }, () => 0);
    const body = { zeros, deep, ['k'.repeat(1_000_000)]: 'v'.repeat(1_000_000) };
    const notString = JSON.parse(thrown(() => validateBody(schema, { ...body, file: zeros })).message);
    assert.deepEqual(notString[0].input, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '...']);
    const missing = thrown(() => validateBody(schema, body));
    assert.ok(missing.message.length < 2000, `${missing.message.length} characters`);
    const echoed = JSON.parse(missing.message)[0].input;
    assert.equal(echoed.deep, '{...}');
    assert.equal(echoed.zeros, '[...]');
    const badKey = thrown(() => validateBody(schema, { file: 'x', threshold: { ['c'.repeat(1_000_000)]: 'x' } }));
    assert.ok(badKey.message.length < 1000, `${badKey.message.length} characters`);
    const topLevel = thrown(() =>
      validateBody(
        schema,
        Array.from({ length: 1_000_000 }, () => 0),
      ),
    );
    assert.ok(topLevel.message.length < 1000);
  });
});

describe('the HTTP thread keeps the native JSON functions (no PDF library on it)', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ pipelines: ['OCR'], workers: 1 });
  });
  after(() => server?.close());

  test('after startup and after serving a PDF, JSON.stringify and JSON.parse are native', async () => {
    const res = await postJson(`${server.url}/ocr`, {
      file: Buffer.from(await makePdf([['Native JSON']])).toString('base64'),
      fileType: 0,
      visualize: false,
    });
    assert.equal(res.status, 200);
    assert.match(Function.prototype.toString.call(JSON.stringify), /\{\s*\[native code\]\s*\}/);
    assert.match(Function.prototype.toString.call(JSON.parse), /\{\s*\[native code\]\s*\}/);
  });
});

describe('OCR server process: hostile bodies get small, fast errors while /health answers (issue 14 items 1, 2)', () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServerProcess(['--pipeline', 'OCR', '--workers', '1']);
  });
  after(() => server?.stop());

  for (const megabytes of [10, 40]) {
    test(`a ${megabytes} MB [0,0,…] body: small 422 at once, /health within 100 ms throughout`, async () => {
      const body = zeroArray(megabytes * 2 ** 20);
      const probe = await startHealthProbe(server.url);
      await new Promise((r) => setTimeout(r, 200));
      const res = await postTimed(`${server.url}/ocr`, body);
      await new Promise((r) => setTimeout(r, 200));
      const report = await probe.stop();
      const message = assertErrorEnvelope(res, 422);
      assert.ok(message.length < 500, `errorMsg is ${message.length} characters`);
      assert.match(JSON.parse(message)[0].ctx.error, /more than 10000 array items/);
      // refused at its 20,000th byte; the answer waits only for the client to finish sending
      assert.ok(res.afterUploadMs < 1000, `answered ${res.afterUploadMs.toFixed(0)} ms after the upload`);
      assertHealthy(report, 100, 5);
    });
  }

  test('100,000 nested arrays or objects, at top level or in a field: a 422 envelope', async () => {
    const probe = await startHealthProbe(server.url);
    for (const body of [
      `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
      `${'{"a":'.repeat(100_000)}0${'}'.repeat(100_000)}`,
      `{"file": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`,
      '['.repeat(100_000), // unterminated too
    ]) {
      const res = await postBytes(`${server.url}/ocr`, body);
      assert.match(JSON.parse(assertErrorEnvelope(res, 422))[0].ctx.error, /nested deeper than 128 levels/);
    }
    assertHealthy(await probe.stop(), 100, 1);
  });

  test('invalid UTF-8 is a 400 envelope, a wrong content type still a JSON error, multipart a form', async () => {
    const bytes = Buffer.concat([Buffer.from('{"file": "'), Buffer.from([0xc3, 0x28, 0xa0, 0xa1]), Buffer.from('"}')]);
    assert.match(assertErrorEnvelope(await postBytes(`${server.url}/ocr`, bytes), 400), /not valid UTF-8/);
    const form = await postBytes(`${server.url}/ocr`, 'file=abc&fileType=1', 'application/x-www-form-urlencoded');
    assert.equal(JSON.parse(assertErrorEnvelope(form, 422))[0].type, 'json_invalid');
    const multipart = await postBytes(
      `${server.url}/ocr`,
      '--x\r\nContent-Disposition: form-data; name="file"\r\n\r\nabc\r\n--x--\r\n',
      'multipart/form-data; boundary=x',
    );
    // multipart/form-data is an upload form (README): its `file` value "abc" is checked as the JSON one would be
    assert.match(assertErrorEnvelope(multipart, 422), /File type cannot be determined/);
    assert.equal((await fetch(`${server.url}/health`)).status, 200);
  });
});
