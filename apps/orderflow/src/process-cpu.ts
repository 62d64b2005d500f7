import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

/**
 * CPU time of the processes a benchmark involves, read from /proc/<pid>/stat (Linux), so
 * that a figure per order compares across machines where orders per second do not.
 *
 * A process that ends during the window keeps its CPU time: its parent's cutime/cstime
 * take it over once the parent has waited for it, so each group sums utime+stime+cutime+cstime
 * over its live processes and compares totals (not pids) between the two readings. A process
 * that starts during the window counts from zero.
 */

interface ProcessStat {
  pid: number;
  ppid: number;
  comm: string;
  /** utime+stime, in clock ticks. */
  ownTicks: number;
  /** cutime+cstime: children that have ended and been waited for, in clock ticks. */
  endedChildrenTicks: number;
}

export type CpuGroup = 'benchProcess' | 'startedProcesses' | 'broker' | 'postgres';

export interface CpuWatchOptions {
  /** nats-server, or the local Kafka broker's java process (kafka.Kafka); none for the embedded broker. */
  broker: 'embedded' | 'nats' | 'kafka';
  /** The run's PostgreSQL database: its backends (by process title) and the server's own background processes count. */
  postgresDatabase?: string | undefined;
}

const CLOCK_TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

function readStat(pid: number): ProcessStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm is in parentheses and may hold spaces or parentheses itself: split after the last ')'.
    const close = text.lastIndexOf(')');
    const fields = text.slice(close + 2).split(' ');
    const tick = (i: number) => Number(fields[i] ?? 0);
    return { pid, ppid: tick(1), comm: text.slice(text.indexOf('(') + 1, close), ownTicks: tick(11) + tick(12), endedChildrenTicks: tick(13) + tick(14) };
  } catch {
    return undefined; // ended between the directory listing and the read
  }
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return '';
  }
}

function allProcesses(): ProcessStat[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .flatMap((name) => readStat(Number(name)) ?? []);
}

/** A PostgreSQL backend's title is `postgres: [cluster: ]user database host activity`; background processes name no database. */
function postgresRole(pid: number, database: string): 'ours' | 'server' | 'other' {
  const title = commandLine(pid);
  if (!title.startsWith('postgres:')) return 'server'; // the postmaster, by its own command line
  if (title.split(' ').includes(database)) return 'ours';
  return /\d+\.\d+\.\d+\.\d+\(\d+\)|\[local\]/.test(title) ? 'other' : 'server';
}

function readTotals(options: CpuWatchOptions): Record<CpuGroup, number> {
  const processes = allProcesses();
  const self = processes.find((p) => p.pid === process.pid);
  const children = new Map<number, ProcessStat[]>();
  for (const p of processes) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const descendants: ProcessStat[] = [];
  const pending = [...(children.get(process.pid) ?? [])];
  for (let next = pending.pop(); next; next = pending.pop()) {
    descendants.push(next);
    pending.push(...(children.get(next.pid) ?? []));
  }
  const all = (p: ProcessStat) => p.ownTicks + p.endedChildrenTicks;
  const sum = (list: readonly ProcessStat[], of: (p: ProcessStat) => number) => list.reduce((total, p) => total + of(p), 0);
  const brokers = processes.filter((p) =>
    options.broker === 'nats' ? p.comm === 'nats-server' : options.broker === 'kafka' ? p.comm === 'java' && commandLine(p.pid).includes('kafka.Kafka') : false,
  );
  let postgres = 0;
  if (options.postgresDatabase) {
    const database = options.postgresDatabase;
    // Only the run's backends and the server's background processes: the server is shared
    // (other databases' backends are someone else's work), and the postmaster's cutime holds
    // every ended backend of every database, so it is left out (our pools keep theirs open).
    for (const p of processes.filter((q) => q.comm === 'postgres')) if (postgresRole(p.pid, database) !== 'other') postgres += p.ownTicks;
  }
  return {
    benchProcess: self?.ownTicks ?? 0,
    startedProcesses: sum(descendants, all) + (self?.endedChildrenTicks ?? 0),
    broker: sum(brokers, all),
    postgres,
  };
}

export interface CpuReading {
  /** CPU milliseconds per group since the watch began. */
  milliseconds(): Record<CpuGroup, number>;
}

/** Starts a window: milliseconds() gives each group's CPU time since. */
export function watchCpu(options: CpuWatchOptions): CpuReading {
  const before = readTotals(options);
  return {
    milliseconds() {
      const after = readTotals(options);
      const ms = (group: CpuGroup) => ((after[group] - before[group]) * 1000) / CLOCK_TICKS_PER_SECOND;
      return { benchProcess: ms('benchProcess'), startedProcesses: ms('startedProcesses'), broker: ms('broker'), postgres: ms('postgres') };
    },
  };
}

/** CPU milliseconds per completed order (or chain), per group and in all, to 2 decimals. */
export function cpuPerCompleted(totals: Record<CpuGroup, number>, completed: number) {
  const per = (ms: number) => (completed > 0 ? Number((ms / completed).toFixed(2)) : Number.NaN);
  const total = totals.benchProcess + totals.startedProcesses + totals.broker + totals.postgres;
  return {
    total: per(total),
    benchProcess: per(totals.benchProcess),
    startedProcesses: per(totals.startedProcesses),
    broker: per(totals.broker),
    postgres: per(totals.postgres),
  };
}
