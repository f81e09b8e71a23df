import { searchInnerProduct, normalizeRows } from '/work/wt-shitu/dist/src/ops/vectorSearch.js';
const dim = 512;
for (const n of [1000, 10000, 100000]) {
  const m = normalizeRows(Float32Array.from({ length: n * dim }, Math.random), dim);
  const q = normalizeRows(Float32Array.from({ length: dim }, Math.random), dim);
  const t = [];
  for (let i = 0; i < 10; i++) { const s = performance.now(); searchInnerProduct(m, dim, q, 5); t.push(performance.now() - s); }
  console.log(n, t.map((x) => x.toFixed(1)).join(' '));
}
