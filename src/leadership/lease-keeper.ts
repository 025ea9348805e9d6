/**
 * A lease on the cluster's leadership, shared by the nodes (Redis, for one). Only the node holding
 * it may appoint a leader. Every call may reject when the store cannot be reached; `acquire` rejects
 * with a `LeaseUnsupportedError` when the store can never hold a lease (a NATS server without
 * JetStream), and is not tried again.
 */
export interface LeaderLease {
  /**
   * Takes the lease for `ttlMs` if nobody holds it (or this node still does): the new epoch, or `null`
   * if another node holds it. The epoch is above `after`, the highest this node has seen: a store
   * that lost its counter (restarted empty, failed over) goes on from there rather than from 1.
   */
  acquire(ttlMs: number, after: number): Promise<number | null>;
  /** Extends the lease to `ttlMs` from now if this node still holds it; `false` if it does not. */
  renew(ttlMs: number): Promise<boolean>;
  /** A new epoch while this node holds the lease (a leader change inside the node), or `null` if it does not. */
  bump(): Promise<number | null>;
  /** Gives the lease up if this node holds it. */
  release(): Promise<void>;
}

/**
 * The store behind a `LeaderLease` can hold no lease at all (not: cannot be reached now). The node
 * stops trying and leads itself: with no shared lease, each node appoints a leader of its own.
 */
export class LeaseUnsupportedError extends Error {
  override readonly name = 'LeaseUnsupportedError';
}

export interface LeaseTiming {
  /** Life of the lease in the store. */
  readonly ttlMs: number;
  /** The holder renews this often. */
  readonly renewMs: number;
  /** A node without the lease tries to take it this often, and a failed renewal is tried again this soon. */
  readonly retryMs: number;
}

export const DEFAULT_LEASE_TIMING: LeaseTiming = Object.freeze({ ttlMs: 9_000, renewMs: 3_000, retryMs: 1_000 });

/** The lease was taken (with its epoch), lost (and why), or can never be held (`unsupported`: the keeper stopped). */
export type LeaseChange =
  | { readonly held: true; readonly epoch: number }
  | { readonly held: false; readonly reason: 'lease-lost' | 'transport-down' }
  | { readonly held: false; readonly reason: 'unsupported' };

/**
 * Takes, renews and gives up the lease for one node. While the node wants it (it has a worker that
 * may lead) and the link is up, it tries every `retryMs`; once held, it renews every `renewMs`.
 *
 * The holder steps down on its own `ttlMs - renewMs` after the last renewal it sent that succeeded:
 * the store counts the lease's life from when the renewal reached it, so no other node can take it
 * before this node has let go, whatever happened to the answers in between. It also steps down at
 * once when the link goes down: a store that comes back empty (restarted, failed over) would let
 * another node in before this one could find out.
 */
export class LeaseKeeper {
  private wanted = false;
  private linkUp = false;
  private holding = false;
  private stopped = false;
  /** Results of calls made before the last change of state are ignored. */
  private generation = 0;
  private busy = false;
  /** The highest epoch this node has seen, its own or another node's. */
  private highest = 0;
  private timer: NodeJS.Timeout | undefined;
  private deadline: NodeJS.Timeout | undefined;

  constructor(
    private readonly lease: LeaderLease,
    private readonly timing: LeaseTiming,
    private readonly changed: (change: LeaseChange) => void,
    private readonly now: () => number = Date.now,
  ) {}

  get held(): boolean {
    return this.holding;
  }

  /** Whether this node has a worker that may lead: only then does it take the lease. */
  want(wanted: boolean): void {
    if (wanted === this.wanted || this.stopped) return;
    this.wanted = wanted;
    if (wanted) return this.tryNow();
    this.generation += 1;
    this.clearTimers();
    if (!this.holding) return;
    // Nobody here may lead: the lease goes to another node at once instead of expiring.
    this.holding = false;
    this.lease.release().catch(() => undefined);
    this.changed({ held: false, reason: 'lease-lost' });
  }

