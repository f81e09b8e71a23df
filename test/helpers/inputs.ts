/** Generators of valid and hostile client inputs, shared by the io tests and the HTTP tests. */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import type { RgbImage } from '../../src/io/image.js';
import { OPENCV_DATA } from './paths.js';

const execFileAsync = promisify(execFile);

function pngChunk(type: string, data: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(data.length, 0);
  header.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(data, zlib.crc32(type)), 0);
  return Buffer.concat([header, data, crc]);
}

/**
 * A valid 8-bit greyscale PNG of zeros. The pixel rows are streamed through
 * deflate a batch at a time, so a 30000×30000 image (900 MB decoded) costs only
 * its ~1 MB compressed size in memory.
 */
async function zeroGreyPng(width: number, height: number): Promise<Buffer> {
  const rowsPerBatch = 100;
  // Each row is filter type 0 followed by zero samples, so a batch of rows is all zeros.
  const batch = Buffer.alloc((width + 1) * rowsPerBatch);
  const compressed: Buffer[] = [];
  await pipeline(
    function* rows() {
      for (let y = 0; y < height; y += rowsPerBatch) {
        yield batch.subarray(0, (width + 1) * Math.min(rowsPerBatch, height - y));
      }
    },
    // Run-length matching is all zeros need: same output size as the default, twice as fast.
    zlib.createDeflate({ level: 9, strategy: zlib.constants.Z_RLE }),
    async function collect(source: AsyncIterable<Buffer>) {
      for await (const chunk of source) compressed.push(chunk);
    },
  );
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 0, 0, 0, 0], 8); // bit depth 8, greyscale, deflate, adaptive filtering, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', Buffer.concat(compressed)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

export const PNG_BOMB_SIDE = 30000;
let pngBombBytes: Promise<Uint8Array> | undefined;

/**
 * A real 30000×30000 PNG (decompression bomb). Built once and cached in the
 * temp dir, because each test file runs in its own process.
 */
export function pngBomb(): Promise<Uint8Array> {
  pngBombBytes ??= (async () => {
    const cached = path.join(os.tmpdir(), `pipeserve-png-bomb-${PNG_BOMB_SIDE}.png`);
    try {
      return new Uint8Array(await fs.readFile(cached));
    } catch {
      const png = await zeroGreyPng(PNG_BOMB_SIDE, PNG_BOMB_SIDE);
      const partial = `${cached}.${process.pid}.partial`;
      await fs.writeFile(partial, png);
      await fs.rename(partial, cached); // atomic, so a concurrent reader never sees half a file
      return new Uint8Array(png);
    }
  })();
  return pngBombBytes;
}

/** The first half of a real photo's JPEG stream. */
export async function truncatedJpeg(): Promise<Uint8Array> {
  const jpeg = await fs.readFile(path.join(OPENCV_DATA, 'messi5.jpg'));
  return new Uint8Array(jpeg.subarray(0, jpeg.length >> 1));
}

/** An uncompressed 24-bit BMP (bottom-up rows padded to 4 bytes, BGR), for the BMP decode path. */
export function makeBmp(img: RgbImage): Uint8Array {
  const stride = Math.ceil((img.width * 3) / 4) * 4;
  const pixelBytes = stride * img.height;
  const bmp = Buffer.alloc(54 + pixelBytes);
  bmp.write('BM', 0, 'ascii');
  bmp.writeUInt32LE(bmp.length, 2);
  bmp.writeUInt32LE(54, 10);
  bmp.writeUInt32LE(40, 14); // BITMAPINFOHEADER
  bmp.writeInt32LE(img.width, 18);
  bmp.writeInt32LE(img.height, 22);
  bmp.writeUInt16LE(1, 26);
  bmp.writeUInt16LE(24, 28);
  bmp.writeUInt32LE(pixelBytes, 34);
  for (let y = 0; y < img.height; y++) {
    const rowStart = 54 + (img.height - 1 - y) * stride;
    for (let x = 0; x < img.width; x++) {
      const src = (y * img.width + x) * 3;
      bmp[rowStart + x * 3] = img.data[src + 2];
      bmp[rowStart + x * 3 + 1] = img.data[src + 1];
      bmp[rowStart + x * 3 + 2] = img.data[src];
    }
  }
  return new Uint8Array(bmp);
}

/** Page size in points: 595×842 renders to exactly 1190×1684 at PaddleX's 2× scale. */
export const A4_POINTS = { width: 595, height: 842 } as const;

/** A text PDF: one A4 page per entry, each a list of lines in 16 pt Helvetica. */
export async function makePdf(pages: string[][]): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  const size = 16;
  const margin = 72;
  for (const lines of pages) {
    const page = doc.addPage([A4_POINTS.width, A4_POINTS.height]);
    lines.forEach((line, i) => {
      page.drawText(line, { x: margin, y: A4_POINTS.height - margin - size - i * size * 1.5, size, font });
    });
  }
  return doc.save();
}

/** A one-page PDF protected with user password "user" (AES-256), made by qpdf. */
export async function encryptedPdf(): Promise<Uint8Array> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pipeserve-pdf-'));
  try {
    const plain = path.join(dir, 'plain.pdf');
    const encrypted = path.join(dir, 'encrypted.pdf');
    await fs.writeFile(plain, await makePdf([['This PDF is encrypted']]));
    await execFileAsync('qpdf', ['--encrypt', 'user', 'owner', '256', '--', plain, encrypted]);
    return new Uint8Array(await fs.readFile(encrypted));
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/**
 * A structurally valid PDF whose page tree is empty (/Kids [] /Count 0).
 * Written by hand because pdf-lib refuses to save a document without pages.
 */
export function zeroPagePdf(): Uint8Array {
  const objects = ['<< /Type /Catalog /Pages 2 0 R >>', '<< /Type /Pages /Kids [] /Count 0 >>'];
  let pdf = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(pdf.length);
    pdf += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xrefAt = pdf.length;
  pdf += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) pdf += `${String(offset).padStart(10, '0')} 00000 n \n`;
  pdf += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xrefAt}\n%%EOF\n`;
  return new Uint8Array(Buffer.from(pdf, 'latin1'));
}

export interface TestServer {
  /** e.g. http://127.0.0.1:41234 (no trailing slash) */
  url: string;
  port: number;
  /** Sockets currently open on the server side (to check clients don't leak them). */
  openConnections(): Promise<number>;
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 with an ephemeral port. */
export async function startTestServer(handler: http.RequestListener): Promise<TestServer> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    openConnections: () => new Promise((resolve, reject) => server.getConnections((err, count) => (err ? reject(err) : resolve(count)))),
    close: () =>
      new Promise((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
