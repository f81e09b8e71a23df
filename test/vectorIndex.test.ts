/** The index core: exact inner-product search, HNSW32 against it, PaddleX's id rules, and our versioned file format. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32 } from 'node:zlib';
import { decodeIndex, encodeIndex, FORMAT_VERSION, newIndex, withAdded, withRemoved } from '../src/io/vectorIndex.js';
import { HnswGraph } from '../src/ops/hnswSearch.js';
import { normalizeRows, searchInnerProduct } from '../src/ops/vectorSearch.js';

function randomRows(count: number, dim: number, seed: number): Float32Array {
  let state = seed;
  const next = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  return normalizeRows(Float32Array.from({ length: count * dim }, next), dim);
}

test('search returns the top-k rows by inner product, best first, as a full sort does', () => {
  const dim = 16;
  const matrix = randomRows(500, dim, 1);
  const queries = randomRows(3, dim, 2);
  const results = searchInnerProduct(matrix, dim, queries, 5);
  results.forEach((hits, q) => {
    const all = Array.from({ length: 500 }, (_, row) => {
      let dot = 0;
      for (let i = 0; i < dim; i++) dot += matrix[row * dim + i]! * queries[q * dim + i]!;
      return { row, score: dot };
    }).sort((a, b) => b.score - a.score);
    assert.deepEqual(
      hits.map((h) => h.row),
      all.slice(0, 5).map((h) => h.row),
    );
    hits.forEach((h, i) => assert.ok(Math.abs(h.score - all[i]!.score) < 1e-5));
  });
  // fewer rows than topk: all of them (faiss pads with -1, which PaddleX drops)
  assert.equal(searchInnerProduct(matrix.subarray(0, 2 * dim), dim, queries.subarray(0, dim), 5)[0]!.length, 2);
});

test('normalizeRows gives unit rows and leaves a zero row zero', () => {
  const rows = normalizeRows(Float32Array.from([3, 4, 0, 0]), 2);
  assert.deepEqual(Array.from(rows), [0.6000000238418579, 0.800000011920929, 0, 0]);
});

test('ids: a new index is 0..n-1, adds continue from the largest id + 1, unknown removals are ignored', () => {
  const dim = 2;
  const entries = (labels: string[]) => ({ dim, labels, vectors: new Float32Array(labels.length * dim).fill(1) });
  let index = newIndex(entries(['a', 'b', 'c']), 'Flat');
  assert.deepEqual(index.ids, [0, 1, 2]);
  index = withRemoved(index, [1, 42]);
  assert.deepEqual(
    [index.ids, index.labels],
    [
      [0, 2],
      ['a', 'c'],
    ],
  );
  index = withAdded(index, entries(['d', 'e']));
  assert.deepEqual(
    [index.ids, index.labels],
    [
      [0, 2, 3, 4],
      ['a', 'c', 'd', 'e'],
    ],
  );
  // PaddleX's rule is "largest present + 1": removing the largest id lets the next add reuse it
  assert.deepEqual(withAdded(withRemoved(index, [4]), entries(['f'])).ids, [0, 2, 3, 4]);
  assert.deepEqual(withAdded(withRemoved(index, [0, 2, 3, 4]), entries(['g'])).ids, [0]);
  assert.throws(
    () => withAdded(index, { dim: 3, labels: ['x'], vectors: new Float32Array(3) }),
    /feature size 3 does not match the index's 2/,
  );
});

test('the file format round-trips and refuses other, altered, truncated and newer files', () => {
  const dim = 4;
  const data = { indexType: 'HNSW32' as const, dim, ids: [0, 3, 7], labels: ['猫', 'coffee', ''], vectors: randomRows(3, dim, 3) };
  const bytes = encodeIndex(data);
  assert.equal(bytes.toString('latin1', 0, 8), 'PSVINDEX');
  assert.equal(bytes.readUInt32LE(8), FORMAT_VERSION);
  const decoded = decodeIndex(bytes, 'f');
  assert.deepEqual({ ...decoded, vectors: Array.from(decoded.vectors) }, { ...data, vectors: Array.from(data.vectors) });

  assert.throws(() => decodeIndex(Buffer.from('\x80\x04\x95 pickle bytes........'), 'f'), /f: not a pipeserve index/);
  const altered = Buffer.from(bytes);
  altered[altered.length - 9]! ^= 1;
  assert.throws(() => decodeIndex(altered, 'f'), /CRC-32 mismatch/);
  assert.throws(() => decodeIndex(bytes.subarray(0, bytes.length - 8), 'f'), /CRC-32 mismatch/);
  const newer = Buffer.from(bytes);
  newer.writeUInt32LE(FORMAT_VERSION + 1, 8);
  assert.throws(() => decodeIndex(newer, 'f'), new RegExp(`format version ${FORMAT_VERSION + 1} is newer than this pipeserve reads`));
});

test('format version 1 files (Flat only, before HNSW32) are still read', () => {
  const current = encodeIndex({ indexType: 'Flat', dim: 2, ids: [0], labels: ['a'], vectors: Float32Array.from([1, 0]) });
  const asVersion1 = (bytes: Buffer) => {
    const old = Buffer.from(bytes);
    old.writeUInt32LE(1, 8);
    old.writeUInt32LE(crc32(old.subarray(0, old.length - 4)), old.length - 4);
    return old;
  };
  assert.equal(decodeIndex(asVersion1(current), 'f').indexType, 'Flat');
  const hnsw = encodeIndex({ indexType: 'HNSW32', dim: 2, ids: [0], labels: ['a'], vectors: Float32Array.from([1, 0]) });
  assert.throws(() => decodeIndex(asVersion1(hnsw), 'f'), /version 1 holds Flat indexes only/);
});

/**
 * A gallery shaped like real embeddings: 200 identities, 50 unit vectors each scattered around the
 * identity's centre, 128 dimensions (MobileFaceNet's); queries are fresh members of the identities.
 */
