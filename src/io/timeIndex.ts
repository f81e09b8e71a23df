/**
 * Time columns of time-series CSVs: reading date-times as `pd.to_datetime` does for the usual
 * ISO-style layouts, writing them as `to_csv` writes a DatetimeIndex, and fixed-length pandas
 * frequencies (`7D`, `1h`, `15min`, ...) for continuing a series. Times are UTC milliseconds
 * without a zone, as pandas keeps naive timestamps.
 *
 * Hand-written: the npm date libraries parse far more (locale names, zones) than pandas' default
 * parser accepts here, and none knows pandas' frequency strings or to_csv's date layout.
 */

const DATE_TIME = /^(\d{4})([-/])(\d{1,2})\2(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?$/;

/** A date-time cell as UTC milliseconds, or undefined when it is not a date-time pandas would read this way. */
export function parseDateTime(cell: string): number | undefined {
  const m = DATE_TIME.exec(cell.trim());
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = [m[1], m[3], m[4], m[5], m[6], m[7]].map((v) => Number(v ?? 0)) as number[];
  const millis = Math.round(Number(`0.${m[8] ?? '0'}`) * 1000);
  const ms = Date.UTC(year!, month! - 1, day!, hour!, minute!, second!, millis);
  const back = new Date(ms);
  // Date.UTC rolls 2001-02-30 over to March; pandas refuses it
  if (back.getUTCMonth() !== month! - 1 || back.getUTCDate() !== day || hour! > 23 || minute! > 59 || second! > 59) return undefined;
  return ms;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/**
 * `to_csv` of a DatetimeIndex: dates only when every time is midnight, else `YYYY-MM-DD HH:MM:SS`
 * (with `.ffffff` on times that have fractions of a second).
 */
export function formatDateTimes(times: readonly number[]): string[] {
  const datesOnly = times.every((t) => t % 86_400_000 === 0);
  return times.map((t) => {
    const d = new Date(t);
    const date = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
    if (datesOnly) return date;
    const ms = d.getUTCMilliseconds();
    return `${date} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}${ms ? `.${pad(ms * 1000, 6)}` : ''}`;
  });
}

const UNIT_MS: Record<string, number> = {
  D: 86_400_000,
  H: 3_600_000,
  h: 3_600_000,
  T: 60_000,
  min: 60_000,
  S: 1000,
  s: 1000,
  L: 1,
  ms: 1,
};

/**
 * A pandas frequency string of fixed length (`[n]D|H|h|T|min|S|s|L|ms`) in milliseconds, or
 * undefined for calendar frequencies (months, business days, anchored weeks) this server does not do.
 */
export function fixedFrequencyMs(freq: string): number | undefined {
  const m = /^(\d*)(D|H|h|T|min|S|s|L|ms)$/.exec(freq.trim());
  if (!m) return undefined;
  const count = m[1] ? Number(m[1]) : 1;
  return count > 0 ? count * UNIT_MS[m[2]!]! : undefined;
}
