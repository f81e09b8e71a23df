import { Worker } from 'node:worker_threads';
// sharp's docs: on glibc Linux the main thread must load sharp before worker threads do, so its shared
// libraries stay loaded until every thread has ended (else a worker's exit can crash the process).
import 'sharp';
import { ApiError, ConfigError, deserializeError } from '../errors.js';
import type { TaskMessage, WorkerInit, WorkerReply } from './protocol.js';

export interface PoolOptions {
  workers: number;
  /** tasks allowed to wait for a worker; beyond that a request gets 503 at once */
  maxQueue: number;
  init: WorkerInit;
}

export interface TaskTiming {
  pipeline: string;
  op: string;
  queueMs: number;
  computeMs: number;
  ok: boolean;
}

interface PendingTask {
  message: TaskMessage;
  transfer: ArrayBuffer[];
  enqueuedAt: number;
  startedAt?: number;
  resolve(value: unknown): void;
  reject(err: Error): void;
}

interface Slot {
  worker: Worker;
  task?: PendingTask;
}

const WORKER_URL = new URL('./worker.js', import.meta.url);

/**
 * Worker threads, each with its own pipelines and onnxruntime sessions, behind one bounded FIFO queue.
 * A crashed worker fails only its own task and is replaced.
 */
export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly queue: PendingTask[] = [];
  private nextId = 1;
  private closing = false;
  private drained?: () => void;
  /** called after every task, for metrics */
  onTaskDone?: (timing: TaskTiming) => void;

  private constructor(private readonly options: PoolOptions) {}

  static async start(options: PoolOptions): Promise<WorkerPool> {
    const pool = new WorkerPool(options);
    const started = await Promise.allSettled(Array.from({ length: options.workers }, () => pool.spawn()));
    const failure = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) {
      await pool.terminateAll();
      throw failure.reason;
    }
    return pool;
  }

  get size(): number {
    return this.slots.length;
  }

  stats(): { workers: number; busy: number; queued: number; maxQueue: number } {
    return {
      workers: this.slots.length,
      busy: this.slots.filter((s) => s.task).length,
      queued: this.queue.length,
      maxQueue: this.options.maxQueue,
    };
  }

  run<T>(
    pipeline: string,
    op: string,
    payload: unknown,
    transfer: ArrayBuffer[] = [],
    options: { continuation?: boolean } = {},
  ): Promise<T> {
    if (this.closing && !options.continuation) return Promise.reject(new ApiError(503, 'Server is shutting down'));
    const idle = this.slots.find((s) => !s.task);
    if (!idle && !options.continuation && this.queue.length >= this.options.maxQueue) {
      return Promise.reject(
        new ApiError(
          503,
          `Server busy: ${this.queue.length} requests already wait for ${this.slots.length} inference workers; retry later`,
        ),
      );
    }
    return new Promise<T>((resolve, reject) => {
      const task: PendingTask = {
        message: { id: this.nextId++, pipeline, op, payload },
        transfer,
        enqueuedAt: performance.now(),
        resolve: resolve as (v: unknown) => void,
        reject,
      };
      if (idle) this.dispatch(idle, task);
      else this.queue.push(task);
    });
  }

  /** Stop taking work, let queued and running tasks finish, then end the workers. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.queue.length || this.slots.some((s) => s.task)) {
      await new Promise<void>((resolve) => (this.drained = resolve));
    }
    await this.terminateAll();
  }

  private dispatch(slot: Slot, task: PendingTask): void {
    slot.task = task;
    task.startedAt = performance.now();
    slot.worker.postMessage(task.message, task.transfer);
  }

  /** Clear the slot's task and record its timing. */
  private finish(slot: Slot, ok: boolean): PendingTask | undefined {
    const task = slot.task;
    slot.task = undefined;
    if (task) {
      this.onTaskDone?.({
        pipeline: task.message.pipeline,
        op: task.message.op,
        queueMs: task.startedAt! - task.enqueuedAt,
        computeMs: performance.now() - task.startedAt!,
        ok,
      });
    }
    return task;
  }

  /** Give a free live worker the next queued task, or signal a drained pool. */
  private pump(slot: Slot): void {
    const next = this.queue.shift();
    if (next) this.dispatch(slot, next);
    else if (this.closing && this.drained && !this.slots.some((s) => s.task)) this.drained();
  }

  private spawn(): Promise<void> {
    return new Promise((resolve, reject) => {
      const worker = new Worker(WORKER_URL, { workerData: this.options.init });
      const slot: Slot = { worker };
      let ready = false;
      worker.on('message', (msg: WorkerReply) => {
        if (msg.type === 'ready') {
          ready = true;
          this.slots.push(slot);
          this.pump(slot); // a replacement worker picks up whatever waited meanwhile
          resolve();
        } else if (msg.type === 'startupError') {
          reject(msg.error.expose || msg.error.status !== 500 ? deserializeError(msg.error) : new ConfigError(msg.error.message));
          void worker.terminate();
        } else {
          const task = slot.task;
          if (!task || task.message.id !== msg.id) return;
          this.finish(slot, msg.ok);
          this.pump(slot);
          if (msg.ok) task.resolve(msg.value);
          else task.reject(deserializeError(msg.error));
        }
      });
      worker.on('error', (err) => {
        if (!ready) reject(err);
      });
      worker.on('exit', (code) => {
        if (!ready) return reject(new Error(`Inference worker exited with code ${code} while loading`));
        const index = this.slots.indexOf(slot);
        if (index < 0) return; // terminated by us
        this.slots.splice(index, 1);
        const task = this.finish(slot, false);
        task?.reject(new Error(`Inference worker crashed (exit code ${code}) while running ${task.message.pipeline}.${task.message.op}`));
        if (this.closing) {
          if (this.drained && !this.slots.some((s) => s.task)) this.drained();
        } else {
          this.spawn().catch((err) => console.error(`Could not replace a crashed inference worker: ${(err as Error).message}`));
        }
      });
    });
  }

  private async terminateAll(): Promise<void> {
    const slots = this.slots.splice(0);
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }
}
