/**
 * `npm run bench:recognition`: PP-ShiTuV2 infer latency against gallery size (1k, 10k, 100k vectors
 * of PP-ShiTuV2_rec's 512 dimensions) and the memory an index takes. Indexes are written straight
 * into file-system index storage (random unit vectors: building 100k over HTTP would time the
 * feature model, not the index); the server runs the self-made fixture models, so the HTTP figures
 * are dominated by the index work, which is what this measures. Prints plain-text tables.
 *
 * A second table compares index_type HNSW32 with Flat on the same kind of vectors: graph build time,
 * search time per query and recall@5 against the exact search. Uniform random vectors have no
 * clusters, the hardest case for a graph index: real embeddings (clustered by identity) recall more
 * (0.96 on 10k in test/vectorIndex.test.ts).
 *
 * BENCH_QUICK=1 runs fewer requests and stops the HNSW32 table at 10k vectors.
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { IndexStore } from '../src/io/indexStorage.js';
import { encodeIndex } from '../src/io/vectorIndex.js';
import { HnswGraph } from '../src/ops/hnswSearch.js';
import { normalizeRows, searchInnerProduct } from '../src/ops/vectorSearch.js';
import { SKIMAGE_DATA } from '../test/helpers/paths.js';
import { recognitionYaml, SHITU_FEATURE_DIM, tempDir } from '../test/helpers/recognitionFixtures.js';
import { postJson, startServer } from '../test/helpers/server.js';
import { formatTable, ms } from './table.js';

const QUICK = process.env.BENCH_QUICK === '1';
const SIZES = [1_000, 10_000, 100_000];
const DIM = SHITU_FEATURE_DIM;
const REQUESTS = QUICK ? 5 : 20;
const TOPK = 5;
const HNSW_SIZES = QUICK ? [1_000, 10_000] : SIZES;
const HNSW_QUERIES = 100;
/** faiss' default, and a larger hnsw_ef_search */
const HNSW_EF_SEARCH = [16, 128];

function randomUnitRows(count: number, seed: number): Float32Array {
  let state = seed >>> 0;
  const rows = new Float32Array(count * DIM);
  for (let i = 0; i < rows.length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    rows[i] = state / 2 ** 31 - 1;
  }
  return normalizeRows(rows, DIM);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;

async function timed<T>(fn: () => Promise<T> | T): Promise<[T, number]> {
  const start = performance.now();
  const value = await fn();
  return [value, performance.now() - start];
}

async function main(): Promise<void> {
  const dir = path.join(await tempDir('bench-recognition'), 'indexes');
  const yaml = await recognitionYaml('PP-ShiTuV2', { extra: { index_storage: { type: 'file_system', directory: dir } } });
  const server = await startServer({ pipelines: [yaml], workers: 1 });
  const image = (await readFile(path.join(SKIMAGE_DATA, 'coffee.png'))).toString('base64');
  const query = randomUnitRows(1, 7);
  const rows: string[][] = [];
  const memoryRows: string[][] = [];
  try {
    for (const size of SIZES) {
      const key = `bench-${size}`;
      const vectors = randomUnitRows(size, size);
      const labels = Array.from({ length: size }, (_, i) => `item-${i}`);
      await writeFile(path.join(dir, key), encodeIndex({ indexType: 'Flat', dim: DIM, ids: labels.map((_, i) => i), labels, vectors }));
      const fileBytes = (await stat(path.join(dir, key))).size;

      // search alone: one query (one detected object) against the whole matrix
      const searchTimes = [];
      for (let i = 0; i < REQUESTS; i++) searchTimes.push((await timed(() => searchInnerProduct(vectors, DIM, query, TOPK)))[1]);

      // HTTP: the first request reads the index into the cache, later ones only check its revision
      const infer = () => postJson(`${server.url}/shitu-infer`, { image, indexKey: key, visualize: false });
      const [first, cold] = await timed(infer);
      if (first.status !== 200) throw new Error(`infer failed: ${JSON.stringify(first.body).slice(0, 300)}`);
      const warm = [];
      for (let i = 0; i < REQUESTS; i++) warm.push((await timed(infer))[1]);
      rows.push([size.toLocaleString('en'), ms(median(searchTimes)), ms(cold), ms(median(warm))]);

      // memory of one cached index (shared memory the workers read), measured in-process
      global.gc?.();
      const before = process.memoryUsage();
      const store = await IndexStore.fromConfig({ type: 'file_system', directory: dir });
      await store.open();
      const snapshot = await store.snapshot(key);
      const after = process.memoryUsage();
      memoryRows.push([
        size.toLocaleString('en'),
        mb(snapshot.vectors.byteLength),
        mb(after.arrayBuffers - before.arrayBuffers),
        mb(after.heapUsed - before.heapUsed),
        mb(fileBytes),
      ]);
      await store.close();
    }
  } finally {
    await server.close();
  }
  process.stdout.write(
    `PP-ShiTuV2 infer vs gallery size (dim ${DIM}, flat inner product, rec_topk ${TOPK}, 1 worker, median of ${REQUESTS})\n`,
  );
  process.stdout.write(`${formatTable(['vectors', 'search only', 'HTTP infer, first (loads index)', 'HTTP infer, cached'], rows)}\n\n`);
  process.stdout.write('Memory of one index\n');
  process.stdout.write(
    `${formatTable(['vectors', 'vectors (exact)', 'array buffers', 'JS heap (ids, labels)', 'file size'], memoryRows)}\n`,
  );
}

/** HNSW32 against Flat: build time, search time per query, recall@5 (share of the exact top 5 found). */
async function hnswTable(): Promise<string[][]> {
  const rows: string[][] = [];
  const queries = randomUnitRows(HNSW_QUERIES, 99);
  for (const size of HNSW_SIZES) {
    const vectors = randomUnitRows(size, size);
    const ids = Array.from({ length: size }, (_, i) => i);
    const graph = new HnswGraph(DIM);
    const [, buildMs] = await timed(() => graph.sync(ids, vectors));
    const rowOf = new Map(ids.map((id) => [id, id]));
    const [exact, flatMs] = await timed(() => searchInnerProduct(vectors, DIM, queries, TOPK));
    const row = [size.toLocaleString('en'), ms(buildMs), ms(flatMs / HNSW_QUERIES)];
    for (const efSearch of HNSW_EF_SEARCH) {
      const [approx, hnswMs] = await timed(() => graph.search(queries, TOPK, vectors, rowOf, efSearch));
      const found = approx.reduce((sum, hits, q) => sum + hits.filter((h) => exact[q]!.some((e) => e.row === h.row)).length, 0);
      row.push(ms(hnswMs / HNSW_QUERIES), (found / (TOPK * HNSW_QUERIES)).toFixed(3));
    }
    rows.push(row);
  }
  return rows;
}

await main();
process.stdout.write(
  `\nindex_type HNSW32 (faiss' HNSW32 settings) vs Flat, dim ${DIM}, uniform random unit vectors, ${HNSW_QUERIES} queries\n`,
);
process.stdout.write(
  `${formatTable(
    ['vectors', 'HNSW32 build', 'Flat search / query', ...HNSW_EF_SEARCH.flatMap((ef) => [`HNSW32 ef ${ef} / query`, `recall@5 ef ${ef}`])],
    await hnswTable(),
  )}\n`,
);
