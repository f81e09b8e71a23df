/**
 * Greedy CTC decoding of one row of a recogniser output `[N, steps, classes]` (PaddleOCR's
 * CTCLabelDecode): take the best class per time step, merge runs of the same class, drop the blank
 * (class 0). The score is the mean best-class probability of the characters kept, 0 when none are
 * kept, computed in float32 as numpy's `np.mean` does it. `characters[i]` is the text of class i:
 * `['blank', ...character_dict, ' ']`. `columns` are the time steps the kept characters were read at
 * (PaddleX's word boxes are placed by them).
 *
 * Hand-written: it is a single pass over the row, no library offers it for plain Float32Arrays.
 */
export function ctcGreedyDecode(
  probs: Float32Array,
  steps: number,
  classes: number,
  batchIndex: number,
  characters: string[],
): { text: string; score: number; columns: number[] } {
  if (characters.length !== classes) {
    throw new Error(`CTC decode: the model scores ${classes} classes but the character table has ${characters.length}`);
  }
  const rowStart = batchIndex * steps * classes;
  if (rowStart + steps * classes > probs.length) {
    throw new Error(`CTC decode: row ${batchIndex} of ${steps}×${classes} lies outside an output of ${probs.length} values`);
  }
  let text = '';
  const keptProbabilities: number[] = [];
  const columns: number[] = [];
  let previousClass = -1;
  for (let t = 0; t < steps; t++) {
    const stepStart = rowStart + t * classes;
    let bestClass = 0;
    let bestProbability = probs[stepStart]!;
    for (let c = 1; c < classes; c++) {
      const p = probs[stepStart + c]!;
      // strict '>' keeps the first maximum, as numpy's argmax does
      if (p > bestProbability) {
        bestProbability = p;
        bestClass = c;
      }
    }
    if (bestClass !== 0 && bestClass !== previousClass) {
      text += characters[bestClass];
      keptProbabilities.push(bestProbability);
      columns.push(t);
    }
    previousClass = bestClass;
  }
  return { text, score: keptProbabilities.length > 0 ? float32Mean(keptProbabilities) : 0, columns };
}

/** numpy's pairwise summation of float32 values (blocks of 8 partial sums, halves above 128 values), in float32. */
function float32PairwiseSum(values: readonly number[], start: number, count: number): number {
  const f = Math.fround;
  if (count < 8) {
    let sum = 0;
    for (let i = 0; i < count; i++) sum = f(sum + values[start + i]!);
    return sum;
  }
  if (count <= 128) {
    const partial = values.slice(start, start + 8).map(f);
    let i = 8;
    for (; i < count - (count % 8); i += 8) {
      for (let j = 0; j < 8; j++) partial[j] = f(partial[j]! + values[start + i + j]!);
    }
    const [r0, r1, r2, r3, r4, r5, r6, r7] = partial as [number, number, number, number, number, number, number, number];
    let sum = f(f(f(r0 + r1) + f(r2 + r3)) + f(f(r4 + r5) + f(r6 + r7)));
    for (; i < count; i++) sum = f(sum + values[start + i]!);
    return sum;
  }
  let half = Math.floor(count / 2);
  half -= half % 8;
  return f(float32PairwiseSum(values, start, half) + float32PairwiseSum(values, start + half, count - half));
}

/** `np.mean` of a float32 array: the pairwise float32 sum divided by the count, rounded to float32. */
export function float32Mean(values: readonly number[]): number {
  return Math.fround(float32PairwiseSum(values, 0, values.length) / values.length);
}
