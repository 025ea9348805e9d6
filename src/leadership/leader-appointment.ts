import type { LeaderChangeReason, LeaderEvent, WorkerIdentity } from '../interfaces/cluster-event.interface.js';
import type { WorkerState } from '../interfaces/worker-info.interface.js';
import type { Leader } from './leader.interface.js';
import { LeaseKeeper, type LeaderLease, type LeaseChange, type LeaseTiming } from './lease-keeper.js';

/** What the appointment needs from the node's primary (or from a standalone process that is a node). */
export interface AppointmentHost {
  /** This node's workers that may lead now (ready), lowest slot first. */
  candidates(): readonly WorkerIdentity[];
  /** Where a worker of this node stands, by id; `exited` once it is gone. */
  standing(id: number): WorkerState | 'exited';
  /** Leadership as this node sees it changed: tell the workers (and, with an event, the other nodes). */
  changed(event?: LeaderEvent): void;
}

/** The lease the nodes of a cluster share, and its timing; absent when the cluster is one node. */
export interface SharedLease {
  readonly lease: LeaderLease;
  readonly timing: LeaseTiming;
}

/**
 * Who leads, as one node's primary decides it. The node appoints its lowest ready slot and keeps it
 * until that worker exits, begins to drain or stops answering; a worker that is starting or draining
 * never leads. A leader that is still alive when it loses the post is told first (`null`) and the next
 * one is appointed only once it confirmed (`released`) or exited, so two workers never run the jobs
 * at once. With a shared lease only the node holding it appoints; the other nodes show the leader the
 * holder announced. `epoch` grows with each appointment: from the lease when there is one, else
 * counted by this primary. A lease whose store turns out unable to hold one (`unsupported`) is let go
 * for good: the node then leads itself, as if it were alone.
 */
export class LeaderAppointment {
  /** The shared lease's keeper; `undefined` when the cluster is one node or its store can hold no lease. */
  private keeper: LeaseKeeper | undefined;
  private appointed: { readonly leader: Leader; readonly id: number } | undefined;
  /** The worker told to stop leading that has not confirmed yet. */
  private releasing: number | undefined;
  private last: Leader | null = null;
  private counted = 0;
  /** The epoch the lease came with, for the first appointment under it. */
  private leaseEpoch: number | undefined;
  private remote: Leader | null = null;
  private appointing = false;
  private closed = false;
  /** Resolves `close()`'s wait for the leader it dismissed. */
  private letGo: (() => void) | undefined;

  constructor(
    private readonly node: string,
    private readonly host: AppointmentHost,
    shared?: SharedLease,
  ) {
    this.keeper = shared && new LeaseKeeper(shared.lease, shared.timing, (change) => this.onLease(change));
  }

  /** The cluster's leader as this node knows it. */
  leader(): Leader | null {
    if (this.appointed) return this.appointed.leader;
    return !this.keeper || this.keeper.held ? null : this.remote;
  }

  /** The leader this node appointed, if any: what it tells the other nodes. */
  own(): Leader | null {
    return this.appointed?.leader ?? null;
  }

  /** A worker of this node changed state (ready, draining, unresponsive, exited): appoints or dismisses. */
  update(): void {
    if (this.releasing !== undefined && this.host.standing(this.releasing) === 'exited') this.stoppedLeading();
    if (this.closed) return;
    const appointed = this.appointed;
    if (appointed) {
      const standing = this.host.standing(appointed.id);
      if (standing !== 'ready') this.dismiss(standing === 'exited' ? 'exited' : standing === 'unresponsive' ? 'unresponsive' : 'draining', standing);
    }
    const candidates = this.host.candidates();
    // A dismissed leader that may still be at it keeps the lease held: another node would lead alongside it.
    this.keeper?.want(candidates.length > 0 || (this.releasing !== undefined && this.keeper.held));
    if (!this.appointed && this.releasing === undefined && candidates.length > 0 && (!this.keeper || this.keeper.held)) void this.appoint();
  }

  /** The worker told to stop leading confirmed it has. */
  released(id: number): void {
    if (this.releasing !== id) return;
    this.stoppedLeading();
    this.update();
  }

  /** The link to the other nodes went up or down. */
  linkChanged(up: boolean): void {
    this.keeper?.link(up);
  }

  /** The leader the other nodes announce changed (`null`: none of them has one). */
  remoteChanged(claim: Leader | null): void {
    if (claim) this.keeper?.seen(claim.epoch);
    const before = this.leader();
    this.remote = claim;
    if (before !== this.leader()) this.host.changed();
  }

  /** Another node left: the lease may be free before it expires. */
  nodeLeft(): void {
    this.keeper?.tryNow();
  }

  /**
   * The node stops: its leader is dismissed and, once it has stopped leading (confirmed or exited),
   * the lease is given up, so another node can take over at once and never alongside it.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.appointed) this.dismiss('shutdown', 'draining');
    this.closed = true;
    if (this.keeper?.held && this.releasing !== undefined) await new Promise<void>((resolve) => (this.letGo = resolve));
    await this.keeper?.stop();
  }

  private async appoint(): Promise<void> {
    if (this.appointing) return;
    this.appointing = true;
    let epoch: number | null;
    if (!this.keeper) epoch = ++this.counted;
    else if (this.leaseEpoch !== undefined) {
      epoch = this.leaseEpoch;
      this.leaseEpoch = undefined;
    } else epoch = await this.keeper.bump();
    this.appointing = false;
    if (epoch === null || this.closed || this.appointed || this.releasing !== undefined || (this.keeper && !this.keeper.held)) return;
    // The choice is made after the epoch came: the workers may have changed meanwhile.
    const next = this.host.candidates()[0];
    if (!next) return;
    const leader: Leader = { node: next.node, slot: next.slot, pid: next.pid, epoch };
    this.appointed = { leader, id: next.id };
    const previous = this.last;
    this.last = leader;
    this.host.changed({ type: 'leader', node: this.node, leader, previous, reason: 'appointed', at: Date.now() });
  }

  /** The dismissed leader no longer acts as one. */
  private stoppedLeading(): void {
    this.releasing = undefined;
    this.letGo?.();
    this.letGo = undefined;
  }

  private dismiss(reason: LeaderChangeReason, standing: WorkerState | 'exited'): void {
    const { leader, id } = this.appointed!;
    this.appointed = undefined;
    if (standing !== 'exited') this.releasing = id;
    this.host.changed({ type: 'leader', node: this.node, leader: null, previous: leader, reason, at: Date.now() });
  }

  private onLease(change: LeaseChange): void {
    if (!change.held && change.reason === 'unsupported') {
      this.keeper = undefined;
      this.counted = Math.max(this.counted, this.remote?.epoch ?? 0);
      this.remote = null;
      return this.update();
    }
    if (change.held) {
      this.leaseEpoch = change.epoch;
      return this.update();
    }
    this.leaseEpoch = undefined;
    const appointed = this.appointed;
    if (appointed) this.dismiss(change.reason, this.host.standing(appointed.id));
    else this.host.changed();
  }
}

/** How the primary logs a change of leader, or `undefined` when there is nothing to say. */
export function leaderChangeLine({ leader, previous, reason }: LeaderEvent): string | undefined {
  if (leader) return `worker ${leader.slot} (pid ${leader.pid}) leads the cluster (epoch ${leader.epoch})`;
  if (previous) return `worker ${previous.slot} (pid ${previous.pid}) no longer leads (${reason})`;
  return undefined;
}
