/**
 * Greedy CTC decoding of one row of a recogniser output `[N, steps, classes]` (PaddleOCR's
 * CTCLabelDecode): take the best class per time step, merge runs of the same class, drop the blank
 * (class 0). The score is the mean best-class probability of the characters kept, 0 when none are
 * kept. `characters[i]` is the text of class i: `['blank', ...character_dict, ' ']`.
 *
 * Hand-written: it is a single pass over the row, no library offers it for plain Float32Arrays.
 */
export function ctcGreedyDecode(
  probs: Float32Array,
  steps: number,
  classes: number,
  batchIndex: number,
  characters: string[],
): { text: string; score: number } {
  if (characters.length !== classes) {
    throw new Error(`CTC decode: the model scores ${classes} classes but the character table has ${characters.length}`);
  }
  const rowStart = batchIndex * steps * classes;
  if (rowStart + steps * classes > probs.length) {
    throw new Error(`CTC decode: row ${batchIndex} of ${steps}×${classes} lies outside an output of ${probs.length} values`);
  }
  let text = '';
  let probabilitySum = 0;
  let kept = 0;
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
      probabilitySum += bestProbability;
      kept++;
    }
    previousClass = bestClass;
  }
  return { text, score: kept > 0 ? probabilitySum / kept : 0 };
}
