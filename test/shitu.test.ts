/**
 * PP-ShiTuV2 over HTTP with PaddleX's fields: build → infer → add → infer → remove → infer, index
 * storage (file system across restarts, memory, Redis shared by two servers), concurrent changes,
 * an index given in the YAML, and the errors. Models: the self-made PP-ShiTuV2_det / _rec fixtures
 * (test/helpers/recognitionFixtures.ts): the detector finds the centre half of any image, so a query
 * made of a gallery picture pasted in the middle of a canvas twice its size crops back to that picture.
 */
import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { resolvePipelineModels } from '../src/config/models.js';
import { parsePipelineConfig } from '../src/config/pipelineConfig.js';
import { decodeIndex, FORMAT_VERSION } from '../src/io/vectorIndex.js';
import { ppShiTuV2Pipeline } from '../src/pipelines/pp_shituv2/pipeline.js';
import { createWorkerOps, inProcessContext } from './helpers/fixtures.js';
import { startRedis, type RedisProcess } from './helpers/redis.js';
import {
  GALLERY_SIZE,
  type Pictures,
  pictures,
  recognitionYaml,
  SHITU_DET_SCORE,
  SOURCES,
  tempDir,
} from './helpers/recognitionFixtures.js';
import { assertErrorEnvelope, postJson, startServer, type RunningServer } from './helpers/server.js';

const pairs = (pics: Pictures, labels: string[]) => labels.map((label) => ({ image: pics.gallery[label]!, label }));

async function build(server: RunningServer, pics: Pictures, labels: string[]): Promise<string> {
  const res = await postJson(`${server.url}/shitu-index-build`, { imageLabelPairs: pairs(pics, labels) });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.deepEqual(Object.keys(res.body.result).sort(), ['imageCount', 'indexKey']);
  assert.equal(res.body.result.imageCount, labels.length);
  assert.match(res.body.result.indexKey, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  return res.body.result.indexKey;
}

async function infer(server: RunningServer, image: string, fields: Record<string, unknown> = {}) {
  const res = await postJson(`${server.url}/shitu-infer`, { image, visualize: false, ...fields });
  assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 400));
  return res.body.result as {
    detectedObjects: Array<{ bbox: number[]; score: number; recResults: Array<{ label: string; score: number }> }>;
  };
}

/** The labels recognised for the (single) main body of a query. */
async function labelsOf(server: RunningServer, pics: Pictures, label: string, indexKey: string): Promise<string[]> {
  const { detectedObjects } = await infer(server, pics.query[label]!, { indexKey });
  assert.equal(detectedObjects.length, 1);
  return detectedObjects[0]!.recResults.map((r) => r.label);
}

async function post(server: RunningServer, endpoint: string, body: unknown): Promise<any> {
  const res = await postJson(`${server.url}${endpoint}`, body);
  assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 400));
  return res.body.result;
}

let pics: Pictures;
before(async () => {
  pics = await pictures();
});

