/** Plain-text tables: first column left-aligned, the others right-aligned. */
export function formatTable(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, col) => Math.max(...all.map((row) => (row[col] ?? '').length)));
  const line = (row: string[]) =>
    row
      .map((cell, col) => (col === 0 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export const ms = (value: number) => `${value.toFixed(1)} ms`;
export const perSecond = (value: number) => value.toFixed(value < 10 ? 2 : 1);
export const ratio = (value: number) => `${value.toFixed(2)}x`;
export const percent = (value: number) => `${(value * 100).toFixed(2)}%`;
export const verdict = (pass: boolean) => (pass ? 'PASS' : 'FAIL');
/** a 0..1 share, or n/a where it could not be measured */
export const shareOf = (value: number | undefined) => (value === undefined ? 'n/a' : `${(value * 100).toFixed(0)}%`);
