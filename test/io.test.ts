import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { DEFAULT_MAX_PIXELS, decodeImage, encodeJpeg, encodePng } from '../src/io/codec.js';
import { DEFAULT_FETCH_LIMITS, fetchUrl, isForbiddenAddress, type FetchLimits } from '../src/io/fetchUrl.js';
import { resolveFileType } from '../src/io/fileType.js';
import type { RgbImage } from '../src/io/image.js';
import { decodeBase64, isUrl } from '../src/io/input.js';
import { rejects422 } from './helpers/assertions.js';
import { PNG_BOMB_SIDE, makeBmp, pngBomb, startTestServer, truncatedJpeg, type TestServer } from './helpers/inputs.js';

function pixel(img: RgbImage, x: number, y: number): [number, number, number] {
  const i = (y * img.width + x) * 3;
  return [img.data[i], img.data[i + 1], img.data[i + 2]];
}

function solid(width: number, height: number, rgb: [number, number, number]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i += 3) data.set(rgb, i);
  return { width, height, data };
}

describe('isUrl (PaddleX semantics)', () => {
  test('http(s) with a host is a URL', () => {
    for (const s of ['http://example.com', 'https://example.com/a/b.png?x=1', 'http://127.0.0.1:8080/x', 'https://[::1]/']) {
      assert.equal(isUrl(s), true, s);
    }
  });
  test('everything else is treated as Base64', () => {
    for (const s of [
      '',
      'http://',
      'https:///path',
      'HTTP://example.com',
      'ftp://example.com/a.png',
      'data:image/png;base64,AAAA',
      '/tmp/a.png',
      'aGVsbG8=',
      'http:/x',
    ]) {
      assert.equal(isUrl(s), false, s);
    }
  });
});

describe('decodeBase64', () => {
  const bytes = randomBytes(1000);

  test('standard alphabet, with and without padding', () => {
    for (let n = 1; n <= 6; n++) {
      const sample = bytes.subarray(0, n);
      const encoded = sample.toString('base64');
      assert.deepEqual(decodeBase64(encoded, 'image'), new Uint8Array(sample));
      assert.deepEqual(decodeBase64(encoded.replace(/=+$/, ''), 'image'), new Uint8Array(sample));
    }
  });

  test('padded input with stray bits in its last character decodes the same with or without padding', () => {
    assert.deepEqual(decodeBase64('QR==', 'image'), new Uint8Array([0x41]));
    assert.deepEqual(decodeBase64('QR', 'image'), new Uint8Array([0x41]));
  });

  test('URL-safe alphabet', () => {
    const encoded = bytes.toString('base64url');
    assert.match(encoded, /[-_]/);
    assert.deepEqual(decodeBase64(encoded, 'image'), new Uint8Array(bytes));
  });

  test('data URI prefix and MIME line breaks are accepted', () => {
    const wrapped = bytes.toString('base64').replace(/.{76}/g, '$&\r\n');
    assert.deepEqual(decodeBase64(`data:image/png;base64,${wrapped}`, 'image'), new Uint8Array(bytes));
    assert.deepEqual(decodeBase64(`  ${wrapped}\n`, 'image'), new Uint8Array(bytes));
  });

  test('illegal characters are reported with their position', async () => {
    await rejects422(() => decodeBase64('aGVs*bG8=', 'image'), /^image: not valid Base64: illegal character "\*" at position 4/);
    // A file path sent by mistake: '.' is illegal; the message says what was expected.
    await rejects422(() => decodeBase64('/tmp/photo.png', 'file'), /^file: .*illegal character "\." at position 10.*http\(s\) URL/);
    await rejects422(() => decodeBase64('data:image/png;base64,AA!A', 'image'), /illegal character "!" at position 24/);
  });

  test('empty input', async () => {
    await rejects422(() => decodeBase64('', 'image'), /^image: empty/);
    await rejects422(() => decodeBase64(' \n ', 'image'), /^image: empty/);
    await rejects422(() => decodeBase64('data:image/png;base64,', 'image'), /^image: empty/);
  });

  test('impossible lengths and misplaced padding', async () => {
    await rejects422(() => decodeBase64('A', 'image'), /not a possible length/);
    await rejects422(() => decodeBase64('aGVsbG8hA', 'image'), /9 data characters is not a possible length/);
    await rejects422(() => decodeBase64('aGk=aGk=', 'image'), /misplaced '='/);
    assert.equal(Buffer.from(decodeBase64('aGk', 'image')).toString(), 'hi');
    await rejects422(() => decodeBase64('aGk==', 'image'), /3 data characters with padding is not a possible length/);
  });
});

