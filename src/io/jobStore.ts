/**
 * Async jobs' state and results on disk: one SQLite file (better-sqlite3), held by one server process
 * at a time. Finished results survive a restart; jobs that were running when the server stopped are
 * marked failed on opening. Results expire after a time and their total size is capped by the caller.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ConfigError } from '../errors.js';

export type JobStatus = 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface JobRecord {
  id: string;
  /** the endpoint's path, e.g. `/ocr` */
  endpoint: string;
  logId: string;
  status: JobStatus;
  pagesDone: number;
  /** null until the input was read (a PDF's page count) */
  pagesTotal: number | null;
  /** milliseconds since the epoch */
  createdAt: number;
  finishedAt: number | null;
  expiresAt: number | null;
  /** where a finished job's time went (downloadMs, queueMs, computeMs) */
  timings: Record<string, number> | null;
  errorCode: number | null;
  errorMsg: string | null;
  /** size of the stored response (0 without one) */
  responseBytes: number;
}

/** Why a job that was running when its server stopped has no result. */
export const INTERRUPTED_MESSAGE = 'The server stopped (restart or crash) before this job finished, so it has no result; submit it again';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY,
  endpoint TEXT NOT NULL,
  log_id TEXT NOT NULL,
  status TEXT NOT NULL,
  pages_done INTEGER NOT NULL DEFAULT 0,
  pages_total INTEGER,
  created_at INTEGER NOT NULL,
  finished_at INTEGER,
  expires_at INTEGER,
  timings TEXT,
  error_code INTEGER,
  error_msg TEXT,
  response BLOB,
  response_bytes INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_expiry ON jobs (expires_at);
`;

interface JobRow {
  id: string;
  endpoint: string;
  log_id: string;
  status: JobStatus;
  pages_done: number;
  pages_total: number | null;
  created_at: number;
  finished_at: number | null;
  expires_at: number | null;
  timings: string | null;
  error_code: number | null;
  error_msg: string | null;
  response_bytes: number;
}

const COLUMNS =
  'id, endpoint, log_id, status, pages_done, pages_total, created_at, finished_at, expires_at, timings, error_code, error_msg, response_bytes';

function toRecord(row: JobRow): JobRecord {
  return {
    id: row.id,
    endpoint: row.endpoint,
    logId: row.log_id,
    status: row.status,
    pagesDone: row.pages_done,
    pagesTotal: row.pages_total,
    createdAt: row.created_at,
    finishedAt: row.finished_at,
    expiresAt: row.expires_at,
    timings: row.timings ? JSON.parse(row.timings) : null,
    errorCode: row.error_code,
    errorMsg: row.error_msg,
    responseBytes: row.response_bytes,
  };
}

export interface JobOutcome {
  status: Exclude<JobStatus, 'running'>;
  finishedAt: number;
  expiresAt: number;
  timings: Record<string, number>;
  errorCode?: number;
  errorMsg?: string;
  /** the response body as sent for the synchronous request (successful jobs) */
  response?: string;
}

export class JobStore {
  private constructor(private readonly db: Database.Database) {}

  /** Opens (or creates) the store and marks the jobs a previous server left running as failed (kept for `ttlMs`). */
  static open(file: string, ttlMs: number, now = Date.now()): JobStore {
    mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    let db: Database.Database | undefined;
    try {
      db = new Database(file, { timeout: 1000 });
      // before any table exists: lets deleted results give their pages back to the file system
      db.pragma('auto_vacuum = INCREMENTAL');
      // one server per file: a second one fails here instead of marking the first one's jobs failed
      db.pragma('locking_mode = EXCLUSIVE');
      db.pragma('journal_mode = WAL');
      db.pragma('journal_size_limit = 67108864');
      db.exec(SCHEMA);
      const store = new JobStore(db);
      store.failInterrupted(now, ttlMs);
      return store;
    } catch (err) {
      db?.close();
      const reason =
        (err as { code?: string }).code === 'SQLITE_BUSY'
          ? 'another pipeserve process uses it (give each server its own --jobs-db)'
          : (err as Error).message;
      throw new ConfigError(`--jobs-db ${file}: cannot open the job store: ${reason}`);
    }
  }

  private failInterrupted(now: number, ttlMs: number): void {
    this.db
      .prepare(
        "UPDATE jobs SET status = 'failed', error_code = 500, error_msg = ?, finished_at = ?, expires_at = ? WHERE status = 'running'",
      )
      .run(INTERRUPTED_MESSAGE, now, now + ttlMs);
  }

  create(job: { id: string; endpoint: string; logId: string; createdAt: number }): void {
    this.db
      .prepare("INSERT INTO jobs (id, endpoint, log_id, status, created_at) VALUES (?, ?, ?, 'running', ?)")
      .run(job.id, job.endpoint, job.logId, job.createdAt);
  }

  progress(id: string, pagesDone: number, pagesTotal: number | null): void {
    this.db.prepare('UPDATE jobs SET pages_done = ?, pages_total = ? WHERE id = ?').run(pagesDone, pagesTotal, id);
  }

  finish(id: string, outcome: JobOutcome): void {
    const response = outcome.response === undefined ? null : Buffer.from(outcome.response, 'utf8');
    this.db
      .prepare(
        'UPDATE jobs SET status = ?, finished_at = ?, expires_at = ?, timings = ?, error_code = ?, error_msg = ?, response = ?, response_bytes = ? WHERE id = ?',
      )
      .run(
        outcome.status,
        outcome.finishedAt,
        outcome.expiresAt,
        JSON.stringify(outcome.timings),
        outcome.errorCode ?? null,
        outcome.errorMsg ?? null,
        response,
        response?.length ?? 0,
        id,
      );
  }

  /** The job, unless it is unknown or expired at `now`. */
  get(id: string, now = Date.now()): JobRecord | undefined {
    const row = this.db.prepare(`SELECT ${COLUMNS} FROM jobs WHERE id = ?`).get(id) as JobRow | undefined;
    if (!row || (row.expires_at !== null && row.expires_at <= now)) return undefined;
    return toRecord(row);
  }

  /** A successful job's stored response body. */
  response(id: string): string | undefined {
    const row = this.db.prepare('SELECT response FROM jobs WHERE id = ?').get(id) as { response: Buffer | null } | undefined;
    return row?.response?.toString('utf8');
  }

  delete(id: string): boolean {
    const deleted = this.db.prepare('DELETE FROM jobs WHERE id = ?').run(id).changes > 0;
    if (deleted) this.db.pragma('incremental_vacuum');
    return deleted;
  }

  /** Bytes of the stored results. */
  usedBytes(): number {
    return (this.db.prepare('SELECT COALESCE(SUM(response_bytes), 0) AS used FROM jobs').get() as { used: number }).used;
  }

  /** Deletes the jobs expired at `now` and gives their space back; returns how many. */
  sweep(now = Date.now()): number {
    const { changes } = this.db.prepare('DELETE FROM jobs WHERE expires_at IS NOT NULL AND expires_at <= ?').run(now);
    if (changes > 0) this.db.pragma('incremental_vacuum');
    return changes;
  }

  close(): void {
    this.db.close();
  }
}
