/** One rolling restart: the slots it replaces, in order, and how far it got. */
export interface RestartRun {
  readonly reason: string;
  readonly slots: readonly number[];
  /**
   * Index in `slots` of the first slot it has not started on. A slot is passed once its replacement
   * is forked: that replacement may predate a later request (a deploy), so it does not count for it.
   */
  next: number;
}

interface PendingRun {
  readonly slots: Set<number>;
  readonly reasons: string[];
  readonly ended: Promise<void>;
  readonly resolve: () => void;
}

/**
 * Orders rolling restart requests so that each one ends with every slot it asked for replaced after
 * it was made. A request joins the running restart only when every slot it asks for is still ahead
 * of it; otherwise the slots the running one does not cover wait in one pending run, which requests
 * arriving meanwhile join too, and which starts once the running one ends. A request's promise
 * resolves once the runs covering its slots have ended (done or aborted: an aborted restart leaves the
 * old workers serving, and its requests end with it). The pending run starts even after an aborted
 * one: it was asked for on its own, perhaps with the fix.
 */
export class RestartQueue {
  private running: { readonly run: RestartRun; ended: Promise<void> } | undefined;
  private pending: PendingRun | undefined;

  constructor(private readonly roll: (run: RestartRun) => Promise<void>) {}

  /** Whether a restart is running. */
  get active(): boolean {
    return this.running !== undefined;
  }

  request(reason: string, slots: readonly number[]): Promise<void> {
    if (!this.running) return this.start(reason, slots);
    const ahead = this.ahead();
    const rest = slots.filter((slot) => !ahead.has(slot));
    if (rest.length === 0) return this.running.ended;
    if (!this.pending) {
      let resolve!: () => void;
      const ended = new Promise<void>((r) => (resolve = r));
      this.pending = { slots: new Set(), reasons: [], ended, resolve };
    }
    for (const slot of rest) this.pending.slots.add(slot);
    if (!this.pending.reasons.includes(reason)) this.pending.reasons.push(reason);
    // The pending run starts after the running one ends, so its end covers the joined slots too.
    return this.pending.ended;
  }

  /** Whether `slot` will get a replacement forked from now on by a restart already asked for. */
  covers(slot: number): boolean {
    return this.ahead().has(slot) || (this.pending?.slots.has(slot) ?? false);
  }

  /** Forgets the pending run (the cluster is stopping); the requests waiting for it resolve. */
  clear(): void {
    this.pending?.resolve();
    this.pending = undefined;
  }

  private ahead(): Set<number> {
    const run = this.running?.run;
    return new Set(run ? run.slots.slice(run.next) : []);
  }

  private start(reason: string, slots: readonly number[]): Promise<void> {
    const run: RestartRun = { reason, slots: [...new Set(slots)], next: 0 };
    // Known as running before `roll` starts, so a request made while it forks sees it.
    const running = (this.running = { run, ended: Promise.resolve() });
    running.ended = this.roll(run).finally(() => {
      this.running = undefined;
      this.startPending();
    });
    return running.ended;
  }

  private startPending(): void {
    const pending = this.pending;
    if (!pending) return;
    this.pending = undefined;
    const slots = [...pending.slots].sort((a, b) => a - b);
    this.start(pending.reasons.join(', '), slots).then(pending.resolve, pending.resolve);
  }
}