  /** The link to the store went up or down. */
  link(up: boolean): void {
    if (up === this.linkUp || this.stopped) return;
    this.linkUp = up;
    if (!up) {
      if (this.holding) this.stepDown('transport-down');
      this.generation += 1;
      this.busy = false;
      this.clearTimers();
    } else this.tryNow();
  }

  /** An epoch another node announced: the next one this node takes is above it. */
  seen(epoch: number): void {
    this.highest = Math.max(this.highest, epoch);
  }

  /** Tries to take the lease now rather than at the next retry (another node just left). */
  tryNow(): void {
    if (!this.wanted || !this.linkUp || this.holding || this.stopped) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    void this.acquire();
  }

  /** A new epoch for a leader change inside this node; `null` (and the lease counts as lost) if the node no longer holds it. */
  async bump(): Promise<number | null> {
    if (!this.holding) return null;
    const generation = this.generation;
    const epoch = await this.lease.bump().catch(() => null);
    if (epoch !== null) this.seen(epoch);
    if (generation !== this.generation || !this.holding) return null;
    if (epoch === null) {
      this.stepDown('lease-lost');
      this.retryLater();
    }
    return epoch;
  }

  /** Stops for good, giving the lease up if held. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.generation += 1;
    this.clearTimers();
    const held = this.holding;
    this.holding = false;
    if (held) await this.lease.release().catch(() => undefined);
  }

  private async acquire(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    const generation = ++this.generation;
    const sentAt = this.now();
    let epoch: number | null = null;
    try {
      epoch = await this.lease.acquire(this.timing.ttlMs, this.highest);
    } catch (error) {
      // By name: a link may load the other build of this package (ES module or CommonJS) than the keeper's.
      if (error instanceof Error && error.name === 'LeaseUnsupportedError' && generation === this.generation && !this.stopped) {
        this.busy = false;
        this.stopped = true;
        this.clearTimers();
        return this.changed({ held: false, reason: 'unsupported' });
      }
      // unreachable: tried again below
    }
    this.busy = false;
    if (epoch !== null) this.seen(epoch);
    if (generation !== this.generation) return;
    if (epoch === null) return this.retryLater();
    if (!this.wanted || this.stopped) return void this.lease.release().catch(() => undefined);
    this.holding = true;
    this.extend(sentAt);
    this.changed({ held: true, epoch });
  }

  private async renew(): Promise<void> {
    const generation = this.generation;
    const sentAt = this.now();
    let renewed: boolean | undefined;
    try {
      renewed = await this.lease.renew(this.timing.ttlMs);
    } catch {
      // unreachable: tried again soon, while the deadline runs
    }
    if (generation !== this.generation || !this.holding) return;
    if (renewed === undefined) return this.schedule(() => this.renew(), this.timing.retryMs);
    if (!renewed) {
      this.stepDown('lease-lost');
      return this.retryLater();
    }
    this.extend(sentAt);
  }

  /** The lease was good at `sentAt`: renew in `renewMs`, and let go `ttlMs - renewMs` after it unless renewed. */
  private extend(sentAt: number): void {
    clearTimeout(this.deadline);
    const { ttlMs, renewMs } = this.timing;
    this.deadline = setTimeout(
      () => {
        this.stepDown('lease-lost');
        this.retryLater();
      },
      Math.max(0, sentAt + ttlMs - renewMs - this.now()),
    );
    this.deadline.unref?.();
    this.schedule(() => this.renew(), renewMs);
  }

  private stepDown(reason: 'lease-lost' | 'transport-down'): void {
    this.holding = false;
    this.generation += 1;
    this.clearTimers();
    this.changed({ held: false, reason });
  }

  private retryLater(): void {
    if (this.wanted && this.linkUp && !this.stopped) this.schedule(() => this.acquire(), this.timing.retryMs);
  }

  private schedule(act: () => Promise<void>, delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void act(), delayMs);
    this.timer.unref?.();
  }

  private clearTimers(): void {
    clearTimeout(this.timer);
    clearTimeout(this.deadline);
    this.timer = undefined;
    this.deadline = undefined;
  }
}
