/**
 * Async jobs (PaddleX has none): an endpoint's request run in the background, its progress page by page,
 * its result kept in the job store for later. A job is validated and admitted like a synchronous
 * request (422 and 503 come at once), runs with its own timeout, and can be cancelled, which drops its
 * pages that have not started, as a client going away does.
 */
import { randomUUID } from 'node:crypto';
import { ApiError } from '../errors.js';
import { type JobRecord, type JobStatus, JobStore } from '../io/jobStore.js';
import type { ProgressReporter } from '../pipelines/define.js';
import type { PipelineService, RunningRequest, ServedEndpoint, StageTimings } from './service.js';

export interface JobOptions {
  /** the SQLite file (`--jobs-db`) */
  dbFile: string;
  /** how long a finished job and its result are kept (`--job-ttl`) */
  ttlSeconds: number;
  /** stored results may take this many bytes; then new jobs get 507 (`--jobs-max-mb`) */
  maxStoreBytes: number;
  /** a job's time limit (`--job-timeout`) */
  timeoutSeconds: number;
}

export const DEFAULT_JOB_OPTIONS = Object.freeze({ ttlSeconds: 24 * 3600, maxStoreBytes: 1024 * 2 ** 20, timeoutSeconds: 3600 });

/** What `GET /jobs/{id}` tells. Times are ISO 8601. */
export interface JobView {
  jobId: string;
  endpoint: string;
  status: JobStatus;
  pagesDone: number;
  pagesTotal: number | null;
  createdAt: string;
  finishedAt: string | null;
  /** until the job finished, or until now */
  elapsedMs: number;
  /** downloadMs, queueMs, computeMs once finished */
  timings: Record<string, number> | null;
  errorCode?: number;
  errorMsg?: string;
  expiresAt: string | null;
}

/** Server-Sent Events of a job: its progress, each page's part of the result, then its end. */
export type JobEvent =
  | { type: 'progress'; data: { pagesDone: number; pagesTotal: number | null } }
  | { type: 'page'; data: { page: number; result: unknown } }
  | { type: 'end'; data: JobView };

interface LiveJob {
  controller: AbortController;
  cancelled: boolean;
  /** page results so far, by page index, for late subscribers */
  pages: Map<number, unknown>;
  listeners: Set<(event: JobEvent) => void>;
  done: Promise<void>;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function jobView(job: JobRecord, now = Date.now()): JobView {
  return {
    jobId: job.id,
    endpoint: job.endpoint,
    status: job.status,
    pagesDone: job.pagesDone,
    pagesTotal: job.pagesTotal,
    createdAt: iso(job.createdAt)!,
    finishedAt: iso(job.finishedAt),
    elapsedMs: (job.finishedAt ?? now) - job.createdAt,
    timings: job.timings,
    ...(job.errorCode === null ? {} : { errorCode: job.errorCode, errorMsg: job.errorMsg ?? '' }),
    expiresAt: iso(job.expiresAt),
  };
}

export class JobManager {
  private readonly live = new Map<string, LiveJob>();
  private readonly sweeper: NodeJS.Timeout;

  private constructor(
    private readonly service: PipelineService,
    private readonly store: JobStore,
    private readonly options: JobOptions,
    private readonly errorLog: (line: string) => void,
  ) {
    // expired jobs are also hidden by `get` at once; the sweep frees their space
    this.sweeper = setInterval(() => this.store.sweep(), Math.min(options.ttlSeconds * 1000, 60_000));
    this.sweeper.unref();
  }

  static open(service: PipelineService, options: JobOptions, errorLog: (line: string) => void): JobManager {
    const store = JobStore.open(options.dbFile, options.ttlSeconds * 1000);
    store.sweep();
    return new JobManager(service, store, options, errorLog);
  }

  /** Validates and admits the request (422 / 503 / 507 thrown now), then runs it in the background. */
  submit(served: ServedEndpoint, body: unknown, logId: string, uploads?: Map<string, Uint8Array>): JobView {
    this.store.sweep();
    const used = this.store.usedBytes();
    if (used >= this.options.maxStoreBytes) {
      throw new ApiError(
        507,
        `Insufficient storage: finished jobs' results take ${size(used)} of the ${size(this.options.maxStoreBytes)} allowed (--jobs-max-mb); ` +
          `DELETE /jobs/{id} results you have fetched, or retry once they expire (--job-ttl ${this.options.ttlSeconds} s)`,
      );
    }
    const id = randomUUID();
    const createdAt = Date.now();
    const controller = new AbortController();
    const stages: StageTimings = { downloadMs: 0, queueMs: 0, computeMs: 0 };
    const job: LiveJob = { controller, cancelled: false, pages: new Map(), listeners: new Set(), done: Promise.resolve() };
    let pagesTotal: number | null = null;
    const progress: ProgressReporter = {
      pages: (total) => {
        pagesTotal = total;
        this.store.progress(id, job.pages.size, total);
        this.emit(job, { type: 'progress', data: { pagesDone: job.pages.size, pagesTotal } });
      },
      pageDone: (page, result) => {
        if (job.cancelled) return;
        job.pages.set(page, result);
        this.store.progress(id, job.pages.size, pagesTotal);
        this.emit(job, { type: 'page', data: { page, result } });
        this.emit(job, { type: 'progress', data: { pagesDone: job.pages.size, pagesTotal } });
      },
    };
    this.store.create({ id, endpoint: served.endpoint.path, logId, createdAt });
    let running: RunningRequest;
    try {
      running = this.service.begin(served, body, logId, {
        signal: controller.signal,
        stages,
        uploads,
        progress,
        killOnAbort: true,
        timeout: { ms: this.options.timeoutSeconds * 1000, option: '--job-timeout' },
      });
    } catch (err) {
      this.store.delete(id);
      throw err;
    }
    this.live.set(id, job);
    job.done = running.result.then(
      (result) => this.succeeded(id, logId, result, stages),
      (err: unknown) => this.failed(id, job, err, stages),
    );
    return jobView(this.store.get(id)!);
  }

