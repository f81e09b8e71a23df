/**
 * How much of the machine other processes used while we measured: on a shared 2-core box, a busy
 * neighbour halves every throughput figure, so the report shows this next to the numbers.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';

/** Linux reports /proc/stat in USER_HZ ticks, 100 per second on every mainstream architecture. */
const TICKS_PER_SECOND = 100;

interface Snapshot {
  /** machine-wide busy CPU seconds (all cores) */
  busySeconds: number;
  /** CPU seconds of this process, all threads (workers included) */
  ownSeconds: number;
  wallSeconds: number;
}

function snapshot(): Snapshot | undefined {
  let fields: number[];
  try {
    fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  } catch {
    return undefined; // not Linux
  }
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  const { user: ownUser, system: ownSystem } = process.cpuUsage();
  return {
    // Time the hypervisor gave to other guests is lost to us as well, so it counts as foreign.
    busySeconds: (user + nice + system + irq + softirq + steal) / TICKS_PER_SECOND,
    ownSeconds: (ownUser + ownSystem) / 1e6,
    wallSeconds: performance.now() / 1000,
  };
}

export class CpuWatch {
  private readonly start = snapshot();

  /** Share (0..1) of all cores' time since construction that went to other processes; undefined off Linux. */
  foreignShare(): number | undefined {
    const end = snapshot();
    if (!this.start || !end) return undefined;
    const capacity = (end.wallSeconds - this.start.wallSeconds) * os.availableParallelism();
    const foreign = end.busySeconds - this.start.busySeconds - (end.ownSeconds - this.start.ownSeconds);
    return Math.min(1, Math.max(0, foreign / capacity));
  }
}
