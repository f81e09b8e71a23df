/**
 * The playground at `GET /`: its caching headers, `--no-playground`, `--api-key`, and an end-to-end
 * run in headless Chromium (Debian's chromium driven by playwright-core): a rendered text image
 * through `/ocr` and a photo through `/object-detection`, the drawn result image and the
 * recognised text found on the page, and the page's curl command run for real. Screenshots go to
 * test-artifacts/.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { type Browser, chromium, type Page } from 'playwright-core';
import { IMMUTABLE_CACHE } from '../src/serving/basic/playground.js';
import { detectorFixtureDir, fixturePipelineYaml } from './helpers/fixtures.js';
import { OPENCV_DATA, REPO_ROOT } from './helpers/paths.js';
import { assertErrorEnvelope, postJson, type RunningServer, startServer } from './helpers/server.js';
import { renderTextImage } from './helpers/textImages.js';

const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts');
const MESSI = path.join(OPENCV_DATA, 'messi5.jpg');
const TEXT_LINES = ['Playground reads this line'];
/** the line as matched in answers: the recogniser may drop a space between words, as PaddleOCR's does */
const RECOGNISED = /Playground ?reads ?this ?line/;

/**
 * Debian's Chromium (installed by .ci/run); the flags keep it off the network it would otherwise
 * call at start (updates, sync, Google lookups), which this closed machine refuses.
 */
function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

const textOf = async (page: Page, selector: string) => (await page.locator(selector).textContent()) ?? '';

async function runEndpoint(page: Page, endpoint: string, file: { name: string; mimeType: string; buffer: Buffer }): Promise<void> {
  await page.selectOption('#endpoint', endpoint);
  await page.setInputFiles('input[type=file]', file);
  await page.getByRole('button', { name: 'Run' }).click();
  await page.locator('.status').waitFor({ timeout: 120_000 });
  assert.match(await textOf(page, '.status'), /HTTP 200/, await textOf(page, 'main'));
}

/** Widths of the result images as the browser decoded them (0 = not a picture). */
const shownImageWidths = (page: Page) =>
  page.locator('.images img').evaluateAll((imgs) => imgs.map((img) => (img as HTMLImageElement).naturalWidth));

