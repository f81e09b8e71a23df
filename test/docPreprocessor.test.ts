/**
 * PaddleX's doc_preprocessor (`POST /document-preprocessing`) and the same stage inside OCR: the real
 * PP-LCNet_x1_0_doc_ori int8 export on pages turned 90/180/270, and UVDoc unwarping run through a
 * self-made ONNX of UVDoc's signature whose output is a known warp (a left-right mirror), because
 * UVDoc's weights are not available here.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { degrees, PDFDocument } from 'pdf-lib';
import sharp from 'sharp';
import type { RgbImage } from '../src/io/image.js';
import { characterErrorRate } from './helpers/cer.js';
import { docPreprocessingYaml, uvdocMirrorFixtureDir } from './helpers/docPreprocessingFixtures.js';
import { A4_POINTS } from './helpers/inputs.js';
import { SKIMAGE_DATA } from './helpers/paths.js';
import { assertErrorEnvelope, postJson, type RunningServer, startServer } from './helpers/server.js';
import { decodeToRgb, renderTextImage } from './helpers/textImages.js';

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

/** A letter-like page of plain prose, rendered here (left-aligned, so its orientation is plain to see). */
const PAGE_LINES = [
  'Dear customer, thank you for your order.',
  'Your parcel left our warehouse on Monday',
  'and should reach you within three days.',
  'Please keep this letter for your records.',
  'Questions about the delivery can be sent',
  'to our office, which is open from nine',
  'to five on weekdays. Payment is due within',
  'thirty days of receipt of the invoice.',
];

/** `png` turned clockwise by `angle` (sharp's rotate is exact for multiples of 90). */
async function turned(png: Uint8Array, angle: number): Promise<Uint8Array> {
  return new Uint8Array(await sharp(png).rotate(angle).png().toBuffer());
}

function assertSamePixels(actual: RgbImage, expected: RgbImage, what: string): void {
  assert.deepEqual([actual.width, actual.height], [expected.width, expected.height], `${what}: size`);
  assert.ok(Buffer.from(actual.data).equals(Buffer.from(expected.data)), `${what}: pixels differ`);
}

let upright: Uint8Array;
before(async () => {
  upright = (await renderTextImage(PAGE_LINES, { fontSize: 30, lineSpacing: 1.8 })).png;
});

