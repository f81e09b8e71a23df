/**
 * Issue 8's hostile-input battery: malformed, nested and huge JSON, bad Base64, truncated and bomb
 * images and PDFs, SSRF URLs and slow URLs, each against /ocr and /object-detection. Every answer must
 * be a PaddleX-shaped 4xx envelope with the expected status, /health must answer within 100 ms
 * throughout, and both endpoints must still serve afterwards.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { detectorFixtureDir, fixturePipelineYaml } from './helpers/fixtures.js';
import { assertHealthy, type HealthProbe, startHealthProbe } from './helpers/healthProbe.js';
import { encryptedPdf, makePdf, pngBomb, startTestServer, truncatedJpeg, type TestServer, zeroPagePdf } from './helpers/inputs.js';
import { OPENCV_DATA, SHARED_MODELS } from './helpers/paths.js';
import { connectRaw, parseRawResponse } from './helpers/rawHttp.js';
import { startServerProcess, type ServerProcess } from './helpers/cli.js';
import { assertErrorEnvelope, type JsonResponse } from './helpers/server.js';

type Endpoint = '/ocr' | '/object-detection';
const ENDPOINTS: Endpoint[] = ['/ocr', '/object-detection'];
/** The input field of each endpoint (PaddleX: `file` for documents, `image` for image pipelines). */
const FIELD: Record<Endpoint, string> = { '/ocr': 'file', '/object-detection': 'image' };

interface HostileCase {
  name: string;
  /** the request body: raw text/bytes, or a JSON value made for the endpoint's input field */
  body: (field: string, endpoint: Endpoint) => string | Buffer | object;
  contentType?: string;
  status: number;
  /** what errorMsg must say */
  says?: RegExp;
  /** 'private': the server that may fetch loopback URLs (for the slow-URL cases) */
  server?: 'private';
  endpoints?: Endpoint[];
}

const b64 = (bytes: Uint8Array | Buffer | string) => Buffer.from(bytes).toString('base64');
const nested = (open: string, close: string, inner: string, depth: number) => `${open.repeat(depth)}${inner}${close.repeat(depth)}`;

/** A PNG header claiming 100000×100000 pixels, with no pixel data. */
function pngHeaderOnly(): Buffer {
  const png = Buffer.alloc(33);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(png, 0);
  png.writeUInt32BE(13, 8);
  png.write('IHDR', 12, 'ascii');
  png.writeUInt32BE(100_000, 16);
  png.writeUInt32BE(100_000, 20);
  png.set([8, 2, 0, 0, 0], 24);
  return png;
}

/** A BMP header claiming 60000×60000 pixels, with 16 bytes of pixel data. */
function bmpHeaderOnly(): Buffer {
  const bmp = Buffer.alloc(70);
  bmp.write('BM', 0, 'ascii');
  bmp.writeUInt32LE(bmp.length, 2);
  bmp.writeUInt32LE(54, 10);
  bmp.writeUInt32LE(40, 14);
  bmp.writeInt32LE(60_000, 18);
  bmp.writeInt32LE(60_000, 22);
  bmp.writeUInt16LE(1, 26);
  bmp.writeUInt16LE(24, 28);
  return bmp;
}

