/** The index core: exact inner-product search, PaddleX's id rules, and our versioned file format. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeIndex, encodeIndex, FORMAT_VERSION, newIndex, withAdded, withRemoved } from '../src/io/vectorIndex.js';
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
  let index = newIndex(entries(['a', 'b', 'c']));
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
  const data = { dim, ids: [0, 3, 7], labels: ['猫', 'coffee', ''], vectors: randomRows(3, dim, 3) };
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
