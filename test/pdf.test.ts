import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { PDFDocument, PDFName } from 'pdf-lib';
import type { RgbImage } from '../src/io/image.js';
import { openPdf, pdfiumMemoryBytes } from '../src/io/pdf.js';
import { rejects422 } from './helpers/assertions.js';
import { A4_POINTS, encryptedPdf, makePdf, zeroPagePdf } from './helpers/inputs.js';

function darkPixels(img: RgbImage): number {
  let dark = 0;
  for (let i = 0; i < img.data.length; i += 3) if (img.data[i] + img.data[i + 1] + img.data[i + 2] < 300) dark++;
  return dark;
}

/** Dark pixels in the top and bottom half: text is drawn from the top, so it must land in the top half. */
function darkByHalf(img: RgbImage): [number, number] {
  const half = img.height >> 1;
  const top = { ...img, height: half, data: img.data.subarray(0, half * img.width * 3) };
  const bottom = { ...img, height: img.height - half, data: img.data.subarray(half * img.width * 3) };
  return [darkPixels(top), darkPixels(bottom)];
}

describe('openPdf / renderPage', () => {
  test('a 2-page A4 PDF renders 2 pages at 2× (1190×1684), with the text on them', async () => {
    const bytes = await makePdf([['First page', 'with two lines'], ['Second page, one much longer line of text than the first']]);
    const before = Buffer.from(bytes);
    const doc = await openPdf(bytes, 'file');
    try {
      assert.equal(doc.numPages, 2);
      assert.deepEqual(Buffer.from(bytes), before, "the caller's buffer is neither detached nor changed");
      const pages = [await doc.renderPage(0), await doc.renderPage(1)];
      for (const page of pages) {
        assert.deepEqual([page.width, page.height], [A4_POINTS.width * 2, A4_POINTS.height * 2]);
        assert.equal(page.data.length, page.width * page.height * 3);
        assert.deepEqual([...page.data.subarray(0, 3)], [255, 255, 255], 'white background');
        const [top, bottom] = darkByHalf(page);
        assert.ok(top > 500, `text rendered in the top half (${top} dark pixels)`);
        assert.equal(bottom, 0, 'nothing in the bottom half');
      }
      assert.ok(darkPixels(pages[1]) > darkPixels(pages[0]), 'the longer line has more ink: pages differ');
    } finally {
      await doc.close();
    }
  });

  test('scale and the pixel limit', async () => {
    const doc = await openPdf(await makePdf([['scaled'], ['big']]), 'file');
    try {
      const small = await doc.renderPage(0, { scale: 1 });
      assert.deepEqual([small.width, small.height], [595, 842]);
      await rejects422(
        () => doc.renderPage(1, { maxPixels: 1_000_000 }),
        /^file: page 2 renders to 1190×1684 pixels, which exceeds the limit of 1000000 pixels$/,
      );
      await rejects422(() => doc.renderPage(0, { scale: 20 }), /^file: page 1 renders to 11900×16840 pixels/);
      assert.deepEqual(doc.pageSizes, [A4_POINTS, A4_POINTS], 'page sizes in points');
      await assert.rejects(() => doc.renderPage(2), RangeError);
    } finally {
      await doc.close();
    }
  });

  test('page size is rounded up like pypdfium2', async () => {
    const pdf = await PDFDocument.create();
    pdf.addPage([100.3, 50.2]);
    const doc = await openPdf(await pdf.save(), 'file');
    try {
      const page = await doc.renderPage(0);
      assert.deepEqual([page.width, page.height], [201, 101]);
    } finally {
      await doc.close();
    }
  });

  test('password-protected PDF', async () => {
    await rejects422(async () => openPdf(await encryptedPdf(), 'file'), /^file: PDF is encrypted/);
  });

  test('bytes that are not a PDF', async () => {
    await rejects422(() => openPdf(new TextEncoder().encode('hello, I am not a PDF'), 'file'), /^file: not a readable PDF \(.+\)/);
    await rejects422(() => openPdf(new Uint8Array(0), 'file'), /^file: not a readable PDF/);
    await rejects422(() => openPdf(new Uint8Array(randomBytes(50_000)), 'file'), /^file: not a readable PDF/);
  });

  test('a valid header over a garbage body fails fast', async () => {
    const bytes = Buffer.concat([Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1'), randomBytes(2 * 1024 * 1024)]);
    const started = performance.now();
    await rejects422(() => openPdf(new Uint8Array(bytes), 'file'), /^file: not a readable PDF/);
    assert.ok(performance.now() - started < 5000, 'within 5 s');
  });

  test('a PDF with zero pages', async () => {
    await rejects422(() => openPdf(zeroPagePdf(), 'file'), /^file: PDF has no pages$/);
  });

  test('a 5000-page PDF opens quickly; only the page asked for is rendered', async () => {
    const pdf = await PDFDocument.create();
    for (let i = 0; i < 5000; i++) pdf.addPage([A4_POINTS.width, A4_POINTS.height]);
    const bytes = await pdf.save();
    const started = performance.now();
    const doc = await openPdf(bytes, 'file');
    try {
      assert.equal(doc.numPages, 5000);
      assert.ok(performance.now() - started < 3000, 'opened in under 3 s');
      const first = await doc.renderPage(0);
      assert.deepEqual([first.width, first.height], [1190, 1684]);
      assert.equal(darkPixels(first), 0, 'blank page');
    } finally {
      await doc.close();
    }
  });

  test('a page that renders too long is stopped and refused (422 naming the page); the next render works', async () => {
    // 400,000 path operators (issue: 2 million took 102 s and +1.3 GB for one page)
    const pdf = await PDFDocument.create();
    pdf.addPage([A4_POINTS.width, A4_POINTS.height]);
    const heavy = pdf.addPage([A4_POINTS.width, A4_POINTS.height]);
    const ops: string[] = [];
    for (let i = 0; i < 400_000; i++) ops.push(`${i % 590} ${(i * 7) % 840} m ${(i * 3) % 590} ${(i * 11) % 840} l S`);
    const stream = pdf.context.flateStream(ops.join('\n'));
    heavy.node.set(PDFName.of('Contents'), pdf.context.register(stream));
    const doc = await openPdf(await pdf.save(), 'file');
    const started = performance.now();
    await rejects422(
      () => doc.renderPage(1, { timeoutMs: 300 }),
      /^file: page 2 of the PDF took longer than 0\.3 s to render; it was stopped$/,
    );
    assert.ok(performance.now() - started < 3000, 'refused promptly');
    const first = await doc.renderPage(0);
    assert.deepEqual([first.width, first.height], [1190, 1684]);
  });

  test('the memory of a large page is returned once it is rendered', async () => {
    const pdf = await PDFDocument.create();
    pdf.addPage([3500, 3500]);
    const doc = await openPdf(await pdf.save(), 'file');
    const big = await doc.renderPage(0);
    assert.deepEqual([big.width, big.height], [7000, 7000]);
    assert.equal(pdfiumMemoryBytes(), 0, 'the PDFium thread that grew past the limit was ended');
    const small = await openPdf(await makePdf([['small']]), 'file');
    await small.renderPage(0);
    const memory = pdfiumMemoryBytes();
    assert.ok(memory > 0 && memory < 128 * 2 ** 20, `a fresh PDFium thread: ${memory} bytes`);
  });
});
