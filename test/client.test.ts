/**
 * `@pipeserve/client` (packages/client) against a live server: one pipeline of each input kind
 * (image: OCR and object detection; document: OCR of a PDF; csv: time-series forecasting; none:
 * ShiTu's index building), retries on 503, the deadline, the API key, and the generated files
 * being those the descriptors give now. The `@ts-expect-error` lines are compiled by `npm run
 * build`: were the generated types loose, they would be unused and the build would fail.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createPipeserveClient, type EndpointResult, PipeserveError } from '@pipeserve/client';
import { CLIENT_DIR, generatedClientFiles } from '../scripts/generateClient.js';
import { detectorFixtureDir, fixturePipelineYaml } from './helpers/fixtures.js';
import { makePdf } from './helpers/inputs.js';
import { OPENCV_DATA, REPO_ROOT, SHARED_MODELS, SKIMAGE_DATA } from './helpers/paths.js';
import { recognitionConformance } from './helpers/recognitionFixtures.js';
import { type RunningServer, startServer } from './helpers/server.js';
import { renderTextImage } from './helpers/textImages.js';

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const MESSI = path.join(OPENCV_DATA, 'messi5.jpg');
const CO2_CSV = path.join(SHARED_MODELS, 'ts', 'DLinear', 'test.csv');
const shitu = recognitionConformance('PP-ShiTuV2', '/shitu', path.join(SKIMAGE_DATA, 'coffee.png'));

test('the committed openapi.json and schema.ts are what `npm run generate:client` makes from the descriptors now', async () => {
  for (const [name, text] of Object.entries(await generatedClientFiles())) {
    assert.equal(await readFile(path.join(CLIENT_DIR, name), 'utf8'), text, `${name} is stale: run npm run generate:client`);
  }
});

describe('@pipeserve/client against a live server', () => {
  let server: RunningServer;
  let client: ReturnType<typeof createPipeserveClient>;
  let textPng: Uint8Array;

  before(async () => {
    const pipelines = [
      path.join(REPO_ROOT, 'configs', 'OCR.yaml'),
      await fixturePipelineYaml('object_detection', detectorFixtureDir()),
      await fixturePipelineYaml('ts_forecast', path.join(SHARED_MODELS, 'ts', 'DLinear')),
      await shitu.yaml(),
    ];
    // OCR: one instance and room for one waiting task, so a burst of requests meets 503s
    server = await startServer({ pipelines, workers: 1, pipelineMaxQueue: { OCR: 1 } });
    client = createPipeserveClient({ baseUrl: server.url });
    textPng = (await renderTextImage(['Typed clients catch mistakes'], { fontSize: 32 })).png;
  });
  after(() => server?.close());

  test("the live /openapi.json describes its endpoints exactly as the client's committed document", async () => {
    const committed = JSON.parse(await readFile(path.join(CLIENT_DIR, 'openapi.json'), 'utf8'));
    const live = (await (await fetch(`${server.url}/openapi.json`)).json()) as typeof committed;
    const servedPaths = Object.keys(live.paths);
    assert.ok(servedPaths.includes('/ocr') && servedPaths.includes('/shitu-index-build'), servedPaths.join(' '));
    for (const p of servedPaths) assert.deepEqual(live.paths[p], committed.paths[p], p);
  });

  test('image: OCR of a rendered line returns its text, typed', async () => {
    const result = await client.infer('/ocr', { file: b64(textPng), fileType: 1, visualize: false });
    const texts: string[] = result.ocrResults[0]!.prunedResult.rec_texts;
    assert.match(texts.join(' '), /Typed clients catch mistakes/);
    assert.equal(result.dataInfo.type, 'image');
  });

  test('image: object detection finds the person in messi5.jpg, typed', async () => {
    const result: EndpointResult<'/object-detection'> = await client.infer('/object-detection', {
      image: b64(await readFile(MESSI)),
      threshold: 0.5,
    });
    assert.ok(
      result.detectedObjects.some((o) => o.categoryName === 'person' && o.score >= 0.5),
      JSON.stringify(result.detectedObjects),
    );
    assert.equal(typeof result.image, 'string', 'the visualisation is on by default');
  });

  test('document: OCR of a two-page PDF answers page by page', async () => {
    const pdf = await makePdf([['First page of the report'], ['Second page of the report']]);
    const result = await client.infer('/ocr', { file: b64(pdf), fileType: 0, visualize: false });
    assert.equal(result.dataInfo.type, 'pdf');
    assert.equal(result.ocrResults.length, 2);
    assert.match(result.ocrResults[0]!.prunedResult.rec_texts.join(' '), /First page/);
    assert.match(result.ocrResults[1]!.prunedResult.rec_texts.join(' '), /Second page/);
  });

  test('csv: time-series forecasting returns a CSV forecast', async () => {
    const result = await client.infer('/time-series-forecasting', { csv: b64(await readFile(CO2_CSV)) });
    const forecast = Buffer.from(result.csv, 'base64').toString('utf8').trim().split('\n');
    assert.ok(forecast.length > 1, forecast.join('\n'));
  });

  test('none: ShiTu builds an index from image-label pairs and then recognises with it', async () => {
    const coffee = b64(await readFile(path.join(SKIMAGE_DATA, 'coffee.png')));
    const built = await client.infer('/shitu-index-build', { imageLabelPairs: [{ image: coffee, label: 'coffee' }] });
    assert.equal(typeof built.indexKey, 'string');
    assert.equal(built.imageCount, 1);
    const found = await client.infer('/shitu-infer', { image: coffee, indexKey: built.indexKey });
    assert.ok(Array.isArray(found.detectedObjects));
  });

  test('what the type check refuses, the server refuses too (422)', async () => {
    const refused = (call: () => Promise<unknown>) =>
      assert.rejects(call, (err: unknown) => err instanceof PipeserveError && err.status === 422 && err.errorCode === 422);
    // @ts-expect-error OCR's input field is `file`, not `image`
    await refused(() => client.infer('/ocr', { image: b64(textPng) }));
    // @ts-expect-error fileType is 0 (PDF) or 1 (image), not a name
    await refused(() => client.infer('/ocr', { file: b64(textPng), fileType: 'image' }));
    // @ts-expect-error threshold is a number or a map of class ids to numbers
    await refused(() => client.infer('/object-detection', { image: b64(textPng), threshold: 'high' }));
  });

  test('results are typed: a field the schema lacks does not compile', async () => {
    const result = await client.infer('/object-detection', { image: b64(await readFile(MESSI)), visualize: false });
    // @ts-expect-error detection results have no OCR texts
    assert.equal(result.rec_texts, undefined);
    assert.equal(result.image, undefined, 'visualize: false leaves the image out');
  });

  test('503 (OCR busy) is retried with backoff until admitted; with no retries the caller gets the 503', async () => {
    const statuses: number[] = [];
    const recordingFetch: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      statuses.push(response.status);
      return response;
    };
    const burst = (c: ReturnType<typeof createPipeserveClient>) =>
      Promise.allSettled(Array.from({ length: 4 }, () => c.infer('/ocr', { file: b64(textPng), fileType: 1, visualize: false })));

    const patient = createPipeserveClient({ baseUrl: server.url, fetch: recordingFetch, minRetryDelayMs: 100, retries: 20 });
    const settled = await burst(patient);
    assert.deepEqual(
      settled.map((s) => s.status),
      ['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled'],
    );
    assert.ok(statuses.includes(503), `no request met a full queue: ${statuses.join(',')}`);
    assert.equal(statuses.filter((s) => s === 200).length, 4);

    const impatient = createPipeserveClient({ baseUrl: server.url, retries: 0 });
    const rejected = (await burst(impatient)).filter((s) => s.status === 'rejected');
    assert.ok(rejected.length >= 1, 'with one instance and one queue slot, four at once cannot all be admitted');
    for (const r of rejected) assert.ok(r.reason instanceof PipeserveError && r.reason.status === 503, String(r.reason));
  });

  test('a call past its deadline fails with a clear message', async () => {
    const hasty = createPipeserveClient({ baseUrl: server.url, timeoutMs: 5 });
    const pdf = await makePdf([['A page that takes longer than 5 ms to read']]);
    await assert.rejects(hasty.infer('/ocr', { file: b64(pdf), fileType: 0 }), /POST \/ocr: no answer within 5 ms \(timeoutMs\)/);
  });
});

describe('@pipeserve/client with --api-key', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({
      pipelines: [await fixturePipelineYaml('ts_forecast', path.join(SHARED_MODELS, 'ts', 'DLinear'))],
      apiKey: 'secret-key',
    });
  });
  after(() => server?.close());

  test('calls carry the key; without it the server answers 401', async () => {
    const csv = b64(await readFile(CO2_CSV));
    const result = await createPipeserveClient({ baseUrl: server.url, apiKey: 'secret-key' }).infer('/time-series-forecasting', { csv });
    assert.equal(typeof result.csv, 'string');
    await assert.rejects(
      createPipeserveClient({ baseUrl: server.url }).infer('/time-series-forecasting', { csv }),
      (err: unknown) => err instanceof PipeserveError && err.status === 401,
    );
  });
});