describe('/document-preprocessing with the real doc orientation model (unwarping off)', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ pipelines: [await docPreprocessingYaml({})] });
  });
  after(() => server?.close());

  for (const angle of [0, 90, 180, 270]) {
    test(`a page turned ${angle}° clockwise is classified ${angle} and turned back exactly`, async () => {
      const res = await postJson(`${server.url}/document-preprocessing`, { file: b64(await turned(upright, angle)), fileType: 1 });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const [page] = res.body.result.docPreprocessingResults;
      assert.deepEqual(Object.keys(page), ['outputImage', 'prunedResult', 'docPreprocessingImage', 'inputImage']);
      assert.deepEqual(page.prunedResult, { model_settings: { use_doc_orientation_classify: true, use_doc_unwarping: false }, angle });
      const output = Buffer.from(page.outputImage, 'base64');
      assert.equal((await sharp(output).metadata()).format, 'png');
      assertSamePixels(await decodeToRgb(output), await decodeToRgb(upright), 'outputImage');
      // PaddleX's preprocessed_img: input, rotated and unwarped pages side by side above a 25 px caption strip
      const sent = await sharp(await turned(upright, angle)).metadata();
      const shown = await sharp(Buffer.from(page.docPreprocessingImage, 'base64')).metadata();
      const width = sent.width! + 2 * (await sharp(upright).metadata()).width!;
      const height = Math.max(sent.height!, (await sharp(upright).metadata()).height!) + 25;
      const scale = Math.min(1, 2000 / width, 2000 / height);
      assert.ok(
        Math.abs(shown.width! - width * scale) <= 1 && Math.abs(shown.height! - height * scale) <= 1,
        `${shown.width}×${shown.height}`,
      );
    });
  }

  test('visualize false returns the output image and the pruned result only; orientation off gives angle -1', async () => {
    const page = await postJson(`${server.url}/document-preprocessing`, {
      file: b64(await turned(upright, 180)),
      fileType: 1,
      visualize: false,
      useDocOrientationClassify: false,
    });
    assert.equal(page.status, 200);
    const [result] = page.body.result.docPreprocessingResults;
    assert.deepEqual(Object.keys(result), ['outputImage', 'prunedResult']);
    assert.deepEqual(result.prunedResult, { model_settings: { use_doc_orientation_classify: false, use_doc_unwarping: false }, angle: -1 });
    assertSamePixels(
      await decodeToRgb(Buffer.from(result.outputImage, 'base64')),
      await decodeToRgb(await turned(upright, 180)),
      'unchanged',
    );
  });

  test('unwarping asked of a server without UVDoc: 422 naming the model and the YAML key', async () => {
    const message = assertErrorEnvelope(
      await postJson(`${server.url}/document-preprocessing`, { file: b64(upright), fileType: 1, useDocUnwarping: true }),
      422,
    );
    assert.match(message, /^the input params for model settings are invalid!/);
    assert.match(message, /UVDoc/);
    assert.match(message, /SubModules\.DocUnwarping/);
  });

  test('a PDF: one result per page, a page with /Rotate 90 comes back upright', async () => {
    const pdf = await PDFDocument.create();
    const png = await pdf.embedPng(upright);
    const { width, height } = png.scale(0.5);
    for (const rotation of [0, 90]) {
      const page = pdf.addPage([A4_POINTS.width, A4_POINTS.height]);
      page.drawImage(png, { x: 40, y: A4_POINTS.height - 40 - height, width, height });
      page.setRotation(degrees(rotation));
    }
    const res = await postJson(`${server.url}/document-preprocessing`, { file: b64(await pdf.save()), fileType: 0, visualize: false });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const { docPreprocessingResults, dataInfo } = res.body.result;
    assert.deepEqual(
      docPreprocessingResults.map((p: any) => p.prunedResult.angle),
      [0, 90],
    );
    assert.deepEqual(dataInfo, {
      numPages: 2,
      pages: [
        { width: 1190, height: 1684 },
        { width: 1684, height: 1190 },
      ],
      type: 'pdf',
    });
    const corrected = await decodeToRgb(Buffer.from(docPreprocessingResults[1].outputImage, 'base64'));
    assert.deepEqual([corrected.width, corrected.height], [1190, 1684]);
  });
});

describe('/document-preprocessing with unwarping (UVDoc stand-in: a left-right mirror)', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ pipelines: [await docPreprocessingYaml({ unwarpingDir: await uvdocMirrorFixtureDir() })] });
  });
  after(() => server?.close());

  test('the page goes through the model as PaddleX feeds it (BGR ÷ 255) and comes back as DocTrPostProcess makes it', async () => {
    const photo = new Uint8Array(await sharp(path.join(SKIMAGE_DATA, 'astronaut.png')).resize(160, 120).png().toBuffer());
    const res = await postJson(`${server.url}/document-preprocessing`, { file: b64(photo), fileType: 1, useDocOrientationClassify: false });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [page] = res.body.result.docPreprocessingResults;
    assert.deepEqual(page.prunedResult, { model_settings: { use_doc_orientation_classify: false, use_doc_unwarping: true }, angle: -1 });
    const input = await decodeToRgb(photo);
    const output = await decodeToRgb(Buffer.from(page.outputImage, 'base64'));
    assert.deepEqual([output.width, output.height], [input.width, input.height]);
    // The known warp mirrors the page; DocTrPostProcess reverses the channels of PaddleX's BGR
    // output, so red and blue trade places; × 255 then truncation may lose 1.
    let worst = 0;
    for (let y = 0; y < input.height; y++) {
      for (let x = 0; x < input.width; x++) {
        const o = (y * input.width + x) * 3;
        const i = (y * input.width + (input.width - 1 - x)) * 3;
        for (const [oc, ic] of [
          [0, 2],
          [1, 1],
          [2, 0],
        ] as const) {
          worst = Math.max(worst, Math.abs(output.data[o + oc]! - input.data[i + ic]!));
        }
      }
    }
    assert.ok(worst <= 1, `largest channel difference ${worst}`);
  });

  test('with both steps the unwarping runs on the page turned upright', async () => {
    const res = await postJson(`${server.url}/document-preprocessing`, {
      file: b64(await turned(upright, 270)),
      fileType: 1,
      visualize: false,
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [page] = res.body.result.docPreprocessingResults;
    assert.deepEqual(page.prunedResult, { model_settings: { use_doc_orientation_classify: true, use_doc_unwarping: true }, angle: 270 });
    const output = await decodeToRgb(Buffer.from(page.outputImage, 'base64'));
    const expected = await decodeToRgb(new Uint8Array(await sharp(upright).flop().png().toBuffer()));
    assert.deepEqual([output.width, output.height], [expected.width, expected.height]);
    // black text on white: the mirrored upright page, up to the truncation of × 255
    const differing = output.data.reduce((n, v, i) => n + (Math.abs(v - expected.data[i]!) > 1 ? 1 : 0), 0);
    assert.equal(differing, 0);
  });
});

