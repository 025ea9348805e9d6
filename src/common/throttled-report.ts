/**
 * Reports the first occurrence of each key at once, then at most one summary per `intervalMs`: the
 * count of what happened meanwhile and the first sample of it. A flood of the same problem makes a
 * few lines a minute, never one per occurrence, and nothing is left uncounted.
 */
export class ThrottledReport<T> {
  private readonly entries = new Map<string, { count: number; sample: T | undefined; timer: NodeJS.Timeout }>();

  constructor(
    private readonly intervalMs: number,
    private readonly report: (count: number, sample: T) => void,
  ) {}

  note(key: string, sample: T): void {
    const entry = this.entries.get(key);
    if (entry) {
      entry.count += 1;
      entry.sample ??= sample;
      return;
    }
    this.report(1, sample);
    this.entries.set(key, { count: 0, sample: undefined, timer: this.arm(key) });
  }

  /** Reports what is still counted and forgets every key. */
  flush(): void {
    for (const [key, entry] of this.entries) {
      clearTimeout(entry.timer);
      this.entries.delete(key);
      if (entry.count > 0) this.report(entry.count, entry.sample!);
    }
  }

  private arm(key: string): NodeJS.Timeout {
    const timer = setTimeout(() => {
      const entry = this.entries.get(key)!;
      if (entry.count === 0) return void this.entries.delete(key); // quiet: the next one reports at once
      const { count, sample } = entry;
      entry.count = 0;
      entry.sample = undefined;
      entry.timer = this.arm(key);
      this.report(count, sample!);
    }, this.intervalMs);
    return timer.unref();
  }
}
