/**
 * Instance side of spreading a request's items over idle instances (e.g. OCR's recognition batches):
 * the instance running the request works through the items from the front, and, for each other
 * instance of the pool, a lane offers items from the back to the pool (`lend`). The pool runs an
 * offered item on an idle instance only while the request is its only one; otherwise it declines and
 * the item runs here. So a lone request uses every instance, and under load each request stays on one.
 */
import type { Spread } from './context.js';
import type { InstanceReply, TaskOutcome } from './protocol.js';

export class Lender {
  /** the spread operations of this worker, by name: an instance runs them when the pool hands it a lent item */
  readonly operations = new Map<string, (item: unknown) => Promise<unknown>>();
  private nextId = 1;
  private readonly waiting = new Map<number, (outcome: TaskOutcome | undefined) => void>();

  /** items of this instance's request run on other instances right now (so the machine is busy) */
  get lending(): boolean {
    return this.waiting.size > 0;
  }

  constructor(
    private readonly send: (msg: InstanceReply) => void,
    /** the pool's other instances */
    private readonly peers: number,
  ) {}

  /** The pool's answer to a `lend`. */
  answered(id: number, outcome: TaskOutcome | undefined): void {
    const resolve = this.waiting.get(id);
    this.waiting.delete(id);
    resolve?.(outcome);
  }

  spread<P, R>(name: string, run: (item: P) => Promise<R>): Spread<P, R> {
    if (this.operations.has(name)) throw new Error(`A spread operation named ${name} is already registered`);
    this.operations.set(name, run as (item: unknown) => Promise<unknown>);
    return async (items) => {
      const results = new Array<R>(items.length);
      const queue = items.map((_, index) => index);
      let localDone = false;
      const local = async () => {
        for (let index = queue.shift(); index !== undefined; index = queue.shift()) results[index] = await run(items[index]!);
        localDone = true;
      };
      const lane = async () => {
        for (let index = queue.pop(); index !== undefined; index = queue.pop()) {
          const outcome = await this.lend(name, items[index]);
          if (outcome?.ok) {
            results[index] = outcome.value as R;
            continue;
          }
          // declined (no idle instance) or failed there (e.g. that instance died): it runs here, and this lane ends
          if (localDone) results[index] = await run(items[index]!);
          else queue.push(index);
          return;
        }
      };
      const lanes = Math.min(this.peers, items.length - 1);
      await Promise.all([local(), ...Array.from({ length: Math.max(0, lanes) }, lane)]);
      return results;
    };
  }

  private lend(op: string, payload: unknown): Promise<TaskOutcome | undefined> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.send({ type: 'lend', id, op, payload });
    });
  }
}
