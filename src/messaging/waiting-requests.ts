/** A reply later than the requester's own timeout is dropped there anyway; entries are kept a bit longer. */
export const FORGET_MARGIN_MS = 1_000;
const SWEEP_EVERY_MS = 1_000;

/**
 * Requests routed on and waiting for their reply, by the id they travel under. Holds no payload, so
 * the table stays small; an entry is forgotten once its requester has given up (`forgetAt`), so the
 * table cannot grow without bound.
 */
export class WaitingRequests<Entry extends { readonly forgetAt: number }> {
  private readonly waiting = new Map<string, Entry>();
  private sweeper: NodeJS.Timeout | undefined;

  /** `forgotten`: an entry whose requester gave up was dropped. */
  constructor(private readonly forgotten: (entry: Entry) => void = () => undefined) {}

  get size(): number {
    return this.waiting.size;
  }

  /** `forgetAt` for a request that its requester waits `timeoutMs` for. */
  static deadline(timeoutMs: number | undefined): number {
    return Date.now() + (timeoutMs ?? 0) + FORGET_MARGIN_MS;
  }

  track(id: string, entry: Entry): void {
    this.waiting.set(id, entry);
    this.sweeper ??= setInterval(this.sweep, SWEEP_EVERY_MS).unref();
  }

  get(id: string): Entry | undefined {
    return this.waiting.get(id);
  }

  /** Removes and returns the entry of `id`. */
  take(id: string): Entry | undefined {
    const entry = this.waiting.get(id);
    if (entry) this.waiting.delete(id);
    return entry;
  }

  /** Removes and returns every entry that matches (its target or its requester went away). */
  takeWhere(match: (entry: Entry) => boolean): Entry[] {
    const taken: Entry[] = [];
    for (const [id, entry] of this.waiting) {
      if (!match(entry)) continue;
      this.waiting.delete(id);
      taken.push(entry);
    }
    return taken;
  }

  close(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  private readonly sweep = (): void => {
    const now = Date.now();
    for (const entry of this.takeWhere((e) => e.forgetAt <= now)) this.forgotten(entry);
    if (this.waiting.size === 0) this.close();
  };
}
