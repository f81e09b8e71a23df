/**
 * CSV in and out the way PaddleX's time-series serving does it: a UTF-8 CSV read as `pandas.read_csv`
 * reads it (header row, then rows), and a result written as `DataFrame.to_csv()` writes it (index
 * column first, `,` and `\n`, minimal quoting, NaN as an empty field). Every problem with a client's
 * CSV is a 422 naming the row or column.
 */
import { CsvError, parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { invalidInput } from '../errors.js';

/** A parsed CSV: header names and the data rows as text (row i is line i + 2 of the file). */
export interface CsvTable {
  columns: string[];
  rows: string[][];
}

/** More rows than this is refused: time-series models read a few hundred at most. */
export const MAX_CSV_ROWS = 1_000_000;

/** The CSV line of data row `row` (the header is line 1), for error messages. */
export const csvLine = (row: number): number => row + 2;

export function parseCsv(bytes: Uint8Array, field: string): CsvTable {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw invalidInput(`${field}: the CSV is not valid UTF-8 text`);
  }
  let records: string[][];
  try {
    records = parse(text, { skip_empty_lines: true, to_line: MAX_CSV_ROWS + 2 }) as string[][];
  } catch (err) {
    if (err instanceof CsvError) throw invalidInput(`${field}: not a valid CSV: ${err.message}`);
    throw err;
  }
  const [header, ...rows] = records;
  if (!header || header.every((name) => name.trim() === ''))
    throw invalidInput(`${field}: the CSV is empty (expected a header row and data rows)`);
  if (rows.length > MAX_CSV_ROWS) throw invalidInput(`${field}: the CSV has more than ${MAX_CSV_ROWS} data rows`);
  return { columns: header, rows };
}

/** The index of column `name`, or a 422 naming it and the columns the CSV has. */
export function columnIndex(table: CsvTable, name: string, field: string, role: string): number {
  const at = table.columns.indexOf(name);
  if (at < 0) {
    throw invalidInput(
      `${field}: the CSV has no column "${name}" (the model's ${role}); its columns are ${table.columns.map((c) => `"${c}"`).join(', ')}`,
    );
  }
  return at;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;

/**
 * A column's values as numbers (pandas float parsing); an empty or non-numeric cell is a 422 naming
 * its line. `firstRow` is the table's first row in the client's file when the table is a cut-off.
 */
export function numericColumn(table: CsvTable, name: string, field: string, role: string, firstRow = 0): Float64Array {
  const at = columnIndex(table, name, field, role);
  return Float64Array.from(table.rows, (row, i) => {
    const cell = (row[at] ?? '').trim();
    if (!NUMBER.test(cell) && !/^[+-]?(inf|infinity)$/i.test(cell)) {
      const shown = cell === '' ? 'empty' : `"${cell.slice(0, 40)}" is not a number`;
      throw invalidInput(`${field}: column "${name}", line ${csvLine(firstRow + i)}: ${shown}`);
    }
    return cell.toLowerCase().includes('inf') ? (cell.startsWith('-') ? -Infinity : Infinity) : Number(cell);
  });
}

/** True when pandas would read the column as int64 (every cell an integer). */
export function isIntegerColumn(table: CsvTable, at: number): boolean {
  return table.rows.length > 0 && table.rows.every((row) => INTEGER.test((row[at] ?? '').trim()));
}

/**
 * numpy's `str()` of a float32 (what `to_csv` writes for float32 columns): the shortest decimal that
 * reads back as the same float32, positional for 1e-4 <= |x| < 1e6 (numpy's float32 bounds), else scientific (`1e-05`).
 */
export function formatFloat32(value: number): string {
  if (Number.isNaN(value)) return '';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  const f = Math.fround(value);
  if (f === 0) return Object.is(f, -0) ? '-0.0' : '0.0';
  let digits = '';
  for (let precision = 1; precision <= 9; precision++) {
    digits = f.toPrecision(precision);
    if (Math.fround(Number(digits)) === f) break;
  }
  const shortest = Number(digits);
  const magnitude = Math.abs(shortest);
  if (Math.abs(f) >= 1e-4 && magnitude < 1e6) {
    // JS prints such a short decimal positionally and exactly (it is also the shortest for the double)
    const positional = String(shortest);
    return positional.includes('.') ? positional : `${positional}.0`;
  }
  const [mantissa, exponent] = shortest.toExponential().split('e') as [string, string];
  const exp = Number(exponent);
  return `${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
}

/** `DataFrame.to_csv()` of a frame whose index (named `indexName`) and cells are already text. */
export function writeCsv(
  indexName: string,
  index: readonly string[],
  columns: ReadonlyArray<{ name: string; cells: readonly string[] }>,
): string {
  const header = [indexName, ...columns.map((c) => c.name)];
  const rows = index.map((label, i) => [label, ...columns.map((c) => c.cells[i]!)]);
  return stringify([header, ...rows], { record_delimiter: '\n' });
}