describe('decodeImage', () => {
  test('non-image bytes', async () => {
    await rejects422(
      () => decodeImage(new TextEncoder().encode('hello, this is not an image'), 'image'),
      /^image: not a decodable image \(.+\)/,
    );
    await rejects422(() => decodeImage(new Uint8Array(0), 'image'), /^image: not a decodable image/);
  });

  test('truncated JPEG is an error, not a half-grey picture', async () => {
    await rejects422(async () => decodeImage(await truncatedJpeg(), 'image'), /^image: truncated or corrupt image data \(.+\)/);
  });

  test('PNG decompression bomb is refused from its header, fast and without allocating', async () => {
    const bomb = await pngBomb();
    assert.ok(bomb.length < 5 * 1024 * 1024, 'the bomb itself is small');
    const meta = await sharp(bomb, { limitInputPixels: false }).metadata();
    assert.deepEqual([meta.width, meta.height, meta.format], [PNG_BOMB_SIDE, PNG_BOMB_SIDE, 'png']);
    const rssBefore = process.memoryUsage().rss;
    const started = performance.now();
    await rejects422(
      () => decodeImage(bomb, 'image'),
      new RegExp(`^image: 30000×30000 pixels exceeds the limit of ${DEFAULT_MAX_PIXELS} pixels$`),
    );
    assert.ok(performance.now() - started < 2000, 'refused in under 2 s');
    assert.ok(process.memoryUsage().rss - rssBefore < 100 * 1024 * 1024, 'no large allocation');
  });

  test('maxPixels is configurable', async () => {
    const png = await encodePng(solid(100, 100, [1, 2, 3]));
    await rejects422(() => decodeImage(png, 'image', { maxPixels: 9999 }), /100×100 pixels exceeds the limit of 9999 pixels/);
    assert.equal((await decodeImage(png, 'image', { maxPixels: 10000 })).width, 100);
  });

  test('EXIF orientation is applied', async () => {
    // 40×20, left half red, right half blue; orientation 6 = display rotated 90° clockwise.
    const stored = solid(40, 20, [255, 0, 0]);
    for (let y = 0; y < 20; y++) for (let x = 20; x < 40; x++) stored.data.set([0, 0, 255], (y * 40 + x) * 3);
    const jpeg = await sharp(stored.data, { raw: { width: 40, height: 20, channels: 3 } })
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const img = await decodeImage(jpeg, 'image');
    assert.deepEqual([img.width, img.height], [20, 40]);
    const [r1, , b1] = pixel(img, 10, 5);
    const [r2, , b2] = pixel(img, 10, 35);
    assert.ok(r1 > 200 && b1 < 60, `top is red: ${pixel(img, 10, 5)}`);
    assert.ok(b2 > 200 && r2 < 60, `bottom is blue: ${pixel(img, 10, 35)}`);
  });

  test('greyscale PNG becomes 3 equal channels', async () => {
    const png = await sharp({ create: { width: 5, height: 4, channels: 3, background: { r: 100, g: 100, b: 100 } } })
      .toColourspace('b-w')
      .png()
      .toBuffer();
    assert.equal((await sharp(png).metadata()).channels, 1);
    const img = await decodeImage(png, 'image');
    assert.equal(img.data.length, 5 * 4 * 3);
    assert.deepEqual(pixel(img, 4, 3), [100, 100, 100]);
  });

  test('alpha is dropped, not composited (like OpenCV IMREAD_COLOR)', async () => {
    const png = await sharp({ create: { width: 3, height: 2, channels: 4, background: { r: 255, g: 0, b: 0, alpha: 0 } } })
      .png()
      .toBuffer();
    const img = await decodeImage(png, 'image');
    assert.equal(img.data.length, 3 * 2 * 3);
    assert.deepEqual(pixel(img, 1, 1), [255, 0, 0]);
  });

  test('16-bit and CMYK inputs come out as 8-bit sRGB', async () => {
    const base = sharp({ create: { width: 4, height: 4, channels: 3, background: { r: 200, g: 30, b: 30 } } });
    const png16 = await base.clone().toColourspace('rgb16').png().toBuffer();
    assert.equal((await sharp(png16).metadata()).depth, 'ushort');
    assert.deepEqual(pixel(await decodeImage(png16, 'image'), 0, 0), [200, 30, 30]);
    const cmyk = await base.clone().toColourspace('cmyk').jpeg().toBuffer();
    assert.equal((await sharp(cmyk).metadata()).space, 'cmyk');
    const [r, g, b] = pixel(await decodeImage(cmyk, 'image'), 0, 0);
    assert.ok(r > 150 && g < 90 && b < 90, `still red after CMYK→sRGB: ${[r, g, b]}`);
  });

  test('GIF, WebP and TIFF decode (first frame)', async () => {
    const base = sharp({ create: { width: 6, height: 5, channels: 3, background: { r: 0, g: 0, b: 255 } } });
    for (const encoded of [
      await base.clone().gif().toBuffer(),
      await base.clone().webp({ lossless: true }).toBuffer(),
      await base.clone().tiff().toBuffer(),
    ]) {
      const img = await decodeImage(encoded, 'image');
      assert.deepEqual([img.width, img.height], [6, 5]);
      const [r, g, b] = pixel(img, 5, 4);
      assert.ok(r < 3 && g < 3 && b > 252, `blue (GIF palettes may shift a level): ${[r, g, b]}`);
    }
  });

  test('BMP decodes (sharp lacks a BMP loader), and a huge BMP header is refused', async () => {
    const original = solid(7, 3, [10, 20, 30]);
    original.data.set([250, 0, 5], (2 * 7 + 6) * 3); // bottom-right pixel: checks row order
    const img = await decodeImage(makeBmp(original), 'image');
    assert.deepEqual([img.width, img.height], [7, 3]);
    assert.deepEqual(pixel(img, 0, 0), [10, 20, 30]);
    assert.deepEqual(pixel(img, 6, 2), [250, 0, 5]);

    const header = makeBmp(solid(1, 1, [0, 0, 0]));
    new DataView(header.buffer, header.byteOffset).setInt32(18, 30000, true);
    new DataView(header.buffer, header.byteOffset).setInt32(22, 30000, true);
    await rejects422(() => decodeImage(header, 'image'), /30000×30000 pixels exceeds the limit/);
    const bmp = makeBmp(original);
    await rejects422(
      () => decodeImage(bmp.subarray(0, bmp.length - 10), 'image'),
      /truncated or corrupt image data \(BMP declares 126 bytes, got 116\)/,
    );
    bmp[28] = 7; // bits per pixel
    await rejects422(() => decodeImage(bmp, 'image'), /truncated or corrupt image data \(BMP: .+\)/);
  });

  test('SVG is refused even though sharp could render it', async () => {
    const svg = new TextEncoder().encode(
      '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>',
    );
    await rejects422(() => decodeImage(svg, 'image'), /^image: unsupported image format 'svg'/);
  });
});

