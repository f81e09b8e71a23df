import { type ChildProcess, fork } from 'node:child_process';
import { EventEmitter } from 'node:events';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { ApiError, ConfigError, deserializeError, serializeError } from '../errors.js';
import type { InstanceInit, InstanceReply, InstanceRequest, TaskOutcome } from './protocol.js';

export interface RecycleOptions {
  /** replace an instance after it has run this many tasks (0 = never) */
  afterTasks: number;
  /** replace an instance whose resident memory exceeds this many bytes after a task (0 = never) */
  rssBytes: number;
}

/**
 * Triton's dynamic batcher for one kind of request: waiting tasks of one batchable operation are
 * gathered and run as one execution of an instance. A batch runs as soon as it reaches
 * `maxBatchSize` or one of `preferredBatchSizes` (the largest it can form), else once its oldest
 * task has waited `maxQueueDelayMs`.
 */
export interface DynamicBatching {
  maxBatchSize: number;
  maxQueueDelayMs: number;
  preferredBatchSizes: number[];
}

export interface PoolOptions {
  /** the pipeline's name, for messages and metrics */
  name: string;
  instances: number;
  /** tasks allowed to wait for an instance beyond one per instance; admission refuses more with 503 at once */
  maxQueue: number;
  init: InstanceInit;
  recycle?: RecycleOptions;
  /** dynamic batching per lease label (a request kind, e.g. an endpoint path); tasks are gathered only with their own kind */
  batching?: Record<string, DynamicBatching>;
  /** restart delays after consecutive failed starts: first × 2^(failures-1), capped */
  backoff?: { firstMs: number; maxMs: number };
  log?: (line: string) => void;
}

export interface TaskTiming {
  pipeline: string;
  op: string;
  queueMs: number;
  computeMs: number;
  ok: boolean;
}

export interface RunOptions {
  /** aborting drops the task if it still waits; a running task is answered at once and its instance freed when the model call ends */
  signal?: AbortSignal;
  /** performance.now() time after which a running task's instance counts as stuck: it is killed and replaced */
  deadline?: number;
  /** the error a task gets when its instance is killed at the deadline */
  timeoutError?: () => Error;
  /** @internal an item a running task lent to another instance: part of that task's execution, not one of its own */
  lent?: boolean;
}

export interface InstanceStats {
  slot: number;
  pid: number | undefined;
  state: InstanceState;
  busy: boolean;
  tasksDone: number;
  rssBytes: number;
}

export interface PoolStats {
  instances: number;
  live: number;
  busy: number;
  queued: number;
  maxQueue: number;
  /** lanes held by admitted requests (each lane = at most one task waiting or running) */
  reservedLanes: number;
  restarts: number;
  ready: boolean;
  detail: InstanceStats[];
}

export type InstanceExitReason = 'crash' | 'timeout' | 'recycle' | 'startup' | 'shutdown' | 'cancel';

/** One run of an instance: its tasks' lease labels (one per task), all answered. */
export interface ExecutionDone {
  op: string;
  labels: Array<string | undefined>;
  computeMs: number;
}

export interface PoolEvents {
  taskDone: [TaskTiming];
  execution: [ExecutionDone];
  instanceExit: [{ slot: number; reason: InstanceExitReason }];
}

type InstanceState = 'starting' | 'live' | 'retiring' | 'stopping';

interface Task {
  op: string;
  payload: unknown;
  lease: Lease;
  options: RunOptions;
  enqueuedAt: number;
  startedAt?: number;
  settled: boolean;
  resolve(value: unknown): void;
  reject(err: Error): void;
  cleanup(): void;
}

/** What an instance runs now: one task, or a batch of tasks of one operation. */
interface Execution {
  id: number;
  tasks: Task[];
  startedAt: number;
  /** told the instance it may use every core (InstanceRequest `alone`), until another request starts */
  alone: boolean;
}

interface Instance {
  slot: number;
  child: ChildProcess;
  state: InstanceState;
  running?: Execution;
  deadlineTimer?: NodeJS.Timeout;
  killedFor?: InstanceExitReason;
  tasksDone: number;
  rssBytes: number;
}

interface Slot {
  index: number;
  current?: Instance;
  /** a recycled instance still serving until `current` (its replacement) is ready */
  retiring?: Instance;
  /** consecutive failed starts */
  failures: number;
  restartTimer?: NodeJS.Timeout;
}

