/**
 * Exact inner-product search over a flat, row-major matrix of vectors: what PaddleX's default index
 * (faiss `Flat` with metric `IP`) computes. Hand-written because it is a few lines of dot products
 * over a contiguous Float32Array;
 * a library would add a copy.
 */

/** One hit: the row of the matrix and its inner product with the query. */
export interface VectorHit {
  row: number;
  score: number;
}

/** Scales each row of `rows` (row-major, `dim` wide) to unit L2 norm in place, as PaddleX's NormalizeFeatures. */
export function normalizeRows(rows: Float32Array, dim: number): Float32Array {
  for (let start = 0; start < rows.length; start += dim) {
    let sum = 0;
    for (let i = start; i < start + dim; i++) sum += rows[i]! * rows[i]!;
    // a zero vector divides to NaN in numpy; keep it zero so it matches nothing rather than poisoning scores
    const scale = sum > 0 ? 1 / Math.sqrt(sum) : 0;
    for (let i = start; i < start + dim; i++) rows[i]! *= scale;
  }
  return rows;
}

/**
 * The `topk` rows of `matrix` (`count` rows of `dim`) with the largest inner product with each query
 * (row-major, `dim` wide), best first. Fewer hits when the matrix has fewer rows (faiss pads with
 * id −1, which PaddleX drops). Batched: each stored row is read once for all queries.
 */
export function searchInnerProduct(matrix: Float32Array, dim: number, queries: Float32Array, topk: number): VectorHit[][] {
  const count = Math.floor(matrix.length / dim);
  const queryCount = Math.floor(queries.length / dim);
  const scores = Array.from({ length: queryCount }, () => new Float32Array(count));
  for (let r = 0; r < count; r++) {
    for (let q = 0; q < queryCount; q++) scores[q]![r] = dot(matrix, r * dim, queries, q * dim, dim);
  }
  return scores.map((s) => topRows(s, Math.min(topk, count)));
}

/** a[ai..ai+dim) · b[bi..bi+dim) in four partial sums (V8 does not vectorise; independent sums pipeline better) */
export function dot(a: Float32Array, ai: number, b: Float32Array, bi: number, dim: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 3 < dim; i += 4) {
    s0 += a[ai + i]! * b[bi + i]!;
    s1 += a[ai + i + 1]! * b[bi + i + 1]!;
    s2 += a[ai + i + 2]! * b[bi + i + 2]!;
    s3 += a[ai + i + 3]! * b[bi + i + 3]!;
  }
  for (; i < dim; i++) s0 += a[ai + i]! * b[bi + i]!;
  return s0 + s1 + s2 + s3;
}

/** The k best scores with their rows, best first, via a small sorted buffer (k ≪ count). */
function topRows(scores: Float32Array, k: number): VectorHit[] {
  const best: VectorHit[] = [];
  if (k <= 0) return best;
  for (let row = 0; row < scores.length; row++) {
    const score = scores[row]!;
    if (best.length === k && score <= best[k - 1]!.score) continue;
    let at = best.length === k ? k - 1 : best.length;
    while (at > 0 && best[at - 1]!.score < score) at--;
    best.splice(at, 0, { row, score });
    if (best.length > k) best.pop();
  }
  return best;
}
