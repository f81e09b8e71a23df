/**
 * The basic-serving HTTP API end to end: real workers, real models (fixtures), real HTTP on loopback.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { classifierFixtureDir, detectorFixtureDir, fixturePipelineYaml } from './helpers/fixtures.js';
import { pngBomb, startTestServer, truncatedJpeg, type TestServer } from './helpers/inputs.js';
import { OPENCV_DATA, SHARED_MODELS, SKIMAGE_DATA } from './helpers/paths.js';
import { assertErrorEnvelope, postJson, startServer, type RunningServer } from './helpers/server.js';

const CAT_CLASSES = ['Egyptian cat', 'Tiger cat', 'Tabby'];
const b64 = async (file: string) => (await readFile(file)).toString('base64');

describe('basic serving: classification + detection on one port', () => {
  let server: RunningServer;
  let fileServer: TestServer;
  const accessLog: string[] = [];

  before(async () => {
    const classifier = await fixturePipelineYaml('image_classification', await classifierFixtureDir());
    const detector = await fixturePipelineYaml('object_detection', await detectorFixtureDir());
    const small = await fixturePipelineYaml('small_object_detection', await detectorFixtureDir());
    server = await startServer({ pipelines: [classifier, detector, small], workers: 2, maxBodyMb: 8, accessLog });
    const messi = await readFile(path.join(OPENCV_DATA, 'messi5.jpg'));
    fileServer = await startTestServer((_req, res) => res.end(messi));
  });
  after(async () => {
    await server?.close();
    await fileServer?.close();
  });

  test('GET /health is healthy', async () => {
    const res = await fetch(`${server.url}/health`);
    const body = await res.json();
    assert.equal(res.status, 200);
    assert.equal(body.errorCode, 0);
    assert.equal(body.errorMsg, 'Healthy');
    assert.match(body.logId, /^[0-9a-f-]{36}$/);
  });

  test('image classification: chelsea.png is a cat, orange.jpg an orange; probabilities', async () => {
    const cat = await postJson(`${server.url}/image-classification`, {
      image: await b64(path.join(SKIMAGE_DATA, 'chelsea.png')),
      visualize: false,
    });
    assert.equal(cat.status, 200);
    assert.deepEqual(Object.keys(cat.body), ['logId', 'result', 'errorCode', 'errorMsg']);
    assert.equal(cat.body.errorMsg, 'Success');
    const categories = cat.body.result.categories;
    assert.equal(categories.length, 5, 'topk defaults to 5 (YAML)');
    assert.ok(CAT_CLASSES.includes(categories[0].name), `top-1 ${categories[0].name}`);
    assert.deepEqual(Object.keys(categories[0]), ['id', 'name', 'score']);
    assert.ok(categories[0].score > 0 && categories[0].score <= 1);
    assert.ok(!('image' in cat.body.result), 'no image when visualize is false');

    const orange = await postJson(`${server.url}/image-classification`, {
      image: await b64(path.join(OPENCV_DATA, 'orange.jpg')),
      topk: 2,
      visualize: null,
    });
    assert.equal(orange.status, 200);
    assert.equal(orange.body.result.categories.length, 2);
    assert.equal(orange.body.result.categories[0].name, 'Orange');
    const vis = await sharp(Buffer.from(orange.body.result.image, 'base64')).metadata();
    assert.equal(vis.format, 'jpeg', 'visualize defaults to Serving.visualize (true)');
  });

  test('object detection: messi5 has a person ≥ 0.9 and a sports ball; bus.jpg a bus', async () => {
    const messi = await postJson(`${server.url}/object-detection`, {
      image: await b64(path.join(OPENCV_DATA, 'messi5.jpg')),
      visualize: true,
    });
    assert.equal(messi.status, 200);
    const objects = messi.body.result.detectedObjects;
    assert.deepEqual(Object.keys(objects[0]), ['bbox', 'categoryId', 'categoryName', 'score']);
    assert.ok(objects.some((o: any) => o.categoryName === 'person' && o.score >= 0.9));
    assert.ok(objects.some((o: any) => o.categoryName === 'sports ball'));
    const meta = await sharp(Buffer.from(messi.body.result.image, 'base64')).metadata();
    const input = await sharp(path.join(OPENCV_DATA, 'messi5.jpg')).metadata();
    assert.deepEqual([meta.width, meta.height], [input.width, input.height]);

    const bus = await postJson(`${server.url}/small-object-detection`, {
      image: await b64(path.join(SHARED_MODELS, 'PicoDet-XS/bus.jpg')),
      visualize: false,
    });
    assert.equal(bus.status, 200);
    assert.ok(bus.body.result.detectedObjects.some((o: any) => o.categoryName === 'bus'));
  });

  test('threshold as a number and as a per-class map', async () => {
    const image = await b64(path.join(OPENCV_DATA, 'messi5.jpg'));
    const high = await postJson(`${server.url}/object-detection`, { image, threshold: 0.9, visualize: false });
    assert.ok(high.body.result.detectedObjects.every((o: any) => o.score >= 0.9));
    const onlyBall = await postJson(`${server.url}/object-detection`, { image, threshold: { '0': 0.99, '32': 0.3 }, visualize: false });
    assert.equal(onlyBall.status, 200);
    assert.ok(!onlyBall.body.result.detectedObjects.some((o: any) => o.categoryId === 0 && o.score < 0.99));
    assert.ok(onlyBall.body.result.detectedObjects.some((o: any) => o.categoryId === 32));
  });

  test('data-URI prefix, null optionals and unknown fields are accepted', async () => {
    const res = await postJson(`${server.url}/image-classification`, {
      image: `data:image/png;base64,${await b64(path.join(SKIMAGE_DATA, 'chelsea.png'))}`,
      topk: null,
      visualize: false,
      somethingElse: 42,
    });
    assert.equal(res.status, 200);
    assert.ok(CAT_CLASSES.includes(res.body.result.categories[0].name));
  });

  test('an image URL is fetched only when private addresses are allowed', async () => {
    const refused = await postJson(`${server.url}/object-detection`, { image: `${fileServer.url}/messi5.jpg` });
    assert.match(assertErrorEnvelope(refused, 422), /--allow-private-urls/);
  });

  test('validation errors are pydantic-shaped 422s', async () => {
    const missing = await postJson(`${server.url}/image-classification`, { topk: 1 });
    const errors = JSON.parse(assertErrorEnvelope(missing, 422));
    assert.equal(errors[0].type, 'missing');
    assert.deepEqual(errors[0].loc, ['body', 'image']);
    assert.equal(errors[0].msg, 'Field required');

    const wrongTypes = await postJson(`${server.url}/image-classification`, { image: 123, topk: 'five', visualize: 'yes' });
    const typeErrors = JSON.parse(assertErrorEnvelope(wrongTypes, 422));
    assert.deepEqual(typeErrors.map((e: any) => e.loc.at(-1)).sort(), ['image', 'topk', 'visualize']);

    const zeroTopk = JSON.parse(assertErrorEnvelope(await postJson(`${server.url}/image-classification`, { image: 'x', topk: 0 }), 422));
    assert.equal(zeroTopk[0].type, 'greater_than');

    const badMap = await postJson(`${server.url}/object-detection`, { image: 'x', threshold: { person: 0.5 } });
    assertErrorEnvelope(badMap, 422);

    const notJson = await postJson(`${server.url}/object-detection`, '{"image": ');
    assert.equal(JSON.parse(assertErrorEnvelope(notJson, 422))[0].type, 'json_invalid');
    const notObject = await postJson(`${server.url}/object-detection`, '[1,2]');
    assertErrorEnvelope(notObject, 422);
  });

  test('bad inputs get 422 envelopes that say what was wrong', async () => {
    const url = `${server.url}/image-classification`;
    assert.match(assertErrorEnvelope(await postJson(url, { image: 'not base64 at all!!' }), 422), /image.*Base64/i);
    assert.match(
      assertErrorEnvelope(await postJson(url, { image: Buffer.from('hello, I am not an image').toString('base64') }), 422),
      /image/,
    );
    assert.match(
      assertErrorEnvelope(await postJson(url, { image: Buffer.from(await truncatedJpeg()).toString('base64') }), 422),
      /truncated|corrupt/i,
    );
    const started = Date.now();
    const bomb = await postJson(url, { image: Buffer.from(await pngBomb()).toString('base64') });
    assert.match(assertErrorEnvelope(bomb, 422), /30000/);
    assert.ok(Date.now() - started < 5000, 'a decompression bomb is refused from its header');
  });

  test('an over-size body gets 413, unknown paths 404, wrong methods 405', async () => {
    const big = await postJson(`${server.url}/image-classification`, { image: 'A'.repeat(9 * 2 ** 20) });
    assert.match(assertErrorEnvelope(big, 413), /8 MB/);
    assertErrorEnvelope(
      { status: (await fetch(`${server.url}/nope`)).status, body: await (await fetch(`${server.url}/nope`)).json() },
      404,
    );
    const wrongMethod = await fetch(`${server.url}/object-detection`);
    assert.equal(assertErrorEnvelope({ status: wrongMethod.status, body: await wrongMethod.json() }, 405), 'Method Not Allowed');
  });

  test('OpenAPI document and Swagger UI are served', async () => {
    const spec = await (await fetch(`${server.url}/openapi.json`)).json();
    assert.ok(spec.paths['/image-classification'].post);
    assert.ok(spec.paths['/object-detection'].post.requestBody);
    assert.equal(spec.paths['/health'].get.operationId, 'checkHealth');
    const docs = await fetch(`${server.url}/docs/`);
    assert.equal(docs.status, 200);
    assert.match(await docs.text(), /swagger/i);
  });

  test('access log: one uvicorn-style line per request, none for /health', async () => {
    accessLog.length = 0;
    await fetch(`${server.url}/health`);
    await postJson(`${server.url}/object-detection`, { image: 'x' });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(accessLog.length, 1, accessLog.join('\n'));
    assert.match(accessLog[0]!, /^INFO: {5}127\.0\.0\.1:\d+ - "POST \/object-detection HTTP\/1\.1" 422 Unprocessable Entity$/);
  });

  test('the server is still healthy after all of that', async () => {
    const res = await fetch(`${server.url}/health`);
    assert.equal(res.status, 200);
    assert.equal(server.service.pipelines[0]!.pool.stats().live, 2);
  });
});

describe('URL inputs when private addresses are allowed', () => {
  let server: RunningServer;
  let files: TestServer;
  before(async () => {
    server = await startServer({
      pipelines: [await fixturePipelineYaml('object_detection', await detectorFixtureDir())],
      fetchLimits: { allowPrivate: true, timeoutMs: 500, maxBytes: 5 * 2 ** 20 },
    });
    const messi = await readFile(path.join(OPENCV_DATA, 'messi5.jpg'));
    files = await startTestServer((req, res) => {
      if (req.url === '/messi5.jpg') return res.end(messi);
      if (req.url === '/slow.jpg') return void setTimeout(() => res.end(messi), 10_000).unref();
      if (req.url === '/huge.jpg') {
        res.writeHead(200, { 'content-length': String(64 * 2 ** 20) });
        res.on('error', () => {});
        return res.write(Buffer.alloc(1 << 20));
      }
      res.statusCode = 404;
      res.end();
    });
  });
  after(async () => {
    await server?.close();
    await files?.close();
  });

  test('a reachable URL works', async () => {
    const res = await postJson(`${server.url}/object-detection`, { image: `${files.url}/messi5.jpg`, visualize: false });
    assert.equal(res.status, 200);
    assert.ok(res.body.result.detectedObjects.some((o: any) => o.categoryName === 'person'));
  });

  test('404, slow and huge URLs are 422s that name the problem', async () => {
    assert.match(assertErrorEnvelope(await postJson(`${server.url}/object-detection`, { image: `${files.url}/missing.jpg` }), 422), /404/);
    const started = Date.now();
    assert.match(
      assertErrorEnvelope(await postJson(`${server.url}/object-detection`, { image: `${files.url}/slow.jpg` }), 422),
      /timed out/i,
    );
    assert.ok(Date.now() - started < 3000);
    assert.match(
      assertErrorEnvelope(await postJson(`${server.url}/object-detection`, { image: `${files.url}/huge.jpg` }), 422),
      /larger than/i,
    );
    assert.equal((await fetch(`${server.url}/health`)).status, 200);
  });
});

describe('API key', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({
      pipelines: [await fixturePipelineYaml('object_detection', await detectorFixtureDir())],
      apiKey: 's3cret',
    });
  });
  after(() => server?.close());

  test('requests need "Authorization: Bearer <key>"; /health does not', async () => {
    const body = { image: await b64(path.join(SHARED_MODELS, 'PicoDet-XS/dog.jpg')), visualize: false };
    assertErrorEnvelope(await postJson(`${server.url}/object-detection`, body), 401);
    assertErrorEnvelope(await postJson(`${server.url}/object-detection`, body, { authorization: 'Bearer wrong' }), 401);
    const ok = await postJson(`${server.url}/object-detection`, body, { authorization: 'Bearer s3cret' });
    assert.equal(ok.status, 200);
    assert.equal((await fetch(`${server.url}/health`)).status, 200);
  });
});