describe('hostile-input battery: /ocr and /object-detection', () => {
  let server: ServerProcess;
  let privateServer: ServerProcess;
  let files: TestServer;
  let probe: HealthProbe;
  const inputs: Record<string, Uint8Array> = {};

  const cases: HostileCase[] = [
    // malformed JSON and non-JSON bodies
    { name: 'empty body', body: () => '', status: 422, says: /Field required/ },
    { name: 'JSON null', body: () => 'null', status: 422, says: /valid dictionary/ },
    { name: 'JSON array', body: () => '[]', status: 422, says: /valid dictionary/ },
    { name: 'JSON string', body: () => '"file"', status: 422, says: /valid dictionary/ },
    { name: 'JSON number', body: () => '12345', status: 422, says: /valid dictionary/ },
    { name: 'truncated JSON', body: (f) => `{"${f}": "abc`, status: 422, says: /json_invalid/ },
    { name: 'trailing comma', body: (f) => `{"${f}": "abc",}`, status: 422, says: /json_invalid/ },
    { name: 'single quotes', body: (f) => `{'${f}': 'abc'}`, status: 422, says: /json_invalid/ },
    { name: 'NaN literal', body: (f) => `{"${f}": NaN}`, status: 422, says: /json_invalid/ },
    { name: 'raw control character in a string', body: (f) => `{"${f}": "a\u0000b"}`, status: 422, says: /json_invalid/ },
    {
      name: 'lone surrogate escape',
      body: (f, e) => `{"${f}": "\\ud800"${e === '/ocr' ? ', "fileType": 1' : ''}}`,
      status: 422,
      says: /Base64/,
    },
    {
      name: 'invalid UTF-8 bytes',
      body: (f) => Buffer.concat([Buffer.from(`{"${f}": "`), Buffer.from([0xff, 0xc0, 0x80]), Buffer.from('"}')]),
      status: 400,
      says: /UTF-8/,
    },
    { name: 'UTF-16 encoded body', body: (f) => Buffer.from(`{"${f}": "abc"}`, 'utf16le'), status: 422, says: /json_invalid/ },
    {
      name: 'form-urlencoded body',
      body: (f) => `${f}=abc&visualize=false`,
      contentType: 'application/x-www-form-urlencoded',
      status: 422,
      says: /json_invalid/,
    },
    {
      // multipart is a supported upload form: a file part that is no image is refused as JSON's would be
      name: 'multipart file part that is not an image',
      body: (f) =>
        `--b\r\nContent-Disposition: form-data; name="${f}"; filename="x.png"\r\nContent-Type: image/png\r\n\r\nabc\r\n--b--\r\n`,
      contentType: 'multipart/form-data; boundary=b',
      status: 422,
      says: /not a decodable image/,
    },
    { name: 'text/plain garbage', body: () => 'hello there', contentType: 'text/plain', status: 422, says: /json_invalid/ },
    // nested and huge JSON
    { name: '100,000 nested arrays', body: () => nested('[', ']', '', 100_000), status: 422, says: /nested deeper than 128/ },
    { name: '100,000 nested objects', body: () => nested('{"a":', '}', '0', 100_000), status: 422, says: /nested deeper than 128/ },
    {
      name: '1,000 nested arrays in the input field',
      body: (f) => `{"${f}": ${nested('[', ']', '', 1000)}}`,
      status: 422,
      says: /nested deeper than 128/,
    },
    {
      name: '100 nested arrays in the input field',
      body: (f) => `{"${f}": ${nested('[', ']', '', 100)}}`,
      status: 422,
      says: /valid string/,
    },
    {
      name: '2 MB array in the input field',
      body: (f) => `{"${f}": [${'0,'.repeat(1024 * 1024)}0]}`,
      status: 422,
      says: /more than 10000 array items/,
    },
    {
      name: '20,000 object members',
      body: (f) => `{"${f}": "x", ${Array.from({ length: 20_000 }, (_, i) => `"k${i}": 0`).join(', ')}}`,
      status: 422,
      says: /more than 10000/,
    },
    { name: '2 MB of whitespace', body: (f) => `{"${f}": "x"${' '.repeat(2 * 1024 * 1024)}}`, status: 422, says: /bytes outside strings/ },
    { name: '1 MB of escaped quotes', body: (f) => `{"${f}": "${'\\"'.repeat(512 * 1024)}"}`, status: 422, says: /escaped quotes/ },
    // wrong types and values
    { name: '__proto__ smuggling the input field', body: (f) => `{"__proto__": {"${f}": "abc"}}`, status: 422, says: /Field required/ },
    { name: 'input field is a number', body: (f) => ({ [f]: 12345 }), status: 422, says: /valid string/ },
    { name: 'input field is an object', body: (f) => ({ [f]: { data: 'abc' } }), status: 422, says: /valid string/ },
    { name: 'input field is null', body: (f) => ({ [f]: null }), status: 422, says: /valid string/ },
    { name: 'visualize is a string', body: (f) => ({ [f]: 'abc', visualize: 'yes' }), status: 422, says: /valid boolean/ },
    {
      name: 'a threshold of 1e999 (Infinity)',
      body: (f, e) => `{"${f}": "abc", "${e === '/ocr' ? 'textDetThresh' : 'threshold'}": 1e999}`,
      status: 422,
    },
    { name: 'megabyte-long field name', body: (f) => ({ [f]: 'abc', ['k'.repeat(2 ** 20)]: 1 }), status: 422 },
    // bad Base64
    { name: 'Base64 with illegal characters', body: (f) => ({ [f]: 'aGVs*bG8=' }), status: 422, says: /illegal character/ },
    { name: 'Base64 of impossible length', body: (f) => ({ [f]: 'A' }), status: 422, says: /not a possible length/ },
    { name: 'Base64 with misplaced padding', body: (f) => ({ [f]: 'aGk=aGk=' }), status: 422, says: /misplaced/ },
    { name: 'empty input', body: (f) => ({ [f]: '' }), status: 422, says: /empty/ },
    { name: 'data URI without data', body: (f) => ({ [f]: 'data:image/png;base64,' }), status: 422, says: /empty/ },
    { name: 'Base64 of text', body: (f) => ({ [f]: b64('hello, I am not an image') }), status: 422 },
    { name: '1 MB of Base64 zeros', body: (f) => ({ [f]: b64(Buffer.alloc(2 ** 20)) }), status: 422 },
    // truncated and bomb images
    { name: 'truncated JPEG', body: (f) => ({ [f]: b64(inputs.truncatedJpeg!) }), status: 422, says: /truncated|corrupt/ },
    {
      name: 'PNG decompression bomb (30000×30000)',
      body: (f) => ({ [f]: b64(inputs.pngBomb!) }),
      status: 422,
      says: /30000×30000 pixels exceeds/,
    },
    { name: 'PNG header claiming 100000×100000', body: (f) => ({ [f]: b64(pngHeaderOnly()) }), status: 422 },
    {
      name: 'BMP header claiming 60000×60000',
      body: (f) => ({ [f]: b64(bmpHeaderOnly()) }),
      status: 422,
      says: /60000×60000 pixels exceeds/,
    },
    {
      name: 'JPEG start marker then garbage',
      body: (f) => ({ [f]: b64(Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.alloc(500, 0x41)])) }),
      status: 422,
    },
    {
      name: 'SVG image',
      body: (f) => ({
        [f]: b64('<svg xmlns="http://www.w3.org/2000/svg" width="50000" height="50000"><image href="file:///etc/passwd"/></svg>'),
      }),
      status: 422,
    },
    // truncated and bomb PDFs
    {
      name: 'truncated PDF',
      body: (f) => ({ [f]: b64(inputs.pdf!.subarray(0, inputs.pdf!.length >> 1)), fileType: 0 }),
      status: 422,
      endpoints: ['/ocr'],
    },
    {
      name: 'PDF header then garbage',
      body: (f) => ({ [f]: b64(`%PDF-1.7\n${'x'.repeat(1000)}`), fileType: 0 }),
      status: 422,
      says: /not a readable PDF/,
      endpoints: ['/ocr'],
    },
    {
      name: 'encrypted PDF',
      body: (f) => ({ [f]: b64(inputs.encryptedPdf!), fileType: 0 }),
      status: 422,
      says: /encrypted/,
      endpoints: ['/ocr'],
    },
    {
      name: 'PDF without pages',
      body: (f) => ({ [f]: b64(zeroPagePdf()), fileType: 0 }),
      status: 422,
      says: /no pages/,
      endpoints: ['/ocr'],
    },
    {
      name: 'PDF page of 14400×14400 pt (pixel bomb)',
      body: (f) => ({ [f]: b64(inputs.hugePagePdf!), fileType: 0 }),
      status: 422,
      says: /exceeds the limit/,
      endpoints: ['/ocr'],
    },
    { name: 'JPEG sent as fileType 0 (PDF)', body: (f) => ({ [f]: b64(inputs.jpeg!), fileType: 0 }), status: 422, endpoints: ['/ocr'] },
    { name: 'fileType 2', body: (f) => ({ [f]: b64(inputs.jpeg!), fileType: 2 }), status: 422, says: /literal_error/, endpoints: ['/ocr'] },
    { name: 'PDF sent to an image endpoint', body: (f) => ({ [f]: b64(inputs.pdf!) }), status: 422, endpoints: ['/object-detection'] },
    // SSRF URLs (refused before any connection; nothing listens on these ports anyway)
    ...[
      'http://127.0.0.1:9/a.jpg',
      'http://localhost:9/a.jpg',
      'http://[::1]:9/a.jpg',
      'http://[::127.0.0.1]:9/a.jpg',
      'http://[::7f00:1]:9/a.jpg',
      'http://[::ffff:127.0.0.1]:9/a.jpg',
      'http://[::ffff:7f00:1]:9/a.jpg',
      'http://0x7f000001:9/a.jpg',
      'http://2130706433:9/a.jpg',
      'http://169.254.169.254/latest/meta-data/',
      'http://[::a9fe:a9fe]/latest/meta-data/',
      'http://10.0.0.1:9/a.jpg',
      'http://0:9/a.jpg',
      'http://user:pass@127.0.0.1:9/a.jpg',
    ].map((url): HostileCase => ({ name: `SSRF ${url}`, body: (f) => ({ [f]: url }), status: 422, says: /private\/loopback/ })),
    { name: 'file:// URL', body: (f) => ({ [f]: 'file:///etc/passwd' }), status: 422, says: /Base64/ },
    { name: 'gopher:// URL', body: (f) => ({ [f]: 'gopher://127.0.0.1:25/' }), status: 422, says: /Base64/ },
    // slow and hostile URLs (a server that may fetch loopback, with the default 10 s / 50 MB fetch budget)
    ...(
      [
        ['never answers', '/never', /timed out after 10000 ms/],
        ['trickles its body', '/trickle', /timed out after 10000 ms/],
        ['declares 64 MB', '/huge', /larger than 50 MB/],
        ['404', '/missing', /HTTP status 404/],
        ['redirect loop', '/loop', /too many redirects/],
        ['redirect to file://', '/to-file', /only http and https/],
        ['serves a PNG bomb', '/bomb.png', /30000×30000 pixels exceeds/],
        ['serves HTML', '/page.html', /./],
      ] as const
    ).map(
      ([what, route, says]): HostileCase => ({
        name: `URL that ${what}`,
        body: (f) => ({ [f]: `${files.url}${route}` }),
        status: 422,
        says,
        server: 'private',
      }),
    ),
  ];

  before(async () => {
    inputs.truncatedJpeg = await truncatedJpeg();
    inputs.pngBomb = await pngBomb();
    inputs.jpeg = new Uint8Array(await readFile(path.join(SHARED_MODELS, 'PicoDet-XS/dog.jpg')));
    inputs.pdf = await makePdf([['Hostile battery']]);
    inputs.encryptedPdf = await encryptedPdf();
    const { PDFDocument } = await import('pdf-lib');
    const huge = await PDFDocument.create();
    huge.addPage([14400, 14400]);
    inputs.hugePagePdf = await huge.save();

    const routes: Record<string, http.RequestListener> = {
      '/never': () => undefined,
      '/trickle': (_req, res) => {
        res.writeHead(200);
        const timer = setInterval(() => res.write('x'), 50);
        res.on('close', () => clearInterval(timer));
      },
      '/huge': (_req, res) => {
        res.writeHead(200, { 'content-length': String(64 * 2 ** 20) });
        res.on('error', () => undefined);
        res.write(Buffer.alloc(2 ** 20));
      },
      '/loop': (_req, res) => res.writeHead(302, { location: '/loop' }).end(),
      '/to-file': (_req, res) => res.writeHead(301, { location: 'file:///etc/passwd' }).end(),
      '/bomb.png': (_req, res) => res.end(inputs.pngBomb),
      '/page.html': (_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>not an image</body></html>'),
    };
    files = await startTestServer((req, res) => {
      const route = routes[req.url ?? ''];
      if (route) return route(req, res);
      res.statusCode = 404;
      res.end();
    });
    const detector = await fixturePipelineYaml('object_detection', detectorFixtureDir());
    // server processes of their own, so that /health measures them and not this test's own work
    const args = ['--pipeline', 'OCR', '--pipeline', detector, '--workers', '1'];
    [server, privateServer] = await Promise.all([
      startServerProcess([...args, '--max-body-mb', '8']),
      startServerProcess([...args, '--allow-private-urls']),
    ]);
    probe = await startHealthProbe(server.url);
  });
  after(async () => {
    await probe?.stop();
    await server?.stop();
    await privateServer?.stop();
    await files?.close();
  });

  async function send(c: HostileCase, endpoint: Endpoint): Promise<JsonResponse> {
    const made = c.body(FIELD[endpoint], endpoint);
    // /ocr needs fileType for Base64 input (PaddleX); 1 = image, unless the case sets it
    const json = (value: object) => JSON.stringify(endpoint === '/ocr' ? { fileType: 1, ...value } : value);
    const body = typeof made === 'string' || Buffer.isBuffer(made) ? made : json(made);
    const target = c.server === 'private' ? privateServer : server;
    const res = await fetch(`${target.url}${endpoint}`, {
      method: 'POST',
      headers: { 'content-type': c.contentType ?? 'application/json' },
      body: new Uint8Array(Buffer.from(body)),
    });
    const text = await res.text();
    try {
      return { status: res.status, body: JSON.parse(text) };
    } catch {
      assert.fail(`HTTP ${res.status} with a body that is not JSON: ${text.slice(0, 200)}`);
    }
  }

  const runs = cases.flatMap((c) => (c.endpoints ?? ENDPOINTS).map((endpoint) => ({ c, endpoint })));
  test(`the battery has at least 50 cases (${cases.length} + the 413 case, ${runs.length + 2} requests)`, () => {
    assert.ok(cases.length + 1 >= 50);
  });

  for (const { c, endpoint } of runs) {
    test(`${endpoint}: ${c.name} → ${c.status}`, async () => {
      const res = await send(c, endpoint);
      const message = assertErrorEnvelope(res, c.status);
      if (c.says) assert.match(message, c.says);
      assert.ok(message.length <= 16 * 1024, `errorMsg is ${message.length} characters`);
    });
  }

  // Answered before the body is read, and the connection closed (a raw socket, since a client still
  // uploading may see the close before the answer).
  for (const endpoint of ENDPOINTS) {
    test(`${endpoint}: a body declared larger than --max-body-mb → 413 at once`, async () => {
      const client = await connectRaw(server.url);
      client.write(
        `POST ${endpoint} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${9 * 2 ** 20}\r\n\r\n{"${FIELD[endpoint]}": "`,
      );
      await client.closed;
      assert.match(assertErrorEnvelope(parseRawResponse(client.received()), 413), /8 MB \(--max-body-mb\)/);
    });
  }

  test('/health answered within 100 ms throughout, and both endpoints still serve', async () => {
    const report = await probe.stop();
    assertHealthy(report, 100, 20);
    const messi = b64(await readFile(path.join(OPENCV_DATA, 'messi5.jpg')));
    for (const target of [server, privateServer]) {
      for (const endpoint of ENDPOINTS) {
        const res = await fetch(`${target.url}${endpoint}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          // Base64 input needs fileType on /ocr (PaddleX: "File type cannot be determined" otherwise)
          body: JSON.stringify({ [FIELD[endpoint]]: messi, ...(endpoint === '/ocr' ? { fileType: 1 } : {}), visualize: false }),
        });
        assert.equal(res.status, 200, `${endpoint}: ${(await res.text()).slice(0, 300)}`);
      }
    }
    assert.doesNotMatch(server.log() + privateServer.log(), /Unhandled exception|ERROR/);
  });
});