const INSTANCE_ENTRY = fileURLToPath(new URL('./instance.js', import.meta.url));
const DEFAULT_BACKOFF = { firstMs: 1000, maxMs: 30_000 };
/**
 * Instances run at a lower CPU priority than the HTTP process, so health probes, admission and 503s
 * are answered promptly while every core is busy with inference (threads of one process could not
 * be told apart this way).
 */
const INSTANCE_NICENESS = 10;

/** A running task's instance died before answering (a 500 in basic serving; Triton reports it as INTERNAL). */
export class InstanceLostError extends ApiError {
  constructor(message: string) {
    super(500, message);
    this.name = 'InstanceLostError';
  }
}

/**
 * Admission for one request: it may have up to `lanes` tasks waiting or running at once. The pool
 * grants lanes only while all admitted lanes fit in instances + maxQueue, so an admitted request's
 * tasks never wait behind more than maxQueue others and never fail half-way for lack of room.
 */
export class Lease {
  private outstanding = 0;
  private ended = false;
  /** summed over the request's tasks, for stage timings in logs */
  queueMs = 0;
  computeMs = 0;

  constructor(
    private readonly pool: InstancePool,
    private granted: number,
    /** the kind of request (e.g. its endpoint path): picks its dynamic batching and names it in execution events */
    readonly label?: string,
    /** false: a request that never runs tasks (see `InstancePool.withoutInstances`) */
    private readonly runsTasks = true,
  ) {}

  get lanes(): number {
    return this.granted;
  }

  /**
   * Raise the lease to `lanes` (a request admitted with one lane before its body was read, whose
   * body turned out to need more, e.g. a PDF's pages), or refuse with 503 and keep what it has.
   */
  widen(lanes: number): void {
    if (lanes <= this.granted) return;
    this.pool.reserve(lanes - this.granted);
    this.granted = lanes;
  }

  run<T>(op: string, payload: unknown, options: RunOptions = {}): Promise<T> {
    if (this.ended) return Promise.reject(new Error(`${op}: the request already ended`));
    if (!this.runsTasks) return Promise.reject(new Error(`${op}: ${this.label ?? 'this request'} was not admitted to the instances`));
    if (options.signal?.aborted) return Promise.reject(options.signal.reason as Error);
    this.outstanding++;
    return this.pool.enqueue(this, op, payload, options) as Promise<T>;
  }

  /**
   * Kills the instances running this request's tasks (they are replaced), so a cancelled request frees
   * its workers at once instead of when their model calls end.
   */
  killRunning(): void {
    this.pool.killRunning(this);
  }

  /** the request is over: its lanes return to the pool once its last task has left its instance */
  end(): void {
    this.ended = true;
    this.releaseIfDone();
  }

  /** @internal a task of this lease left the queue or its instance */
  taskGone(): void {
    this.outstanding--;
    this.releaseIfDone();
  }

  private releaseIfDone(): void {
    if (this.ended && this.outstanding === 0) this.pool.release(this);
  }
}

/**
 * The inference instances of one pipeline: child processes (a native crash kills one instance, not
 * the server) behind one bounded FIFO queue. A dead instance fails only its running task and is
 * replaced, with exponential backoff when replacements keep failing; when none is left and
 * replacements fail, admission answers 503 at once and `ready` is false.
 */
export class InstancePool extends EventEmitter<PoolEvents> {
  private readonly slots: Slot[];
  private readonly queue: Task[] = [];
  private reservedLanes = 0;
  private readonly leases = new Set<Lease>();
  private nextExecutionId = 1;
  /** operations the instances can run as batches (reported by each instance when it is ready) */
  private batchOps = new Set<string>();
  /** wakes the scheduler when a waiting batch's queue delay ends */
  private batchTimer?: NodeJS.Timeout;
  private restarts = 0;
  private closing = false;
  private drained?: () => void;

  private constructor(private readonly options: PoolOptions) {
    super();
    this.slots = Array.from({ length: options.instances }, (_, index) => ({ index, failures: 0 }));
  }

