import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { characterErrorRate, withoutSpaces } from './helpers/cer.js';
import { fixtureTempRoot } from './helpers/fixtures.js';
import { layoutFixtureDir, layoutPipelineYaml, PAGE_HEIGHT, PAGE_WIDTH, RICH, renderPage } from './helpers/layoutDocs.js';
import { REPO_ROOT } from './helpers/paths.js';
import { postJson, type RunningServer, startServer } from './helpers/server.js';
import { renderTextImage } from './helpers/textImages.js';

/** The text layer of a PDF as Debian's poppler-utils reads it (`pdftotext -raw`: content stream order). */
async function pdfText(base64: string): Promise<string> {
  const file = path.join(await mkdtemp(path.join(fixtureTempRoot(), 'searchable-')), 'doc.pdf');
  await writeFile(file, Buffer.from(base64, 'base64'));
  const { stdout } = await promisify(execFile)('pdftotext', ['-raw', '-enc', 'UTF-8', file, '-']);
  return stdout;
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
