import { LeaseKeeper, type LeaderLease, type LeaseChange, type LeaseTiming } from '../leadership/lease-keeper.js';
import { eventually, expect } from './conformance-runner.js';
import type { NodeLinkCase } from './node-link-conformance.js';
import { leases, show } from './node-link-probes.js';

/** Short leases, so that a holder cut off is replaced within a second or so. */
const TIMING: LeaseTiming = { ttlMs: 1_000, renewMs: 300, retryMs: 50 };
const FAILOVERS = 100;
/** Every this many failovers, the holder is cut off instead of letting go. */
const CUT_EVERY = 10;

/** A node's lease as its keeper uses it, whose calls can be made to go unanswered, as in a partition. */
class CuttableLease implements LeaderLease {
  private cut = false;
  private readonly waiting = new Set<(error: Error) => void>();

  constructor(private readonly lease: LeaderLease) {}

  /** From now on no call is answered, until `restore`. */
  cutOff(): void {
    this.cut = true;
  }

  /** Calls are answered again; those made while cut off fail, as after a timeout. */
  restore(): void {
    this.cut = false;
    for (const fail of this.waiting) fail(new Error('unreachable'));
    this.waiting.clear();
  }

  acquire(ttlMs: number, after: number): Promise<number | null> {
    return this.call(() => this.lease.acquire(ttlMs, after));
  }

  renew(ttlMs: number): Promise<boolean> {
    return this.call(() => this.lease.renew(ttlMs));
  }

  bump(): Promise<number | null> {
    return this.call(() => this.lease.bump());
  }

  release(): Promise<void> {
    return this.call(() => this.lease.release());
  }

  private call<T>(work: () => Promise<T>): Promise<T> {
    if (!this.cut) return work();
    return new Promise<T>((_, reject) => this.waiting.add(reject));
  }
}

/** When one node held the lease, with which epoch. */
interface Tenure {
  readonly node: number;
  readonly epoch: number;
  readonly from: number;
  to?: number;
}

/** The lease as the library keeps it (`LeaseKeeper`), over and over: what every link's lease must bear. */
export const LEASE_CASES: readonly NodeLinkCase[] = [
  {
    name: `${FAILOVERS} forced failovers between two nodes: the holder lets go or is cut off, the other takes over; epochs strictly increase and no two nodes ever hold the lease at once`,
    nodes: 2,
    needs: 'lease',
    timeoutMs: 120_000,
    async run(c) {
      const cuttable = (await leases(c)).map((lease) => new CuttableLease(lease));
      const tenures: Tenure[] = [];
      const changed = (node: number) => (change: LeaseChange) => {
        if (change.held) tenures.push({ node, epoch: change.epoch, from: Date.now() });
        else {
          const current = [...tenures].reverse().find((t) => t.node === node);
          expect(current !== undefined && current.to === undefined, `node ${node} let go of a lease it did not hold`);
          current.to = Date.now();
        }
      };
      const keepers = cuttable.map((lease, node) => new LeaseKeeper(lease, TIMING, changed(node)));
      const holder = () => keepers.findIndex((k) => k.held);
      try {
        for (const keeper of keepers) {
          keeper.link(true);
          keeper.want(true);
        }
        await eventually(
          () => holder() !== -1,
          c.settleMs,
          () => 'neither node took the free lease',
        );
        for (let failover = 1; failover <= FAILOVERS; failover++) {
          const from = holder();
          const to = 1 - from;
          const held = tenures.length;
          const cut = failover % CUT_EVERY === 0;
          if (cut) cuttable[from]!.cutOff();
          else keepers[from]!.want(false);
          // A holder cut off lets go after ttlMs - renewMs at most; the store frees the lease after ttlMs.
          const waitMs = 3 * TIMING.ttlMs + c.settleMs;
          await eventually(
            () => tenures.length > held && tenures.at(-1)!.node === to,
            waitMs,
            () => `failover ${failover} (${cut ? 'the holder cut off' : 'the holder let go'}): node ${to} did not take the lease`,
          );
          expect(!keepers[from]!.held, `failover ${failover}: node ${from} still holds the lease node ${to} took`);
          if (cut) cuttable[from]!.restore();
          else keepers[from]!.want(true);
        }
      } finally {
        for (const keeper of keepers) await keeper.stop();
      }
      expect(tenures.length === FAILOVERS + 1, `${tenures.length} tenures for ${FAILOVERS} failovers`);
      for (let i = 1; i < tenures.length; i++) {
        const [before, after] = [tenures[i - 1]!, tenures[i]!];
        expect(
          after.epoch > before.epoch,
          `epoch ${show(after.epoch)} of tenure ${i} after epoch ${show(before.epoch)}: epochs must strictly increase`,
        );
        expect(
          before.to !== undefined && before.to <= after.from,
          `node ${after.node} took the lease at ${after.from} while node ${before.node} held it (until ${show(before.to)})`,
        );
      }
    },
  },
];
