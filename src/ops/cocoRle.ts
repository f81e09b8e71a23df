/**
 * COCO run-length encoding of a binary mask, compressed to the string form pycocotools'
 * `mask.encode` returns in `counts` (PaddleX serves instance masks this way). Hand-written: the
 * npm ports of pycocotools are unmaintained or need native builds, and the format is 30 lines.
 *
 * Runs are counted down the columns (Fortran order), starting with a run of zeros (possibly 0);
 * each count after the second is written as the difference to the count two before it, in 5-bit
 * groups, least significant first, with 0x20 as "more follows", each group plus 48 as a character.
 */
export function encodeCocoRle(mask: ArrayLike<number>, width: number, height: number): string {
  const counts: number[] = [];
  let current = 0;
  let run = 0;
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) {
      const value = mask[y * width + x] ? 1 : 0;
      if (value !== current) {
        counts.push(run);
        run = 0;
        current = value;
      }
      run++;
    }
  }
  counts.push(run);

  let out = '';
  counts.forEach((count, i) => {
    let x = i > 2 ? count - counts[i - 2]! : count;
    let more = true;
    while (more) {
      let c = x & 0x1f;
      x >>= 5; // arithmetic shift: negative differences end at -1
      more = c & 0x10 ? x !== -1 : x !== 0;
      if (more) c |= 0x20;
      out += String.fromCharCode(c + 48);
    }
  });
  return out;
}
