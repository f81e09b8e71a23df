/**
 * Approximate inner-product search through an HNSW graph (hnswlib-node, a native addon built by
 * node-gyp at install), for PaddleX's `HNSW32` index type. The graph is derived from the stored
 * vectors: each holder builds it once and then follows the index's changes (new ids added, removed
 * ids marked deleted), so an add costs the new entries, not a rebuild.
 */
import { createRequire } from 'node:module';
import type { HierarchicalNSW } from 'hnswlib-node';
import { HNSW32 } from '../io/vectorIndex.js';
import { dot, type VectorHit } from './vectorSearch.js';

const require = createRequire(import.meta.url);

/** Loaded on first use: only pipelines configured for HNSW32 need the native addon. */
function hnswlib(): typeof import('hnswlib-node') {
  return require('hnswlib-node') as typeof import('hnswlib-node');
}

/** An HNSW graph over labelled vectors; labels are the index's ids. */
export class HnswGraph {
  private readonly graph: HierarchicalNSW;
  private capacity: number;
  /** ids in the graph and not deleted */
  private readonly live = new Set<number>();

  constructor(private readonly dim: number) {
    this.graph = new (hnswlib().HierarchicalNSW)('ip', dim);
    this.capacity = 16;
    this.graph.initIndex(this.capacity, HNSW32.links, HNSW32.efConstruction, 100);
  }

  /** Makes the graph hold exactly `ids` (row i of `vectors` is ids[i]): adds what it lacks, deletes the rest. */
  sync(ids: readonly number[], vectors: Float32Array): void {
    const wanted = new Set(ids);
    for (const id of this.live) {
      if (!wanted.has(id)) {
        this.graph.markDelete(id);
        this.live.delete(id);
      }
    }
    const added = ids.flatMap((id, row) => (this.live.has(id) ? [] : [row]));
    const needed = this.graph.getCurrentCount() + added.length;
    if (needed > this.capacity) {
      this.capacity = Math.max(needed, 2 * this.capacity);
      this.graph.resizeIndex(this.capacity);
    }
    for (const row of added) {
      // an id removed earlier and given out again (PaddleX reuses the largest after it is removed) replaces its old point
      this.graph.addPoint(Array.from(vectors.subarray(row * this.dim, (row + 1) * this.dim)), ids[row]!);
      this.live.add(ids[row]!);
    }
  }

  /**
   * The `topk` ids the graph finds nearest each query (row-major, `dim` wide), as rows of the index
   * whose `vectors` and `rowOf` (id → row) are given, best first, scored by their exact inner product.
   * `efSearch`: candidates kept while searching (more: better recall, slower).
   */
  search(
    queries: Float32Array,
    topk: number,
    vectors: Float32Array,
    rowOf: ReadonlyMap<number, number>,
    efSearch = HNSW32.efSearch,
  ): VectorHit[][] {
    const k = Math.min(topk, this.live.size);
    this.graph.setEf(Math.max(efSearch, k));
    const results: VectorHit[][] = [];
    for (let start = 0; start < queries.length; start += this.dim) {
      if (k === 0) {
        results.push([]);
        continue;
      }
      const { neighbors } = this.graph.searchKnn(Array.from(queries.subarray(start, start + this.dim)), k);
      const hits = neighbors.map((id) => {
        const row = rowOf.get(id)!;
        return { row, score: dot(vectors, row * this.dim, queries, start, this.dim) };
      });
      results.push(hits.sort((a, b) => b.score - a.score));
    }
    return results;
  }
}