  static async start(options: PoolOptions): Promise<InstancePool> {
    const pool = new InstancePool(options);
    const started = await Promise.allSettled(pool.slots.map((slot) => pool.startInstance(slot)));
    const failure = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) {
      pool.shutdown();
      throw failure.reason;
    }
    return pool;
  }

  get name(): string {
    return this.options.name;
  }

  get size(): number {
    return this.options.instances;
  }

  /** at least one instance serves and the pool is not shutting down */
  get ready(): boolean {
    return !this.closing && this.liveInstances().length > 0;
  }

  stats(): PoolStats {
    const instances = this.slots.flatMap((s) => [s.current, s.retiring].filter((i): i is Instance => Boolean(i)));
    return {
      instances: this.options.instances,
      live: this.liveInstances().length,
      busy: instances.filter((i) => i.running).length,
      queued: this.queue.length,
      maxQueue: this.options.maxQueue,
      reservedLanes: this.reservedLanes,
      restarts: this.restarts,
      ready: this.ready,
      detail: instances.map((i) => ({
        slot: i.slot,
        pid: i.child.pid,
        state: i.state,
        busy: Boolean(i.running),
        tasksDone: i.tasksDone,
        rssBytes: i.rssBytes,
      })),
    };
  }

  /** Admit a request that needs `lanes` tasks in flight at once, or refuse it with 503 now. */
  admit(lanes: number, label?: string): Lease {
    if (this.closing) throw new ApiError(503, 'Server is shutting down');
    this.reserve(lanes);
    const lease = new Lease(this, lanes, label);
    this.leases.add(lease);
    return lease;
  }

  /**
   * A lease for a request that runs no tasks (e.g. one that only waits on an LLM over HTTP): it takes
   * no lanes, so it neither waits for the instances nor keeps a lane from requests that need one, and
   * a full or failed pool does not refuse it.
   */
  withoutInstances(label?: string): Lease {
    return new Lease(this, 0, label, false);
  }

  /** @internal count `lanes` more as held, or refuse with 503 (also while draining: an admitted request may widen) */
  reserve(lanes: number): void {
    if (this.down()) throw this.downError();
    const capacity = this.options.instances + this.options.maxQueue;
    if (this.reservedLanes + lanes > capacity) {
      throw new ApiError(
        503,
        `Server busy: ${this.queue.length} tasks already wait for the ${this.options.instances} inference instances of ${this.name}; retry later`,
      );
    }
    this.reservedLanes += lanes;
  }

  /** @internal */
  release(lease: Lease): void {
    if (!this.leases.delete(lease)) return;
    this.reservedLanes -= lease.lanes;
    this.checkDrained();
  }

  /** @internal the instances leave service at once: their tasks are let go now, not when the killed process is reaped */
  killRunning(lease: Lease): void {
    for (const slot of this.slots) {
      for (const instance of [slot.current, slot.retiring]) {
        // a batch that holds other requests' tasks too is left to finish (its result for this lease is dropped)
        if (!instance?.running?.tasks.every((task) => task.lease === lease)) continue;
        const tasks = this.finish(instance);
        instance.state = 'stopping';
        this.kill(instance, 'cancel');
        for (const task of tasks) this.settle(task, new ApiError(499, 'The request was cancelled'), true);
      }
    }
  }

  /** @internal a lease's task: queued, then run by the first free instance */
  enqueue(lease: Lease, op: string, payload: unknown, options: RunOptions): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const onAbort = () => this.abort(task, options.signal!.reason as Error);
      const task: Task = {
        op,
        payload,
        lease,
        options,
        enqueuedAt: performance.now(),
        settled: false,
        resolve,
        reject,
        cleanup: () => options.signal?.removeEventListener('abort', onAbort),
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      if (this.down()) return this.settle(task, this.downError(), true);
      this.queue.push(task);
      this.schedule();
    });
  }

  /** Hand waiting tasks to free instances: each alone, or gathered into batches where batching is on. */
  private schedule(): void {
    clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    for (;;) {
      const idle = this.liveInstances().find((i) => !i.running);
      if (!idle || !this.queue.length) return;
      const tasks = this.takeBatch();
      if (!tasks) return; // the head waits for batch mates; the timer calls back
      this.dispatch(idle, tasks);
    }
  }

  /** The next tasks to run together (Triton's dynamic batcher rules), or none yet while the head's queue delay lasts. */
  private takeBatch(): Task[] | undefined {
    const head = this.queue[0]!;
    const batching = this.batchOps.has(head.op) ? this.options.batching?.[head.lease.label ?? ''] : undefined;
    if (!batching) return this.queue.splice(0, 1);
    const mates = this.queue.filter((t) => t.op === head.op && t.lease.label === head.lease.label).slice(0, batching.maxBatchSize);
    const preferred = batching.preferredBatchSizes.filter((n) => n <= mates.length);
    const waitedMs = performance.now() - head.enqueuedAt;
    let size = mates.length;
    if (preferred.length && mates.length < batching.maxBatchSize) size = Math.max(...preferred);
    else if (mates.length < batching.maxBatchSize && waitedMs < batching.maxQueueDelayMs) {
      this.batchTimer = setTimeout(() => this.schedule(), batching.maxQueueDelayMs - waitedMs);
      return undefined;
    }
    const batch = mates.slice(0, size);
    for (const task of batch) this.queue.splice(this.queue.indexOf(task), 1);
    return batch;
  }

  /** Stop admitting, let admitted requests finish, then end the instances. */
  async close(): Promise<void> {
    this.closing = true;
    for (const slot of this.slots) clearTimeout(slot.restartTimer);
    if (this.leases.size || this.queue.length) await new Promise<void>((resolve) => (this.drained = resolve));
    this.shutdown();
  }

  private liveInstances(): Instance[] {
    return this.slots.flatMap((s) => [s.current, s.retiring].filter((i): i is Instance => i?.state === 'live' || i?.state === 'retiring'));
  }

  /** no instance serves and the last start failed: waiting would be forever, so refuse */
  private down(): boolean {
    return this.liveInstances().length === 0 && this.slots.every((s) => s.failures > 0);
  }

  private downError(): ApiError {
    return new ApiError(
      503,
      `No inference instance of ${this.name} is running: every instance died and restarting them failed (see the server log); retrying with backoff`,
    );
  }

  private abort(task: Task, reason: Error): void {
    const index = this.queue.indexOf(task);
    if (index >= 0) {
      this.queue.splice(index, 1);
      this.settle(task, reason, true);
    } else {
      // running: answer now; the instance stays busy until the model call ends (or the deadline kills it)
      this.settle(task, reason, false);
    }
  }

  /** Answer a task once; `gone` = it no longer occupies the queue or an instance. */
  private settle(task: Task, result: Error | { value: unknown }, gone: boolean): void {
    if (!task.settled) {
      task.settled = true;
      task.cleanup();
      if (result instanceof Error) task.reject(result);
      else task.resolve(result.value);
    }
    if (gone) task.lease.taskGone();
  }

  private dispatch(instance: Instance, tasks: Task[]): void {
    const startedAt = performance.now();
    const lent = tasks[0]!.options.lent;
    const alone = tasks.length === 1 && !lent && this.soleRequest();
    const execution: Execution = { id: this.nextExecutionId++, tasks, startedAt, alone };
    if (!lent) this.crowd(instance);
    instance.running = execution;
    for (const task of tasks) {
      task.startedAt = startedAt;
      task.lease.queueMs += startedAt - task.enqueuedAt;
    }
    // a batch is stuck only once every one of its requests is past its deadline (earlier ones are answered by their own timers)
    const deadlines = tasks.map((t) => t.options.deadline);
    if (deadlines.every((d) => d !== undefined)) {
      const deadline = Math.max(...(deadlines as number[]));
      instance.deadlineTimer = setTimeout(() => this.kill(instance, 'timeout'), Math.max(0, deadline - startedAt));
    }
    const message: InstanceRequest = { type: 'task', id: execution.id, op: tasks[0]!.op, payloads: tasks.map((t) => t.payload), alone };
    instance.child.send(message, (err) => {
      if (err) this.kill(instance, 'crash');
    });
  }

  /** One admitted request and nothing queued: it may use the whole machine (wide sessions, lent batches). */
  private soleRequest(): boolean {
    return this.leases.size === 1 && !this.queue.length;
  }

  /** Another request starts on `starting`: an instance computing on every core for a lone request goes back to its own threads. */
  private crowd(starting: Instance): void {
    for (const other of this.liveInstances()) {
      if (other === starting || !other.running?.alone) continue;
      other.running.alone = false;
      other.child.send({ type: 'crowded' } satisfies InstanceRequest, (err) => {
        if (err) this.kill(other, 'crash');
      });
    }
  }

  /** The instance's tasks left it (answered, or lost when `outcomes` is undefined): record them and free the instance. */
  private finish(instance: Instance, outcomes?: TaskOutcome[]): Task[] {
    const execution = instance.running;
    clearTimeout(instance.deadlineTimer);
    instance.running = undefined;
    if (!execution) return [];
    const computeMs = performance.now() - execution.startedAt;
    for (const [i, task] of execution.tasks.entries()) {
      task.lease.computeMs += computeMs;
      const ok = outcomes?.[i]?.ok ?? false;
      this.emit('taskDone', { pipeline: this.name, op: task.op, queueMs: execution.startedAt - task.enqueuedAt, computeMs, ok });
    }
    if (outcomes && !execution.tasks[0]!.options.lent) {
      this.emit('execution', { op: execution.tasks[0]!.op, labels: execution.tasks.map((t) => t.lease.label), computeMs });
    }
    return execution.tasks;
  }

  /** A free instance: retire it if it is due, hand out waiting tasks, or note a drained pool. */
  private next(instance: Instance): void {
    if (instance.state === 'stopping') return void this.kill(instance, 'recycle');
    if (instance.state === 'live' && this.dueForRecycling(instance)) this.recycle(instance);
    this.schedule();
    this.checkDrained();
  }

  private checkDrained(): void {
    if (this.closing && this.drained && !this.leases.size && !this.queue.length) this.drained();
  }

  private dueForRecycling(instance: Instance): boolean {
    const recycle = this.options.recycle;
    if (!recycle) return false;
    return (
      (recycle.afterTasks > 0 && instance.tasksDone >= recycle.afterTasks) || (recycle.rssBytes > 0 && instance.rssBytes > recycle.rssBytes)
    );
  }

  /** Start a replacement; the old instance keeps serving until it is ready, then stops once idle. */
  private recycle(instance: Instance): void {
    const slot = this.slots[instance.slot]!;
    if (slot.retiring || this.closing) return;
    instance.state = 'retiring';
    slot.retiring = instance;
    slot.current = undefined;
    this.options.log?.(
      `INFO:     Recycling inference instance ${this.name}#${slot.index} (pid ${instance.child.pid}) after ${instance.tasksDone} tasks, RSS ${(instance.rssBytes / 2 ** 20).toFixed(0)} MB`,
    );
    this.startInstance(slot).then(
      () => {
        instance.state = 'stopping';
        if (!instance.running) this.kill(instance, 'recycle');
      },
      () => {
        // keep serving with the old one (if it still runs); it is due again after its next task
        if (slot.retiring !== instance) return;
        instance.state = 'live';
        slot.retiring = undefined;
        slot.current = instance;
      },
    );
  }

  private kill(instance: Instance, reason: InstanceExitReason): void {
    if (instance.killedFor) return;
    instance.killedFor = reason;
    instance.child.kill('SIGKILL');
  }

  private shutdown(): void {
    this.closing = true;
    clearTimeout(this.batchTimer);
    for (const slot of this.slots) {
      clearTimeout(slot.restartTimer);
      for (const instance of [slot.current, slot.retiring]) if (instance) this.kill(instance, 'shutdown');
    }
  }

  private startInstance(slot: Slot): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = fork(INSTANCE_ENTRY, [], {
        serialization: 'advanced',
        // the server's own flags (--inspect, --test ...) are not meant for instances
        execArgv: [],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      try {
        if (child.pid !== undefined) os.setPriority(child.pid, Math.min(19, os.getPriority() + INSTANCE_NICENESS));
      } catch {
        // not permitted here (some containers): the instance runs at the server's priority
      }
      const instance: Instance = { slot: slot.index, child, state: 'starting', tasksDone: 0, rssBytes: 0 };
      slot.current = instance;
      let startupError: Error | undefined;
      child.on('message', (msg: InstanceReply) => {
        if (msg.type === 'ready') {
          this.batchOps = new Set(msg.batchOps);
          instance.state = 'live';
          instance.rssBytes = msg.rss;
          slot.failures = 0;
          resolve();
          this.next(instance); // a replacement picks up whatever waited meanwhile
        } else if (msg.type === 'lend') {
          this.lend(instance, msg.id, msg.op, msg.payload);
        } else if (msg.type === 'startupError') {
          startupError = msg.error.expose || msg.error.status !== 500 ? deserializeError(msg.error) : new ConfigError(msg.error.message);
          this.kill(instance, 'startup');
        } else {
          if (instance.running?.id !== msg.id) return;
          instance.tasksDone += msg.outcomes.length;
          instance.rssBytes = msg.rss;
          const tasks = this.finish(instance, msg.outcomes);
          for (const [i, task] of tasks.entries()) {
            const outcome = msg.outcomes[i]!;
            this.settle(task, outcome.ok ? { value: outcome.value } : deserializeError(outcome.error), true);
          }
          this.next(instance);
        }
      });
      child.on('error', (err) => {
        startupError ??= err;
        this.kill(instance, 'crash');
      });
      child.once('exit', (code, signal) => {
        const wasStarting = instance.state === 'starting';
        if (slot.current === instance) slot.current = undefined;
        if (slot.retiring === instance) slot.retiring = undefined;
        const how = signal ? `signal ${signal}` : `exit code ${code}`;
        if (wasStarting && this.closing) {
          reject(new Error(`${this.name} is shutting down`));
        } else if (wasStarting) {
          slot.failures++;
          const err = startupError ?? new Error(`Inference instance of ${this.name} exited (${how}) while loading`);
          this.options.log?.(`ERROR:    Inference instance ${this.name}#${slot.index} failed to start: ${err.message}`);
          this.emit('instanceExit', { slot: slot.index, reason: 'startup' });
          this.failWaitingIfDown();
          reject(err);
        } else {
          this.lost(instance, instance.killedFor ?? 'crash', how);
        }
        if (!this.closing && !slot.current && !slot.retiring) this.scheduleRestart(slot);
        this.checkDrained();
      });
      child.send({ type: 'init', init: this.options.init, peers: this.options.instances - 1 } satisfies InstanceRequest);
    });
  }

  /**
   * An instance offers an item of its request (see runtime/spread.ts): it runs on an idle instance,
   * as a task of the same request, only while that request is the pool's only one and nothing waits;
   * otherwise the offer is declined at once and the item runs on the offering instance.
   */
  private lend(from: Instance, id: number, op: string, payload: unknown): void {
    const answer = (outcome?: TaskOutcome) => {
      if (from.child.connected) from.child.send({ type: 'lent', id, outcome } satisfies InstanceRequest, () => {});
    };
    const task = from.running?.tasks[0];
    const idle = this.liveInstances().some((i) => !i.running);
    if (!task || !idle || !this.soleRequest() || task.options.signal?.aborted) return answer();
    task.lease.run(op, payload, { ...task.options, lent: true }).then(
      (value) => answer({ ok: true, value }),
      (err: unknown) => answer({ ok: false, error: serializeError(err) }),
    );
  }

  /** A serving instance is gone: fail its task or batch (only), count the restart. */
  private lost(instance: Instance, reason: InstanceExitReason, how: string): void {
    const tasks = this.finish(instance);
    if (reason === 'crash' || reason === 'timeout') {
      this.restarts++;
      this.options.log?.(
        `ERROR:    Inference instance ${this.name}#${instance.slot} (pid ${instance.child.pid}) ${reason === 'timeout' ? 'was stuck past the request timeout and was killed' : `died (${how})`}; replacing it`,
      );
    }
    if (reason === 'cancel') {
      this.options.log?.(
        `INFO:     Inference instance ${this.name}#${instance.slot} (pid ${instance.child.pid}) stopped: its request was cancelled; replacing it`,
      );
    }
    if (reason !== 'shutdown') this.emit('instanceExit', { slot: instance.slot, reason });
    for (const task of tasks) {
      const error =
        reason === 'timeout'
          ? (task.options.timeoutError?.() ?? new ApiError(504, 'The request did not finish in time'))
          : new InstanceLostError(
              `The ${this.name} inference instance running this request died (${how}) before answering; it is being replaced. Other requests are not affected.`,
            );
      this.settle(task, error, true);
    }
  }

  private scheduleRestart(slot: Slot): void {
    const { firstMs, maxMs } = this.options.backoff ?? DEFAULT_BACKOFF;
    const delay = slot.failures === 0 ? 0 : Math.min(maxMs, firstMs * 2 ** (slot.failures - 1));
    if (delay) this.options.log?.(`INFO:     Retrying inference instance ${this.name}#${slot.index} in ${(delay / 1000).toFixed(1)} s`);
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined;
      if (!this.closing) this.startInstance(slot).catch(() => {}); // logged and rescheduled by the exit handler
    }, delay);
  }

  /** With no instance left and restarts failing, waiting tasks would wait forever: refuse them now. */
  private failWaitingIfDown(): void {
    if (!this.down()) return;
    for (const task of this.queue.splice(0)) this.settle(task, this.downError(), true);
  }
}
