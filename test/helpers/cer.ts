/**
 * Character error rate for OCR tests. Hand-written because it is a dozen lines of textbook dynamic
 * programming; no dependency of the project offers it.
 */

/** Levenshtein distance (insertions, deletions, substitutions each cost 1) over Unicode code points. */
export function editDistance(a: string, b: string): number {
  const source = [...a];
  const target = [...b];
  // One row of the DP table at a time: previous[j] = distance(source[0..i), target[0..j)).
  let previous = Array.from({ length: target.length + 1 }, (_, j) => j);
  for (let i = 1; i <= source.length; i++) {
    const current = [i];
    for (let j = 1; j <= target.length; j++) {
      const substitution = previous[j - 1]! + (source[i - 1] === target[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[target.length]!;
}

/** Whitespace is dropped before comparing: OCR models differ in whether they emit spaces. */
export function withoutSpaces(text: string): string {
  return text.replace(/\s+/g, '');
}

/** Character error rate of `recognized` against `reference`: edit distance / reference length, spaces ignored. */
export function characterErrorRate(recognized: string, reference: string): number {
  const ref = withoutSpaces(reference);
  if (ref.length === 0) throw new Error('characterErrorRate: the reference text is empty');
  return editDistance(withoutSpaces(recognized), ref) / ref.length;
}