describe('PP-ShiTuV2 on file-system index storage', () => {
  let dir: string;
  let yaml: string;
  let server: RunningServer;
  before(async () => {
    dir = path.join(await tempDir('shitu-fs'), 'indexes');
    yaml = await recognitionYaml('PP-ShiTuV2', { extra: { index_storage: { type: 'file_system', directory: dir } } });
    server = await startServer({ pipelines: [yaml] });
  });
  after(() => server?.close());

  test('build → infer → add → infer → remove → infer, with PaddleX’s fields, ids and scores', async () => {
    const indexKey = await build(server, pics, ['cat', 'coffee', 'astronaut']);

    const first = await infer(server, pics.query.cat!, { indexKey });
    assert.deepEqual(Object.keys(first), ['detectedObjects']);
    const [cat] = first.detectedObjects;
    assert.deepEqual(Object.keys(cat!), ['bbox', 'recResults', 'score']);
    // the fixture detector's box: the centre half of the 512² query
    assert.deepEqual(cat!.bbox, [128, 128, 384, 384]);
    assert.ok(Math.abs(cat!.score - SHITU_DET_SCORE) < 1e-6);
    assert.equal(cat!.recResults[0]!.label, 'cat');
    assert.ok(cat!.recResults[0]!.score > 0.99, `the same picture scores ~1 (${cat!.recResults[0]!.score})`);
    // rec_topk 5 of a 3-entry index: all three, best first (faiss's -1 padding is dropped)
    assert.equal(cat!.recResults.length, 3);
    assert.deepEqual(
      cat!.recResults.map((r) => r.score),
      [...cat!.recResults.map((r) => r.score)].sort((a, b) => b - a),
    );

    // adds continue after the largest id: fruits gets id 3, rocket id 4
    assert.deepEqual(await post(server, '/shitu-index-add', { indexKey, imageLabelPairs: pairs(pics, ['fruits', 'rocket']) }), {
      imageCount: 5,
    });
    assert.equal((await labelsOf(server, pics, 'fruits', indexKey))[0], 'fruits');
    assert.equal((await labelsOf(server, pics, 'rocket', indexKey))[0], 'rocket');

    // remove cat (id 0) and an id that does not exist (ignored)
    assert.deepEqual(await post(server, '/shitu-index-remove', { indexKey, ids: [0, 99] }), { imageCount: 4 });
    const afterRemove = await labelsOf(server, pics, 'cat', indexKey);
    assert.ok(!afterRemove.includes('cat'), `cat was removed: ${afterRemove}`);
    assert.equal((await labelsOf(server, pics, 'coffee', indexKey))[0], 'coffee');

    // the stored ids: 1..4 (0 removed), so the next add gets 5
    const stored = decodeIndex(await readFile(path.join(dir, indexKey)), indexKey);
    assert.deepEqual(stored.ids, [1, 2, 3, 4]);
    assert.deepEqual(stored.labels, ['coffee', 'astronaut', 'fruits', 'rocket']);
    assert.deepEqual(await post(server, '/shitu-index-add', { indexKey, imageLabelPairs: pairs(pics, ['cat']) }), { imageCount: 5 });
    assert.deepEqual(decodeIndex(await readFile(path.join(dir, indexKey)), indexKey).ids, [1, 2, 3, 4, 5]);
    assert.equal((await labelsOf(server, pics, 'cat', indexKey))[0], 'cat');
  });

  test('rec_threshold: a best score below it leaves recResults empty; topk is accepted and ignored as in PaddleX', async () => {
    const indexKey = await build(server, pics, ['coffee']);
    const { detectedObjects } = await infer(server, pics.query.cat!, { indexKey, recThreshold: 0.999, topk: 1 });
    assert.deepEqual(detectedObjects[0]!.recResults, []);
    const all = await infer(server, pics.query.coffee!, { indexKey, recThreshold: 0.5, topk: 7, hammingRadius: 3 });
    assert.equal(all.detectedObjects[0]!.recResults[0]!.label, 'coffee');
  });

  test('nothing detected: the whole image is one object, score 0, bbox [0, 0, W, H]', async () => {
    const indexKey = await build(server, pics, ['cat', 'coffee']);
    const { detectedObjects } = await infer(server, pics.gallery.coffee!, { indexKey, detThreshold: 0.95 });
    assert.equal(detectedObjects.length, 1);
    assert.deepEqual(detectedObjects[0]!.bbox, [0, 0, GALLERY_SIZE, GALLERY_SIZE]);
    assert.equal(detectedObjects[0]!.score, 0);
    // the whole gallery picture is what the index holds
    assert.equal(detectedObjects[0]!.recResults[0]!.label, 'coffee');
    assert.ok(detectedObjects[0]!.recResults[0]!.score > 0.99);
  });

  test('visualize draws the image; the default follows Serving.visualize', async () => {
    const indexKey = await build(server, pics, ['cat']);
    const res = await postJson(`${server.url}/shitu-infer`, { image: pics.query.cat, indexKey });
    assert.equal(res.status, 200);
    const meta = await sharp(Buffer.from(res.body.result.image, 'base64')).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 2 * GALLERY_SIZE, 2 * GALLERY_SIZE]);
  });

  test('concurrent adds and removes on one index lose nothing', async () => {
    const indexKey = await build(server, pics, ['cat']);
    const labels = Array.from({ length: 12 }, (_, i) => `item${i}`);
    const sources = Object.keys(SOURCES);
    const adds = labels.map((label, i) =>
      post(server, '/shitu-index-add', { indexKey, imageLabelPairs: [{ image: pics.gallery[sources[i % sources.length]!], label }] }),
    );
    await Promise.all(adds);
    const stored = decodeIndex(await readFile(path.join(dir, indexKey)), indexKey);
    assert.deepEqual(
      stored.ids,
      Array.from({ length: 13 }, (_, i) => i),
      'ids 0..12, each once',
    );
    assert.deepEqual([...stored.labels].sort(), ['cat', ...labels].sort());
    const removals = await Promise.all([1, 2, 3, 4].map((id) => post(server, '/shitu-index-remove', { indexKey, ids: [id] })));
    assert.equal(Math.min(...removals.map((r) => r.imageCount)), 9);
    assert.deepEqual(decodeIndex(await readFile(path.join(dir, indexKey)), indexKey).ids, [0, 5, 6, 7, 8, 9, 10, 11, 12]);
  });

  test('indexes survive a restart; a YAML `index` is loaded at startup and used without indexKey', async () => {
    const indexKey = await build(server, pics, ['cat', 'coffee', 'astronaut']);
    await server.close();
    server = await startServer({ pipelines: [yaml] });
    assert.equal((await labelsOf(server, pics, 'astronaut', indexKey))[0], 'astronaut');

    const withIndex = await recognitionYaml('PP-ShiTuV2', {
      top: { index: path.join(dir, indexKey) },
      extra: { index_storage: { type: 'memory' } },
    });
    const second = await startServer({ pipelines: [withIndex] });
    try {
      const { detectedObjects } = await infer(second, pics.query.coffee!);
      assert.equal(detectedObjects[0]!.recResults[0]!.label, 'coffee');
    } finally {
      await second.close();
    }
  });

  test('errors: unknown key, no index, empty gallery, bad images, corrupt and newer index files', async () => {
    const unknown = await postJson(`${server.url}/shitu-infer`, { image: pics.query.cat, indexKey: 'no-such-index' });
    assert.match(assertErrorEnvelope(unknown, 500), /indexKey "no-such-index" names no index/);
    const traversal = await postJson(`${server.url}/shitu-index-add`, { indexKey: '../indexes/x', imageLabelPairs: pairs(pics, ['cat']) });
    assert.match(assertErrorEnvelope(traversal, 500), /names no index/);
    const noIndex = await postJson(`${server.url}/shitu-infer`, { image: pics.query.cat });
    assert.match(assertErrorEnvelope(noIndex, 500), /No index to search/);
    const removeUnknown = await postJson(`${server.url}/shitu-index-remove`, { indexKey: 'nope', ids: [1] });
    assert.match(assertErrorEnvelope(removeUnknown, 500), /names no index/);
    assertErrorEnvelope(await postJson(`${server.url}/shitu-index-build`, { imageLabelPairs: [] }), 422);
    assertErrorEnvelope(await postJson(`${server.url}/shitu-index-build`, { imageLabelPairs: [{ image: 'x' }] }), 422);
    assertErrorEnvelope(await postJson(`${server.url}/shitu-index-remove`, { indexKey: 'k', ids: ['a'] }), 422);
    const undecodable = await postJson(`${server.url}/shitu-index-build`, {
      imageLabelPairs: [{ image: Buffer.from('not an image').toString('base64'), label: 'x' }],
    });
    assert.equal(undecodable.status >= 400, true);
    assertErrorEnvelope(undecodable, undecodable.status);

    const indexKey = await build(server, pics, ['cat']);
    const file = path.join(dir, indexKey);
    const bytes = await readFile(file);
    const corrupt = Buffer.from(bytes);
    corrupt[corrupt.length - 20]! ^= 0xff;
    await writeFile(file, corrupt);
    const corruptRes = await postJson(`${server.url}/shitu-infer`, { image: pics.query.cat, indexKey });
    assert.match(assertErrorEnvelope(corruptRes, 500), /corrupt index \(CRC-32 mismatch/);
    const newer = Buffer.from(bytes);
    newer.writeUInt32LE(FORMAT_VERSION + 1, 8);
    await writeFile(file, newer);
    const newerRes = await postJson(`${server.url}/shitu-index-add`, { indexKey, imageLabelPairs: pairs(pics, ['coffee']) });
    assert.match(assertErrorEnvelope(newerRes, 500), new RegExp(`format version ${FORMAT_VERSION + 1} is newer`));
    assert.deepEqual(await readFile(file), newer, 'a refused file is left as it was');
    // no stray temp files from the atomic writes
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.endsWith('.tmp')),
      [],
    );
  });
});