describe('encodeJpeg / encodePng', () => {
  const img = solid(16, 8, [12, 200, 99]);

  test('PNG round-trips exactly', async () => {
    const png = await encodePng(img);
    assert.equal((await sharp(png).metadata()).format, 'png');
    assert.deepEqual(await decodeImage(png, 'x'), img);
  });

  test('JPEG honours quality (default 75)', async () => {
    const noisy: RgbImage = { width: 64, height: 64, data: new Uint8Array(randomBytes(64 * 64 * 3)) };
    const q75 = await encodeJpeg(noisy);
    const q95 = await encodeJpeg(noisy, 95);
    assert.equal((await sharp(q75).metadata()).format, 'jpeg');
    assert.ok(q95.length > q75.length, 'higher quality, bigger file');
    const decoded = pixel(await decodeImage(await encodeJpeg(img), 'x'), 3, 3);
    decoded.forEach((v, c) => assert.ok(Math.abs(v - pixel(img, 3, 3)[c]) <= 6, `JPEG close to original: ${decoded}`));
  });

  test('inconsistent RgbImage is a programming error', async () => {
    await assert.rejects(() => encodePng({ width: 2, height: 2, data: new Uint8Array(5) }), RangeError);
  });
});

describe('resolveFileType', () => {
  test('explicit fileType wins', () => {
    assert.equal(resolveFileType('aGVsbG8=', 0), 'pdf');
    assert.equal(resolveFileType('aGVsbG8=', 1), 'image');
    assert.equal(resolveFileType('https://example.com/a.pdf', 1), 'image');
  });

  test('inferred from the last path segment of a URL', () => {
    const cases: Array<[string, 'pdf' | 'image']> = [
      ['https://example.com/docs/report.pdf', 'pdf'],
      ['https://example.com/report.PDF?download=1#page=2', 'pdf'],
      ['http://example.com/a/b/photo.jpg', 'image'],
      ['http://example.com/photo.JPEG', 'image'],
      ['http://example.com/scan.tiff', 'image'],
      ['http://example.com/x.tif', 'image'],
      ['http://example.com/x.png', 'image'],
      ['http://example.com/x.bmp', 'image'],
      ['http://example.com/x.webp', 'image'],
      ['http://example.com/x.gif', 'image'],
      ['http://example.com/x.pdf/page.png', 'image'],
      ['https://bucket.bcebos.com/object?responseContentDisposition=attachment;filename=invoice.pdf', 'pdf'],
    ];
    for (const [url, kind] of cases) assert.equal(resolveFileType(url, null), kind, url);
  });

  test('unknown extensions and Base64 without fileType are refused with the PaddleX messages', async () => {
    for (const url of [
      'https://example.com/data.csv',
      'https://example.com/download',
      'https://example.com/file.pdf.exe',
      'https://example.com/.pdf',
      'https://example.com/dir/?name=a.pdf',
    ]) {
      await rejects422(() => resolveFileType(url, undefined), /^Unsupported file type \(set fileType: 0 for PDF, 1 for image\)$/);
    }
    await rejects422(() => resolveFileType('JVBERi0xLjQK', null), /^File type cannot be determined \(set fileType/);
    await rejects422(
      () => resolveFileType('https://other.example.com/x?responseContentDisposition=attachment;filename=a.pdf', null),
      /^Unsupported file type/,
    );
  });
});

describe('isForbiddenAddress', () => {
  test('non-public addresses are forbidden', () => {
    for (const ip of [
      '127.0.0.1',
      '127.8.9.10',
      '10.0.0.1',
      '10.255.255.255',
      '172.16.0.1',
      '172.31.255.254',
      '192.168.1.1',
      '169.254.169.254',
      '169.254.0.1',
      '100.64.0.1',
      '100.127.255.255',
      '0.0.0.0',
      '0.1.2.3',
      '255.255.255.255',
      '224.0.0.1',
      '239.255.255.250',
      '240.0.0.1',
      '192.0.2.1',
      '198.18.0.1',
      '::1',
      '::',
      'fe80::1',
      'fe80::1%eth0',
      'fc00::1',
      'fd12:3456::1',
      'ff02::1',
      '::ffff:127.0.0.1',
      '::ffff:10.1.2.3',
      '::ffff:169.254.169.254',
      '::ffff:7f00:1',
      // IPv4-compatible (::a.b.c.d), in dotted and hex form: treated as the IPv4 address
      '::127.0.0.1',
      '::7f00:1',
      '0:0:0:0:0:0:7f00:1',
      '::169.254.169.254',
      '::a9fe:a9fe',
      '::10.1.2.3',
      '::2',
      '::ffff:a9fe:a9fe',
      '0:0:0:0:0:ffff:127.0.0.1',
      // IPv6 ranges that translate to IPv4 (NAT64, IPv4-translated, 6to4)
      '64:ff9b::7f00:1',
      '::ffff:0:7f00:1',
      '2002:7f00:1::',
      '2001:db8::1',
      'not-an-ip',
      '',
      '999.1.1.1',
    ]) {
      assert.equal(isForbiddenAddress(ip), true, ip);
    }
  });

  test('public addresses are allowed', () => {
    for (const ip of [
      '8.8.8.8',
      '1.1.1.1',
      '93.184.216.34',
      '172.15.255.255',
      '172.32.0.1',
      '100.63.255.255',
      '100.128.0.1',
      '192.169.0.1',
      '2606:4700:4700::1111',
      '2a00:1450:4001:80b::200e',
      '::ffff:8.8.8.8',
      '::8.8.8.8',
      '::808:808',
    ]) {
      assert.equal(isForbiddenAddress(ip), false, ip);
    }
  });
});

describe('fetchUrl', () => {
  const allowPrivate: FetchLimits = { ...DEFAULT_FETCH_LIMITS, allowPrivate: true };
  const payload = randomBytes(300_000);
  let server: TestServer;
  let requestsSeen = 0;
  let hugeStreamClosed: Promise<number> = Promise.resolve(0);

  const routes: Record<string, http.RequestListener> = {
    '/ok': (_req, res) => res.end(payload),
    '/missing': (_req, res) => {
      res.statusCode = 404;
      res.end('not here');
    },
    '/no-headers': () => {
      // never answers
    },
    '/trickle': (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const timer = setInterval(() => res.write('x'), 50);
      res.on('close', () => clearInterval(timer));
    },
    '/huge-declared': (_req, res) => {
      res.writeHead(200, { 'content-length': String(10 * 1024 * 1024) });
      res.write(Buffer.alloc(64 * 1024));
    },
    '/huge-chunked': (_req, res) => {
      let written = 0;
      hugeStreamClosed = new Promise((resolve) => res.on('close', () => resolve(written)));
      const chunk = Buffer.alloc(64 * 1024);
      const pump = () => {
        while (!res.destroyed && written < 1024 * 1024 * 1024) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
      };
      res.writeHead(200);
      pump();
    },
    '/loop': (_req, res) => {
      res.writeHead(302, { location: '/loop' });
      res.end();
    },
    '/to-file': (_req, res) => {
      res.writeHead(301, { location: 'file:///etc/passwd' });
      res.end();
    },
  };

  before(async () => {
    server = await startTestServer((req, res) => {
      requestsSeen++;
      const url = new URL(req.url ?? '/', 'http://x');
      const hops = /^\/chain\/(\d+)$/.exec(url.pathname);
      if (hops) {
        const left = Number(hops[1]);
        // relative and absolute Location headers alternate
        const next = left === 0 ? '/ok' : left % 2 ? `${left - 1}` : `${server.url}/chain/${left - 1}`;
        res.writeHead(left % 2 ? 307 : 302, { location: next });
        return res.end();
      }
      (routes[url.pathname] ?? routes['/missing'])(req, res);
    });
  });
  after(() => server.close());

  /** The client must not leave sockets open, whatever happened. */
  async function assertNoOpenSockets() {
    const deadline = Date.now() + 2000;
    while ((await server.openConnections()) > 0) {
      assert.ok(Date.now() < deadline, 'client left a socket open');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  test('200 returns the body (allowPrivate)', async () => {
    const body = await fetchUrl(`${server.url}/ok`, 'image', allowPrivate);
    assert.deepEqual(body, new Uint8Array(payload));
    await assertNoOpenSockets();
  });

  test('non-2xx status names the URL and status', async () => {
    await rejects422(
      () => fetchUrl(`${server.url}/missing`, 'image', allowPrivate),
      new RegExp(`^image: fetching ${server.url}/missing failed with HTTP status 404$`),
    );
    await assertNoOpenSockets();
  });

  test('server that never answers: total timeout', async () => {
    const started = performance.now();
    await rejects422(() => fetchUrl(`${server.url}/no-headers`, 'image', { ...allowPrivate, timeoutMs: 300 }), /timed out after 300 ms/);
    assert.ok(performance.now() - started < 1500);
    await assertNoOpenSockets();
  });

  test('body that trickles forever: the timeout covers the body too', async () => {
    const started = performance.now();
    await rejects422(() => fetchUrl(`${server.url}/trickle`, 'image', { ...allowPrivate, timeoutMs: 300 }), /timed out after 300 ms/);
    assert.ok(performance.now() - started < 1500);
    await assertNoOpenSockets();
  });

  test('too large by Content-Length: refused before downloading', async () => {
    await rejects422(
      () => fetchUrl(`${server.url}/huge-declared`, 'image', { ...allowPrivate, maxBytes: 1024 * 1024 }),
      /^image: the file at .*\/huge-declared is larger than 1 MB$/,
    );
    await assertNoOpenSockets();
  });

  test('too large while streaming (no Content-Length): download aborted', async () => {
    await rejects422(() => fetchUrl(`${server.url}/huge-chunked`, 'image', { ...allowPrivate, maxBytes: 1024 * 1024 }), /larger than 1 MB/);
    const written = await hugeStreamClosed;
    assert.ok(written < 64 * 1024 * 1024, `server stopped early (wrote ${written} bytes)`);
    await assertNoOpenSockets();
  });

  test('redirects are followed, relative and absolute', async () => {
    assert.deepEqual(await fetchUrl(`${server.url}/chain/4`, 'image', allowPrivate), new Uint8Array(payload));
  });

  test('redirect limits: a loop, and a chain one hop too long', async () => {
    await rejects422(() => fetchUrl(`${server.url}/loop`, 'image', allowPrivate), /too many redirects \(more than 5\)/);
    await rejects422(
      () => fetchUrl(`${server.url}/chain/3`, 'image', { ...allowPrivate, maxRedirects: 3 }),
      /too many redirects \(more than 3\)/,
    );
    await assertNoOpenSockets();
  });

  test('redirect to a non-http scheme is refused', async () => {
    await rejects422(() => fetchUrl(`${server.url}/to-file`, 'image', allowPrivate), /only http and https URLs can be fetched, not file/);
  });

  test('loopback hosts are refused by default, before connecting', async () => {
    const before = requestsSeen;
    const port = server.port;
    for (const url of [
      `http://127.0.0.1:${port}/ok`,
      `http://localhost:${port}/ok`,
      `http://[::1]:${port}/ok`,
      `http://[::ffff:127.0.0.1]:${port}/ok`,
      `http://[::ffff:7f00:1]:${port}/ok`,
      `http://[::127.0.0.1]:${port}/ok`, // IPv4-compatible
      `http://[::7f00:1]:${port}/ok`,
      `http://[0:0:0:0:0:0:127.0.0.1]:${port}/ok`,
      `http://2130706433:${port}/ok`, // 127.0.0.1 written as one decimal number
      `http://0x7f000001:${port}/ok`, // ... as one hex number
      `http://0x7f.0.0.1:${port}/ok`, // ... with a hex byte
      `http://0177.0.0.1:${port}/ok`, // ... with an octal byte
      `http://127.1:${port}/ok`,
      `http://0.0.0.0:${port}/ok`,
      `http://[::]:${port}/ok`,
    ]) {
      const err = await rejects422(() => fetchUrl(url, 'image', DEFAULT_FETCH_LIMITS), /resolves to a private\/loopback address/);
      assert.match(err.message, /--allow-private-urls/);
    }
    assert.equal(requestsSeen, before, 'no request reached the server');
    await assertNoOpenSockets();
  });

  test('unreachable host, bad URLs and non-http schemes are 422', async () => {
    const closed = await startTestServer(() => undefined);
    const port = closed.port;
    await closed.close();
    await rejects422(() => fetchUrl(`http://127.0.0.1:${port}/`, 'image', allowPrivate), /^image: could not fetch .*ECONNREFUSED/);
    await rejects422(() => fetchUrl('ftp://example.com/a.png', 'image', allowPrivate), /only http and https/);
    await rejects422(() => fetchUrl('http://exa mple.com/a.png', 'image', allowPrivate), /not a valid URL/);
  });
});
