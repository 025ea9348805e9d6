import { readFileSync } from 'node:fs';

/** Resident memory of a process in MB, from /proc (Linux); `undefined` where it cannot be read. */
export function residentMemoryMb(pid: number, read = (path: string) => readFileSync(path, 'utf8')): number | undefined {
  try {
    const line = read(`/proc/${pid}/status`)
      .split('\n')
      .find((l) => l.startsWith('VmRSS:'));
    const kb = line ? Number.parseInt(line.slice('VmRSS:'.length), 10) : Number.NaN;
    return Number.isFinite(kb) ? kb / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Samples each worker's resident memory from the primary (no IPC, so a busy worker is measured too)
 * and reports the ones above the limit. The primary replaces them the rolling way.
 */
export class MemoryGuard {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly limitMb: number,
    private readonly intervalMs: number,
    private readonly workers: () => ReadonlyArray<{ slot: number; pid: number }>,
    private readonly onOverLimit: (slot: number, rssMb: number) => void,
    private readonly measure: (pid: number) => number | undefined = residentMemoryMb,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => this.check(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  check(): void {
    for (const { slot, pid } of this.workers()) {
      const rssMb = this.measure(pid);
      if (rssMb !== undefined && rssMb > this.limitMb) this.onOverLimit(slot, rssMb);
    }
  }
}
