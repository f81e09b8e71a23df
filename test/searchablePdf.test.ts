import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildSearchablePdf, type SearchablePage } from '../src/pipelines/shared/searchablePdf.js';
import { bundledFontPath } from '../src/vis/fontFile.js';
import { encodeJpeg } from '../src/io/codec.js';
import { characterErrorRate, withoutSpaces } from './helpers/cer.js';
import { fixtureTempRoot } from './helpers/fixtures.js';
import { layoutFixtureDir, layoutPipelineYaml, PAGE_HEIGHT, PAGE_WIDTH, RICH, renderPage } from './helpers/layoutDocs.js';
import { REPO_ROOT } from './helpers/paths.js';
import { postJson, type RunningServer, startServer } from './helpers/server.js';
import { renderTextImage } from './helpers/textImages.js';

/** The text layer of a PDF as Debian's poppler-utils reads it (`pdftotext -raw`: content stream order). */
async function pdfText(pdf: string | Uint8Array): Promise<string> {
  const file = path.join(await mkdtemp(path.join(fixtureTempRoot(), 'searchable-')), 'doc.pdf');
  await writeFile(file, typeof pdf === 'string' ? Buffer.from(pdf, 'base64') : pdf);
  const { stdout, stderr } = await promisify(execFile)('pdftotext', ['-raw', '-enc', 'UTF-8', file, '-']);
  // poppler complains on stderr about a malformed embedded font (the text would still come out)
  assert.equal(stderr, '', `pdftotext: ${stderr}`);
  return stdout;
}

/** The fonts of a PDF as poppler-utils' pdffonts lists them: [name, type, embedded]. */
async function pdfFonts(pdf: Uint8Array): Promise<Array<[string, string, boolean]>> {
  const file = path.join(await mkdtemp(path.join(fixtureTempRoot(), 'searchable-')), 'doc.pdf');
  await writeFile(file, pdf);
  const { stdout } = await promisify(execFile)('pdffonts', [file]);
  // columns: name, type (may hold spaces), encoding, emb, sub, uni, object ID
  return stdout
    .split('\n')
    .slice(2)
    .filter((l) => l.trim())
    .map((l) => {
      const m = /^(\S+)\s+(.+?)\s+(\S+)\s+(yes|no)\s+(yes|no)\s+(yes|no)\s+\d+\s+\d+$/.exec(l.trim());
      assert.ok(m, `pdffonts line: ${l}`);
      return [m[1]!, m[2]!, m[4] === 'yes'];
    });
}

const STREET_SIGN = path.join(REPO_ROOT, '..', 'shared', 'golden', 'ocr', 'images', 'street_sign.png');

/** A white page with its lines, as the workers send it. */
async function whitePage(lines: SearchablePage['lines']): Promise<SearchablePage> {
  const width = 400;
  const height = 60 * lines.length;
  const jpeg = await encodeJpeg({ width, height, data: new Uint8Array(width * height * 3).fill(255) }, 90);
  return { jpeg, width, height, lines };
}

const cer = (pdf: string, reference: string) => characterErrorRate(withoutSpaces(pdf), withoutSpaces(reference));