describe('the playground in headless Chromium', () => {
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let textPng: Buffer;

  before(async () => {
    const pipelines = [path.join(REPO_ROOT, 'configs', 'OCR.yaml'), await fixturePipelineYaml('object_detection', detectorFixtureDir())];
    server = await startServer({ pipelines, workers: 1 });
    textPng = Buffer.from((await renderTextImage(TEXT_LINES, { fontSize: 32 })).png);
    await mkdir(ARTIFACTS, { recursive: true });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(`${server.url}/`);
    // the endpoint list is filled from /openapi.json after the page loads
    await page.waitForFunction(() => document.querySelectorAll('#endpoint option').length > 0);
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('every served endpoint is offered, with its request fields as a form', async () => {
    const offered = await page.locator('#endpoint option').evaluateAll((options) => options.map((o) => (o as HTMLOptionElement).value));
    assert.deepEqual(offered.sort(), ['/object-detection', '/ocr']);
    await page.selectOption('#endpoint', '/ocr');
    for (const field of ['fileType', 'textDetThresh', 'textDetLimitType', 'useTextlineOrientation', 'visualize']) {
      assert.equal(await page.locator(`[name=${field}]`).count(), 1, field);
    }
    assert.equal(await page.locator('[name=textDetThresh]').getAttribute('type'), 'number');
    const limitTypes = await page.locator('[name=textDetLimitType] option').allInnerTexts();
    assert.ok(limitTypes.includes('max') && limitTypes.includes('min'), limitTypes.join(','));
  });

  test('/ocr: the drawn result image and the recognised text show side by side; the curl command gives the same answer', async () => {
    await runEndpoint(page, '/ocr', { name: 'line.png', mimeType: 'image/png', buffer: textPng });
    const widths = await shownImageWidths(page);
    assert.ok(widths.length >= 1 && widths.every((w) => w > 0), `result images: ${widths}`);
    const json = await textOf(page, '.json pre');
    assert.match(json, RECOGNISED);
    assert.match(json, /<image, \d+ KB: shown beside>/, 'the Base64 image is shown as a picture, not as text');
    await page.screenshot({ path: path.join(ARTIFACTS, 'playground-ocr.png'), fullPage: true });

    const command = await page.locator('#curl').inputValue();
    assert.match(command, /base64 < 'line\.png'/);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pipeserve-curl-'));
    try {
      await writeFile(path.join(dir, 'line.png'), textPng);
      const { stdout } = await promisify(execFile)('bash', ['-c', command], { cwd: dir, maxBuffer: 64 * 2 ** 20 });
      const answer = JSON.parse(stdout);
      assert.equal(answer.errorCode, 0, stdout.slice(0, 300));
      assert.match(answer.result.ocrResults[0].prunedResult.rec_texts.join(' '), RECOGNISED);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('/object-detection on a photo: the drawn boxes image and the person found', async () => {
    await runEndpoint(page, '/object-detection', { name: 'messi5.jpg', mimeType: 'image/jpeg', buffer: await readFile(MESSI) });
    const widths = await shownImageWidths(page);
    assert.deepEqual(widths, [548], 'the visualisation has the photo size');
    assert.match(await textOf(page, '.json pre'), /"categoryName": "person"/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'playground-detection.png'), fullPage: true });
  });

  test('a field set in the form is sent: visualize false leaves the image out', async () => {
    await page.selectOption('#endpoint', '/object-detection');
    await page.selectOption('[name=visualize]', 'false');
    assert.match(await page.locator('#curl').inputValue(), /"visualize":false/);
    await page.setInputFiles('input[type=file]', { name: 'messi5.jpg', mimeType: 'image/jpeg', buffer: await readFile(MESSI) });
    await page.getByRole('button', { name: 'Run' }).click();
    await page.locator('.status').waitFor();
    assert.deepEqual(await shownImageWidths(page), []);
    assert.match(await textOf(page, '.json pre'), /"detectedObjects"/);
  });
});

describe('the playground over HTTP', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ pipelines: [await fixturePipelineYaml('object_detection', detectorFixtureDir())], apiKey: 'k3y' });
  });
  after(() => server?.close());

  test('index.html is revalidated on every load; hashed assets are cached for good', async () => {
    const index = await fetch(`${server.url}/`);
    assert.equal(index.status, 200);
    assert.match(index.headers.get('content-type') ?? '', /text\/html/);
    assert.equal(index.headers.get('cache-control'), 'no-cache');
    assert.ok(index.headers.get('etag'));
    const html = await index.text();
    const assets = [...html.matchAll(/(?:src|href)="\.\/(assets\/[^"]+)"/g)].map((m) => m[1]!);
    assert.ok(assets.some((a) => a.endsWith('.js')) && assets.some((a) => a.endsWith('.css')), html);
    for (const asset of assets) {
      assert.match(asset, /-[\w-]{8}\.(js|css)$/, 'built asset names carry a content hash');
      const res = await fetch(`${server.url}/${asset}`);
      assert.equal(res.status, 200, asset);
      assert.equal(res.headers.get('cache-control'), IMMUTABLE_CACHE);
    }
    assert.doesNotMatch(html, /https?:\/\//, 'nothing is loaded from another host');
  });

  test('with --api-key the page loads without the key, the endpoints still need it', async () => {
    assert.equal((await fetch(`${server.url}/`)).status, 200);
    assertErrorEnvelope(await postJson(`${server.url}/object-detection`, { image: 'x' }), 401);
  });

  test('in the browser the page asks for the key once and keeps it for the tab', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${server.url}/`);
      await page.fill('input[name=apiKey]', 'wrong');
      await page.getByRole('button', { name: 'Use key' }).click();
      await page.setInputFiles('input[type=file]', { name: 'messi5.jpg', mimeType: 'image/jpeg', buffer: await readFile(MESSI) });
      await page.getByRole('button', { name: 'Run' }).click();
      await page.getByText('The server refused that API key').waitFor();
      await page.fill('input[name=apiKey]', 'k3y');
      await page.getByRole('button', { name: 'Use key' }).click();
      await page.reload();
      assert.equal(await page.locator('input[name=apiKey]').count(), 0, 'asked once per tab');
      await runEndpoint(page, '/object-detection', { name: 'messi5.jpg', mimeType: 'image/jpeg', buffer: await readFile(MESSI) });
    } finally {
      await browser.close();
    }
  });
});

test('--no-playground: GET / is the API 404 envelope', async () => {
  const server = await startServer({ pipelines: [await fixturePipelineYaml('object_detection', detectorFixtureDir())], playground: false });
  try {
    const res = await fetch(`${server.url}/`);
    assertErrorEnvelope({ status: res.status, body: await res.json() }, 404);
  } finally {
    await server.close();
  }
});
