import assert from 'node:assert/strict';

/** COCO compressed RLE decoder written from the format's description (pycocotools rleFrString), for round trips. */
export function decodeCocoRle(counts: string, height: number, width: number): Uint8Array {
  const runs: number[] = [];
  let p = 0;
  while (p < counts.length) {
    let x = 0;
    let k = 0;
    let more = true;
    while (more) {
      const c = counts.charCodeAt(p) - 48;
      x |= (c & 0x1f) << (5 * k);
      more = (c & 0x20) !== 0;
      p++;
      k++;
      if (!more && c & 0x10) x |= -1 << (5 * k);
    }
    if (runs.length > 2) x += runs[runs.length - 2]!;
    runs.push(x);
  }
  const columnMajor: number[] = [];
  runs.forEach((run, i) => columnMajor.push(...new Array<number>(run).fill(i % 2)));
  assert.equal(columnMajor.length, height * width, 'the runs cover the mask');
  return Uint8Array.from({ length: height * width }, (_, i) => columnMajor[(i % width) * height + Math.floor(i / width)]!);
}
