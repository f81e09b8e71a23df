/**
 * How much of the machine other processes used while we measured: on a shared 2-core box, a busy
 * neighbour halves every throughput figure, so the report shows this next to the numbers.
 */
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

/** Linux reports /proc/stat in USER_HZ ticks, 100 per second on every mainstream architecture. */
const TICKS_PER_SECOND = 100;

interface Snapshot {
  /** machine-wide busy CPU seconds (all cores) */
  busySeconds: number;
  /** CPU seconds of this process and its descendants (the inference instances are child processes) */
  ownSeconds: number;
  wallSeconds: number;
}

interface ProcessEntry {
  parent: number;
  /** utime + stime, ticks */
  cpuTicks: number;
  rssBytes: number;
}

/** Linux's page size on every architecture this runs on in practice (x86-64, arm64 with 4 KiB pages). */
const PAGE_BYTES = 4096;

/** Every process, from /proc/<pid>/stat. */
function processTable(): Map<number, ProcessEntry> {
  const table = new Map<number, ProcessEntry>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // fields after the parenthesised command name: state ppid ... utime(12th) stime(13th) ... rss(22nd, pages)
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      table.set(Number(entry), {
        parent: Number(fields[1]),
        cpuTicks: Number(fields[11]) + Number(fields[12]),
        rssBytes: Number(fields[21]) * PAGE_BYTES,
      });
    } catch {
      // the process ended while we listed them
    }
  }
  return table;
}

/** `root` and its running descendants. */
function processTree(root: number): ProcessEntry[] {
  const table = processTable();
  const ours = new Set([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, { parent }] of table) {
      if (!ours.has(pid) && ours.has(parent)) {
        ours.add(pid);
        grew = true;
      }
    }
  }
  return [...ours].flatMap((pid) => table.get(pid) ?? []);
}

/** CPU seconds of this process's descendants that are still running. */
export function descendantSeconds(): number {
  const [, ...descendants] = processTree(process.pid);
  return descendants.reduce((sum, p) => sum + p.cpuTicks, 0) / TICKS_PER_SECOND;
}

/** Resident memory of a process and its running descendants (a server and its inference instances), bytes; Linux only. */
export function treeRssBytes(pid: number): number {
  return processTree(pid).reduce((sum, p) => sum + p.rssBytes, 0);
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
    ownSeconds: (ownUser + ownSystem) / 1e6 + descendantSeconds(),
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