function clusteredRows(identities: number, perIdentity: number, dim: number, seed: number): Float32Array {
  const centres = randomRows(identities, dim, seed);
  const noise = randomRows(identities * perIdentity, dim, seed + 1);
  const rows = new Float32Array(identities * perIdentity * dim);
  for (let r = 0; r < identities * perIdentity; r++) {
    const c = Math.floor(r / perIdentity);
    for (let i = 0; i < dim; i++) rows[r * dim + i] = centres[c * dim + i]! + 0.6 * noise[r * dim + i]!;
  }
  return normalizeRows(rows, dim);
}

test('HNSW32: recall@5 against the exact Flat search on 10k vectors, also after removals and adds', () => {
  const dim = 128;
  const vectors = clusteredRows(200, 50, dim, 11);
  const ids = Array.from({ length: 10_000 }, (_, i) => i);
  const queries = clusteredRows(200, 1, dim, 11).map((v, i) => v + 0.02 * Math.sin(i));
  normalizeRows(queries, dim);
  const recall = (rowsIds: number[], rowsVectors: Float32Array, graph: HnswGraph) => {
    const rowOf = new Map(rowsIds.map((id, row) => [id, row]));
    const exact = searchInnerProduct(rowsVectors, dim, queries, 5);
    const approx = graph.search(queries, 5, rowsVectors, rowOf);
    let found = 0;
    approx.forEach((hits, q) => {
      const truth = new Set(exact[q]!.map((h) => h.row));
      found += hits.filter((h) => truth.has(h.row)).length;
      // scores are the exact inner products of the rows found, best first
      hits.forEach((h, i) => {
        assert.ok(i === 0 || h.score <= hits[i - 1]!.score);
        const truthScore = exact[q]!.find((e) => e.row === h.row)?.score;
        assert.ok(truthScore === undefined || Math.abs(h.score - truthScore) < 1e-6);
      });
    });
    return found / (5 * exact.length);
  };
  const graph = new HnswGraph(dim);
  graph.sync(ids, vectors);
  const full = recall(ids, vectors, graph);
  // Measured 0.959 with faiss' HNSW32 settings (32 links, efConstruction 40, efSearch 16); 0.979 after the changes below.
  assert.ok(full >= 0.95, `recall@5 ${full}`);

  // remove every third entry, then add 1000 more: the graph follows the index, ids as PaddleX numbers them
  let index = newIndex({ dim, labels: ids.map(String), vectors }, 'HNSW32');
  index = withRemoved(
    index,
    ids.filter((id) => id % 3 === 0),
  );
  index = withAdded(index, { dim, labels: Array.from({ length: 1000 }, (_, i) => `new${i}`), vectors: clusteredRows(200, 5, dim, 99) });
  graph.sync(index.ids, index.vectors);
  // 9999 was removed and given out again to the first added entry (largest present + 1)
  assert.equal(index.ids[index.ids.length - 1000], 9999);
  const removed = new Set(ids.filter((id) => id % 3 === 0 && id !== 9999));
  const rowOf = new Map(index.ids.map((id, row) => [id, row]));
  for (const hits of graph.search(queries, 5, index.vectors, rowOf)) {
    assert.ok(
      hits.every((h) => !removed.has(index.ids[h.row]!)),
      'no removed entry comes back',
    );
  }
  const after = recall(index.ids, index.vectors, graph);
  assert.ok(after >= 0.95, `recall@5 after changes ${after}`);
});