describe('PP-ShiTuV2 index storage: memory and Redis', () => {
  test('memory storage: indexes live as long as the process', async () => {
    const yaml = await recognitionYaml('PP-ShiTuV2', { extra: { index_storage: { type: 'memory' } } });
    let server = await startServer({ pipelines: [yaml] });
    const indexKey = await build(server, pics, ['cat', 'rocket']);
    assert.equal((await labelsOf(server, pics, 'rocket', indexKey))[0], 'rocket');
    await server.close();
    server = await startServer({ pipelines: [yaml] });
    try {
      assertErrorEnvelope(await postJson(`${server.url}/shitu-infer`, { image: pics.query.cat, indexKey }), 500);
    } finally {
      await server.close();
    }
  });

  describe('two servers on one Redis', () => {
    let redis: RedisProcess;
    let a: RunningServer;
    let b: RunningServer;
    before(async () => {
      redis = await startRedis();
      const yaml = await recognitionYaml('PP-ShiTuV2', { extra: { index_storage: { type: 'redis', url: redis.url } } });
      [a, b] = await Promise.all([startServer({ pipelines: [yaml] }), startServer({ pipelines: [yaml] })]);
    });
    after(async () => {
      await Promise.all([a?.close(), b?.close()]);
      await redis?.stop();
    });

    test('each sees the other’s builds, adds and removes', async () => {
      const indexKey = await build(a, pics, ['cat', 'coffee']);
      assert.equal((await labelsOf(b, pics, 'coffee', indexKey))[0], 'coffee');
      assert.deepEqual(await post(b, '/shitu-index-add', { indexKey, imageLabelPairs: pairs(pics, ['rocket']) }), { imageCount: 3 });
      assert.equal((await labelsOf(a, pics, 'rocket', indexKey))[0], 'rocket');
      assert.deepEqual(await post(a, '/shitu-index-remove', { indexKey, ids: [2] }), { imageCount: 2 });
      assert.ok(!(await labelsOf(b, pics, 'rocket', indexKey)).includes('rocket'));
      // next id after removing the largest one is max + 1 of what is left (PaddleX's rule)
      assert.deepEqual(await post(b, '/shitu-index-add', { indexKey, imageLabelPairs: pairs(pics, ['fruits']) }), { imageCount: 3 });
      assert.equal((await labelsOf(a, pics, 'fruits', indexKey))[0], 'fruits');
    });

    test('parallel adds through both servers lose no entry', async () => {
      const indexKey = await build(a, pics, ['cat']);
      const adds = Array.from({ length: 10 }, (_, i) =>
        post(i % 2 ? a : b, '/shitu-index-add', { indexKey, imageLabelPairs: [{ image: pics.gallery.coffee, label: `coffee${i}` }] }),
      );
      const counts = (await Promise.all(adds)).map((r) => r.imageCount).sort((x, y) => x - y);
      assert.deepEqual(counts, [2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 'each add saw a distinct count');
      // remove everything but the cat through the other server: ids 1..10 were all assigned
      const removed = await post(b, '/shitu-index-remove', { indexKey, ids: Array.from({ length: 10 }, (_, i) => i + 1) });
      assert.deepEqual(removed, { imageCount: 1 });
      assert.deepEqual(await labelsOf(a, pics, 'cat', indexKey), ['cat']);
    });

    test('an unreachable Redis stops startup with the address', async () => {
      const yaml = await recognitionYaml('PP-ShiTuV2', { extra: { index_storage: { type: 'redis', url: 'redis://127.0.0.1:1' } } });
      await assert.rejects(startServer({ pipelines: [yaml] }), /cannot reach Redis at redis:\/\/127\.0\.0\.1:1/);
    });
  });

  test('a bad index_storage stops startup naming the key', async () => {
    const yaml = await recognitionYaml('PP-ShiTuV2', { extra: { index_storage: { type: 'bos' } } });
    await assert.rejects(startServer({ pipelines: [yaml] }), /Serving\.extra\.index_storage/);
    const nested = path.join(await tempDir('shitu-nested'), 'missing', 'indexes');
    const yaml2 = await recognitionYaml('PP-ShiTuV2', { extra: { index_storage: { type: 'file_system', directory: nested } } });
    await assert.rejects(startServer({ pipelines: [yaml2] }), /index_storage\.directory .*cannot create it/);
  });
});

describe('PP-ShiTuV2 with index_type HNSW32 (approximate, beyond PaddleX serving)', () => {
  test('build → infer → add → infer → remove → infer; the file records HNSW32; IVF is refused', async () => {
    const dir = path.join(await tempDir('shitu-hnsw'), 'indexes');
    const yaml = await recognitionYaml('PP-ShiTuV2', {
      extra: { index_storage: { type: 'file_system', directory: dir }, index_type: 'HNSW32' },
    });
    const server = await startServer({ pipelines: [yaml] });
    try {
      const indexKey = await build(server, pics, ['cat', 'coffee', 'astronaut']);
      assert.equal(decodeIndex(await readFile(path.join(dir, indexKey)), 'index').indexType, 'HNSW32');
      assert.equal((await labelsOf(server, pics, 'coffee', indexKey))[0], 'coffee');
      assert.deepEqual(await post(server, '/shitu-index-add', { indexKey, imageLabelPairs: pairs(pics, ['rocket']) }), { imageCount: 4 });
      assert.equal((await labelsOf(server, pics, 'rocket', indexKey))[0], 'rocket');
      assert.deepEqual(await post(server, '/shitu-index-remove', { indexKey, ids: [1] }), { imageCount: 3 });
      assert.ok(!(await labelsOf(server, pics, 'coffee', indexKey)).includes('coffee'));
      assert.equal((await labelsOf(server, pics, 'cat', indexKey))[0], 'cat');
    } finally {
      await server.close();
    }
    const ivf = await recognitionYaml('PP-ShiTuV2', { extra: { index_type: 'IVF' } });
    await assert.rejects(startServer({ pipelines: [ivf] }), /index_type.*Flat, HNSW32 \(PaddleX's IVF is not offered\)/);
  });
});

describe('inference instances keep the index: sent once per revision', () => {
  /** The descriptor's handlers run in-process, counting the infer tasks that carried the index's entries. */
  async function harness(indexStorage: Record<string, unknown>) {
    const file = await recognitionYaml('PP-ShiTuV2', { extra: { index_storage: indexStorage } });
    const config = resolvePipelineModels(parsePipelineConfig(await readFile(file, 'utf8'), file));
    const ops = await createWorkerOps(ppShiTuV2Pipeline, config);
    const extra = ppShiTuV2Pipeline.servingExtra.parse({ index_storage: indexStorage });
    await extra.indexes.open(config);
    const sent = { entries: 0, tasks: 0 };
    const base = inProcessContext(ppShiTuV2Pipeline, ops, config, false);
    const ctx: typeof base = {
      ...base,
      serving: { visualize: false, extra },
      run: (async (op: string, payload: any) => {
        if (op === 'infer') {
          sent.tasks++;
          if (payload.index.entries) sent.entries++;
        }
        return base.run(op as 'infer', payload);
      }) as typeof base.run,
    };
    const call = (endpoint: string, body: Record<string, unknown>) =>
      ppShiTuV2Pipeline.endpoints.find((e) => e.path === endpoint)!.handle(body, ctx);
    const best = async (label: string, indexKey: string) =>
      (await call('/shitu-infer', { image: pics.query[label], indexKey, visualize: false })).detectedObjects[0].recResults[0]?.label;
    return { extra, sent, call, best, close: () => extra.indexes.close() };
  }

  for (const storage of ['memory', 'file_system', 'redis'] as const) {
    test(`${storage}: a second infer reuses the instance's copy; an add or a remove is seen by the next infer`, async () => {
      const redis = storage === 'redis' ? await startRedis() : undefined;
      const indexStorage =
        storage === 'redis'
          ? { type: 'redis', url: redis!.url }
          : storage === 'file_system'
            ? { type: 'file_system', directory: path.join(await tempDir('shitu-cache'), 'indexes') }
            : { type: 'memory' };
      const h = await harness(indexStorage);
      try {
        const { indexKey } = await h.call('/shitu-index-build', { imageLabelPairs: pairs(pics, ['cat', 'coffee']) });
        assert.equal(await h.best('cat', indexKey), 'cat');
        assert.deepEqual(h.sent, { entries: 1, tasks: 2 }, 'first infer: the instance lacked the index, so it was sent once');
        const snapshot = await h.extra.indexes.store.snapshot(indexKey);
        assert.equal(await h.best('coffee', indexKey), 'coffee');
        assert.deepEqual(h.sent, { entries: 1, tasks: 3 }, 'second infer: not sent again');
        assert.equal(await h.extra.indexes.store.snapshot(indexKey), snapshot, 'and not read again from the storage');

        await h.call('/shitu-index-add', { indexKey, imageLabelPairs: pairs(pics, ['rocket']) });
        assert.equal(await h.best('rocket', indexKey), 'rocket', 'the added entry is found by the next infer');
        assert.deepEqual(h.sent, { entries: 2, tasks: 5 });
        assert.equal(await h.best('rocket', indexKey), 'rocket');
        assert.deepEqual(h.sent, { entries: 2, tasks: 6 });

        await h.call('/shitu-index-remove', { indexKey, ids: [2] });
        assert.notEqual(await h.best('rocket', indexKey), 'rocket', 'the removed entry is gone for the next infer');
        assert.deepEqual(h.sent, { entries: 3, tasks: 8 });
      } finally {
        await h.close();
        await redis?.stop();
      }
    });
  }
});
