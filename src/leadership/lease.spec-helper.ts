import { LeaseUnsupportedError, type LeaderLease } from './lease-keeper.js';

/**
 * A lease store in memory that behaves as the Redis one does: an expiring holder token and an epoch
 * counter, on the (fake) clock. `reachable(false)` makes calls reject, `hang(true)` never answer,
 * `unsupported` makes it a store that can hold no lease at all (a NATS server without JetStream).
 */
export class MemoryLeaseStore {
  holder: string | undefined;
  expiresAt = 0;
  epoch = 0;
  unsupported = false;
  /** How many times `acquire` was called. */
  acquired = 0;
  private down = new Set<string>();
  private hung = new Set<string>();

  lease(token: string): LeaderLease {
    const call = <T>(act: () => T): Promise<T> => {
      if (this.hung.has(token)) return new Promise<T>(() => undefined);
      if (this.down.has(token)) return Promise.reject(new Error('unreachable'));
      return Promise.resolve(act());
    };
    return {
      acquire: (ttlMs, after) =>
        call(() => {
          this.acquired += 1;
          if (this.unsupported) throw new LeaseUnsupportedError('no lease here');
          if (this.heldBy() !== undefined && this.heldBy() !== token) return null;
          this.holder = token;
          this.expiresAt = Date.now() + ttlMs;
          this.epoch = Math.max(this.epoch, after) + 1;
          return this.epoch;
        }),
      renew: (ttlMs) =>
        call(() => {
          if (this.heldBy() !== token) return false;
          this.expiresAt = Date.now() + ttlMs;
          return true;
        }),
      bump: () => call(() => (this.heldBy() === token ? ++this.epoch : null)),
      release: () =>
        call(() => {
          if (this.heldBy() === token) this.holder = undefined;
        }),
    };
  }

  /** The token holding an unexpired lease. */
  heldBy(): string | undefined {
    return this.holder !== undefined && Date.now() < this.expiresAt ? this.holder : undefined;
  }

  /** The store loses everything, as a Redis without persistence does when it restarts. */
  wipe(): void {
    this.holder = undefined;
    this.expiresAt = 0;
    this.epoch = 0;
  }

  reachable(token: string, reachable: boolean): void {
    if (reachable) this.down.delete(token);
    else this.down.add(token);
  }

  hang(token: string, hang: boolean): void {
    if (hang) this.hung.add(token);
    else this.hung.delete(token);
  }
}
