import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { isTrackedGroup } from './run-node.js';

function clockTicksPerSecond(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

/**
 * CPU time spent by processes that are not part of the benchmark (neither the runner nor any process
 * group it started): the figures are only as good as the machine was quiet, so the report says how
 * quiet it was. Sampled once a second from /proc; kernel threads are left out.
 */
export class OtherCpu {
  private readonly ticksPerSecond = clockTicksPerSecond();
  private readonly seen = new Map<number, number>();
  private otherTicks = 0;
  private readonly startedAt = performance.now();
  private readonly timer: NodeJS.Timeout;

  constructor(intervalMs = 1_000) {
    this.sample(true);
    this.timer = setInterval(() => this.sample(false), intervalMs);
    this.timer.unref();
  }

  private sample(baseline: boolean): void {
    let entries: string[];
    try {
      entries = readdirSync('/proc');
    } catch {
      return; // no procfs: the report says so through a NaN
    }
    for (const entry of entries) {
      if (!/^\d+$/.test(entry)) continue;
      const pid = Number(entry);
      let stat: string;
      try {
        stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      } catch {
        continue;
      }
      // Fields after the command name: state, ppid, pgrp, ..., utime (14th field), stime (15th).
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ppid = Number(fields[1]);
      const pgrp = Number(fields[2]);
      const ticks = Number(fields[11]) + Number(fields[12]);
      const before = this.seen.get(pid);
      this.seen.set(pid, ticks);
      if (baseline || pid === process.pid || pid === 2 || ppid === 2 || isTrackedGroup(pgrp)) continue;
      this.otherTicks += before === undefined ? ticks : Math.max(0, ticks - before);
    }
  }

  /** CPU-seconds used by other processes so far. */
  cpuSeconds(): number {
    this.sample(false);
    return this.otherTicks / this.ticksPerSecond;
  }

  /**
   * Waits, up to `maxWaitMs`, for a 1 s window in which other processes used less than `maxShare` of
   * all cores: a measurement that starts while a neighbour is busy measures the neighbour.
   * Resolves with the time waited.
   */
  async quiet(cores: number, maxShare: number, maxWaitMs: number): Promise<number> {
    const started = performance.now();
    for (;;) {
      const before = this.cpuSeconds();
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const share = (this.cpuSeconds() - before) / cores;
      const waited = performance.now() - started;
      if (share < maxShare || waited >= maxWaitMs) return waited - 1_000;
    }
  }

  /** CPU-seconds used by other processes, and their share of all cores over the elapsed time. */
  stop(cores: number): { cpuSeconds: number; share: number } {
    clearInterval(this.timer);
    this.sample(false);
    const cpuSeconds = this.otherTicks / this.ticksPerSecond;
    const elapsedS = (performance.now() - this.startedAt) / 1_000;
    return { cpuSeconds, share: cpuSeconds / (elapsedS * cores) };
  }
}