describe('OCR with its DocPreprocessor sub-pipeline configured', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ pipelines: [await docPreprocessingYaml({ ocr: true, unwarpingDir: await uvdocMirrorFixtureDir() })] });
  });
  after(() => server?.close());

  for (const angle of [90, 180, 270]) {
    test(`a page turned ${angle}° is turned upright by the real model and read with CER ≤ 1%`, async () => {
      const res = await postJson(`${server.url}/ocr`, {
        file: b64(await turned(upright, angle)),
        fileType: 1,
        visualize: false,
        useDocOrientationClassify: true,
        useDocUnwarping: false,
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const pruned = res.body.result.ocrResults[0].prunedResult;
      assert.deepEqual(pruned.model_settings, { use_doc_preprocessor: true, use_textline_orientation: true });
      assert.deepEqual(pruned.doc_preprocessor_res, {
        model_settings: { use_doc_orientation_classify: true, use_doc_unwarping: false },
        angle,
      });
      const cer = characterErrorRate(pruned.rec_texts.join(''), PAGE_LINES.join(''));
      assert.ok(cer <= 0.01, `CER ${cer}: ${JSON.stringify(pruned.rec_texts)}`);
    });
  }

  test('useDocUnwarping runs the configured UVDoc model: the (mirrored) lines now end at the right edge', async () => {
    const res = await postJson(`${server.url}/ocr`, {
      file: b64(upright),
      fileType: 1,
      visualize: true,
      useDocOrientationClassify: false,
      useDocUnwarping: true,
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const page = res.body.result.ocrResults[0];
    assert.deepEqual(Object.keys(page), ['prunedResult', 'ocrImage', 'docPreprocessingImage', 'inputImage']);
    assert.deepEqual(page.prunedResult.doc_preprocessor_res, {
      model_settings: { use_doc_orientation_classify: false, use_doc_unwarping: true },
      angle: -1,
    });
    const { width } = await sharp(upright).metadata();
    assert.ok(page.prunedResult.rec_boxes.length >= PAGE_LINES.length);
    for (const [, , x2] of page.prunedResult.rec_boxes) assert.ok(x2 > (width! * 3) / 4, `box ends at x ${x2}`);
  });

  test('YAML flags fill the ones a request leaves out (PaddleX passes None through to the sub-pipeline)', async () => {
    const res = await postJson(`${server.url}/ocr`, { file: b64(await turned(upright, 180)), fileType: 1, visualize: false });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.result.ocrResults[0].prunedResult.doc_preprocessor_res, {
      model_settings: { use_doc_orientation_classify: true, use_doc_unwarping: true },
      angle: 180,
    });
  });
});