  private succeeded(id: string, logId: string, result: Record<string, unknown>, stages: StageTimings): void {
    const response = JSON.stringify({ logId, result, errorCode: 0, errorMsg: 'Success' });
    const bytes = Buffer.byteLength(response);
    const room = this.options.maxStoreBytes - this.store.usedBytes();
    if (bytes > room) {
      return this.end(id, 'failed', stages, {
        errorCode: 507,
        errorMsg: `Insufficient storage: the result (${size(bytes)}) does not fit in the job store (${size(Math.max(0, room))} free of ${size(this.options.maxStoreBytes)}, --jobs-max-mb); send it as a synchronous request, or with returnImages: false`,
      });
    }
    this.end(id, 'succeeded', stages, { response });
  }

  private failed(id: string, job: LiveJob, err: unknown, stages: StageTimings): void {
    if (job.cancelled) return this.end(id, 'cancelled', stages, { errorCode: 499, errorMsg: `Cancelled by DELETE /jobs/${id}` });
    if (err instanceof ApiError) return this.end(id, 'failed', stages, { errorCode: err.status, errorMsg: err.message });
    this.errorLog(`ERROR:    Unhandled exception in job ${id}: ${(err as Error)?.stack ?? String(err)}`);
    this.end(id, 'failed', stages, { errorCode: 500, errorMsg: 'Internal server error' });
  }

  private end(
    id: string,
    status: Exclude<JobStatus, 'running'>,
    stages: StageTimings,
    outcome: { response?: string; errorCode?: number; errorMsg?: string },
  ): void {
    const finishedAt = Date.now();
    const timings = { downloadMs: stages.downloadMs, queueMs: stages.queueMs, computeMs: stages.computeMs };
    this.store.finish(id, { status, finishedAt, expiresAt: finishedAt + this.options.ttlSeconds * 1000, timings, ...outcome });
    const job = this.live.get(id);
    this.live.delete(id);
    const record = this.store.get(id);
    if (job && record) this.emit(job, { type: 'end', data: jobView(record) });
  }

  private emit(job: LiveJob, event: JobEvent): void {
    for (const listener of job.listeners) listener(event);
  }

  get(id: string): JobRecord | undefined {
    return this.store.get(id);
  }

  /** A successful job's response body, exactly as the synchronous request would have had it. */
  response(id: string): string | undefined {
    return this.store.response(id);
  }

  /**
   * Cancels a running job (its pages not yet started are dropped; running ones end with their model
   * call) or deletes a finished one with its result. Returns what became of it, or undefined if unknown.
   */
  async cancelOrDelete(id: string): Promise<'cancelled' | 'deleted' | undefined> {
    const job = this.live.get(id);
    if (job) {
      job.cancelled = true;
      job.controller.abort(new ApiError(499, `Cancelled by DELETE /jobs/${id}`));
      await job.done;
      return 'cancelled';
    }
    if (!this.store.get(id)) return undefined;
    this.store.delete(id);
    return 'deleted';
  }

  /**
   * Follows a job: `listener` first gets its progress and the page results so far, then each event as it
   * comes, ending with `end`. Returns the unsubscribe function, or undefined for an unknown job.
   */
  follow(id: string, listener: (event: JobEvent) => void): (() => void) | undefined {
    const record = this.store.get(id);
    if (!record) return undefined;
    const job = this.live.get(id);
    listener({ type: 'progress', data: { pagesDone: record.pagesDone, pagesTotal: record.pagesTotal } });
    if (!job) {
      listener({ type: 'end', data: jobView(record) });
      return () => {};
    }
    for (const [page, result] of [...job.pages].sort(([a], [b]) => a - b)) listener({ type: 'page', data: { page, result } });
    job.listeners.add(listener);
    return () => job.listeners.delete(listener);
  }

  /** Lets the running jobs finish (their pipelines are still up), then closes the store. */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    await Promise.all([...this.live.values()].map((job) => job.done));
    this.store.close();
  }
}

/** bytes in MB, or in KB below one MB */
const size = (bytes: number) => (bytes < 2 ** 20 ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / 2 ** 20).toFixed(1)} MB`);