describe('searchable PDF (pipeserve): page images with an invisible text layer, read back with pdftotext', () => {
  let ocr: RunningServer;
  let layout: RunningServer;
  before(async () => {
    ocr = await startServer({ pipelines: [path.join(REPO_ROOT, 'configs', 'OCR.yaml')] });
    const dir = await layoutFixtureDir(PAGE_WIDTH, PAGE_HEIGHT, RICH);
    layout = await startServer({ pipelines: [await layoutPipelineYaml('PP-StructureV3', dir)] });
  });
  after(async () => {
    await ocr?.close();
    await layout?.close();
  });

  test('/ocr: the recognised lines in order (CER ≤ 1 %); without the field there is no PDF', async () => {
    const { png } = await renderTextImage(['Searchable text layers help', 'readers find words in scans', 'of printed pages quickly']);
    const file = Buffer.from(png).toString('base64');
    const res = await postJson(`${ocr.url}/ocr`, { file, fileType: 1, visualize: false, searchablePdf: true });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const texts: string[] = res.body.result.ocrResults[0].prunedResult.rec_texts;
    assert.equal(texts.length, 3);
    const extracted = await pdfText(res.body.result.searchablePdf);
    assert.ok(cer(extracted, texts.join('\n')) <= 0.01, `pdftotext: ${JSON.stringify(extracted)} vs ${JSON.stringify(texts)}`);
    const plain = await postJson(`${ocr.url}/ocr`, { file, fileType: 1, visualize: false });
    assert.equal(plain.body.result.searchablePdf, undefined);
  });

  test('/ocr on the street sign: the Chinese lines come back from the text layer (CER ≤ 1 %)', async () => {
    const file = (await readFile(STREET_SIGN)).toString('base64');
    const res = await postJson(`${ocr.url}/ocr`, { file, fileType: 1, visualize: false, searchablePdf: true });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const texts: string[] = res.body.result.ocrResults[0].prunedResult.rec_texts;
    assert.ok(
      texts.some((t) => /[\u4e00-\u9fff]{3}/.test(t)),
      `Chinese lines expected: ${JSON.stringify(texts)}`,
    );
    const extracted = await pdfText(res.body.result.searchablePdf);
    assert.ok(cer(extracted, texts.join('\n')) <= 0.01, `pdftotext: ${JSON.stringify(extracted)} vs ${JSON.stringify(texts)}`);
    assert.match(extracted, /国土交通省/);
  });

  test('/layout-parsing: the text block by block in reading order (CER ≤ 1 % against the blocks), one page per page', async () => {
    const file = renderPage(PAGE_WIDTH, PAGE_HEIGHT, RICH).toString('base64');
    const res = await postJson(`${layout.url}/layout-parsing`, { file, fileType: 1, visualize: false, searchablePdf: true });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const blocks = res.body.result.layoutParsingResults[0].prunedResult.parsing_res_list;
    const reference = blocks.map((b: { block_content: string }) => b.block_content).join('\n');
    const extracted = await pdfText(res.body.result.searchablePdf);
    assert.ok(cer(extracted, reference) <= 0.01, `pdftotext: ${JSON.stringify(extracted)} vs ${JSON.stringify(reference)}`);
    assert.equal(extracted.split('\f').filter((p) => p.trim()).length, 1);
  });
});

describe('searchable PDF fonts: Helvetica for Latin lines, a Noto Sans Hans subset for the others', () => {
  const loadNoto = () => new Uint8Array(readFileSync(bundledFontPath()));

  test('a Latin-only document embeds no font file (the standard Helvetica), even with the Unicode font at hand', async () => {
    let loaded = false;
    const built = await buildSearchablePdf([await whitePage([{ text: 'Plain Latin text, café', box: [10, 10, 390, 50] }])], () => {
      loaded = true;
      return loadNoto();
    });
    assert.equal(loaded, false);
    assert.deepEqual(built.unencodable, []);
    assert.deepEqual(await pdfFonts(built.pdf), [['Helvetica', 'Type 1', false]]);
    assert.match(await pdfText(built.pdf), /Plain Latin text, café/);
  });

  test('Chinese and mixed lines in the subset, Latin lines in Helvetica; a character neither font has is reported and left out', async () => {
    const lines = [
      { text: '海上保安厅', box: [10, 10, 390, 50] },
      { text: 'Japan Coast Guard', box: [10, 70, 390, 110] },
      { text: '光厅 Tourism 😀 Agency', box: [10, 130, 390, 170] },
    ];
    const built = await buildSearchablePdf([await whitePage(lines)], loadNoto);
    assert.deepEqual(built.unencodable, ['😀']);
    const fonts = await pdfFonts(built.pdf);
    assert.equal(fonts.length, 2, JSON.stringify(fonts));
    assert.ok(
      fonts.some(([name, type, embedded]) => name.includes('NotoSansHans') && type === 'CID Type 0C' && embedded),
      `the CJK font is embedded: ${JSON.stringify(fonts)}`,
    );
    assert.ok(
      fonts.some(([name]) => name === 'Helvetica'),
      'Latin lines keep the standard font',
    );
    assert.ok(built.pdf.length < 200_000, `a subset, not the 8 MB font: ${built.pdf.length} bytes`);
    const extracted = await pdfText(built.pdf);
    assert.deepEqual(
      extracted.split('\n').filter((l) => l.trim()),
      ['海上保安厅', 'Japan Coast Guard', '光厅 Tourism Agency'],
      extracted,
    );
  });

  test('without the Unicode font, non-Latin characters are reported and the Latin ones kept', async () => {
    const built = await buildSearchablePdf([await whitePage([{ text: 'Tokyo 東京', box: [10, 10, 390, 50] }])]);
    assert.deepEqual(built.unencodable.sort(), ['京', '東']);
    assert.match(await pdfText(built.pdf), /^Tokyo/);
  });
});
