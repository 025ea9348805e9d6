/**
 * CPU time of a contender from /proc: the noise-proof measure beside wall-clock ratios. On a shared
 * machine req/s moves with whatever else runs; the CPU a contender's own processes spend per 1,000
 * requests (messages, scrapes) does much less. Linux only; elsewhere every figure is NaN.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ: 100 on every Linux build in use). */
const TICKS_PER_SECOND = 100;

interface ProcessTimes {
  readonly pgid: number;
  /** utime + stime, plus cutime + cstime: children it reaped (a worker that exited) count too. */
  readonly ms: number;
}

function timesOf(pid: number): ProcessTimes | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may itself hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    return { pgid: Number(fields[2]), ms: (ticks * 1000) / TICKS_PER_SECOND };
  } catch {
    return null; // gone between the listing and the read
  }
}

/** CPU ms spent so far by every live process of each process group in `pgids`, by group. */
export function groupCpuMs(pgids: readonly number[]): Map<number, number> {
  const totals = new Map<number, number>(pgids.map((pgid) => [pgid, 0]));
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return new Map(pgids.map((pgid) => [pgid, NaN]));
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const times = timesOf(Number(entry));
    if (times && totals.has(times.pgid)) totals.set(times.pgid, totals.get(times.pgid)! + times.ms);
  }
  return totals;
}

/**
 * Measures the CPU the process groups spend while `work` runs: ms per group. A process that exits
 * during the window counts through its parent once reaped (cutime), which is how a cluster's
 * primary accounts for a worker it replaced; one that is not reaped by then is missed.
 */
export async function cpuDuring<T>(pgids: readonly number[], work: () => Promise<T>): Promise<{ result: T; cpuMs: Map<number, number> }> {
  const before = groupCpuMs(pgids);
  const result = await work();
  const after = groupCpuMs(pgids);
  return { result, cpuMs: new Map(pgids.map((pgid) => [pgid, after.get(pgid)! - before.get(pgid)!])) };
}

/** CPU ms per 1,000 units of work (requests, messages, scrapes). */
export function cpuMsPerThousand(cpuMs: number, units: number): number {
  return units > 0 ? (cpuMs * 1000) / units : NaN;
}
