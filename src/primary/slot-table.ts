import type { ChannelToWorker } from '../channel/channel-to-worker.js';
import type { WorkerIdentity } from '../interfaces/cluster-event.interface.js';
import type { WorkerInfo } from '../interfaces/worker-info.interface.js';
import type { WorkerProcess } from './worker-process.js';

/** A live worker as the primary knows it: where it is in its life, its channel, what it handles. */
export interface Member {
  readonly identity: WorkerIdentity;
  readonly process: WorkerProcess;
  readonly channel: ChannelToWorker;
  /** When it last wrote anything on its channel (its channel's `lastSeen`). */
  readonly lastSeen: number;
  /** Request topics it announced. */
  topics: ReadonlySet<string>;
  /** Requests it sent that wait for a reply. */
  pending: number;
  /**
   * A warm standby (`standby` option): booted but in no slot, its identity's slot `-1`. It takes no
   * connections and no messages, never leads and is not in `workers()`, until it takes a slot.
   */
  standby: boolean;
}

/** The slot of a standby worker, until it takes one. */
export const NO_SLOT = -1;

/** A stable position 0..N-1 that outlives the processes filling it. */
export interface Slot {
  readonly slot: number;
  /** The worker serving this slot (messages and connections addressed to the slot go to it). */
  current?: Member;
  /** A worker booting to take over from `current` (rolling restart, memory guard, unresponsive). */
  replacement?: Member;
  /** Replacements forked after unexpected exits. */
  restarts: number;
  /** Unexpected exits in a row, for the backoff; reset once a worker stays up `resetAfterMs`. */
  failures: number;
  restartTimer?: NodeJS.Timeout;
}

/**
 * The primary's one table of who serves where: slots, the live workers in them, their state (on
 * `WorkerProcess`) and their channels. The Supervisor writes it (fork, replace, exit); the message
 * router, the sticky listener, leadership, liveness and the memory guard read it.
 */
export class SlotTable {
  private readonly active: Slot[];
  /** Slots a scale-down took out, until their workers have exited. */
  private readonly retiring = new Map<number, Slot>();
  private readonly byId = new Map<number, Member>();
  /** Warm standbys, oldest first: live workers (in `members()`) that serve no slot. */
  private readonly pool: Member[] = [];

  constructor(size: number) {
    this.active = Array.from({ length: size }, (_, slot) => ({ slot, restarts: 0, failures: 0 }));
  }

  /** The slots the primary keeps filled, 0..N-1. */
  get slots(): readonly Slot[] {
    return this.active;
  }

  /** One more slot, after the last (scale up). */
  grow(): Slot {
    const index = this.active.length;
    if (this.retiring.has(index)) throw new Error(`slot ${index} is still draining after a scale-down`);
    const slot: Slot = { slot: index, restarts: 0, failures: 0 };
    this.active.push(slot);
    return slot;
  }

  /** The last slot leaves the ones kept filled (scale down); it is forgotten once its workers exited (`forgetIfEmpty`). */
  retireLast(): Slot | undefined {
    if (this.active.length <= 1) return undefined;
    const slot = this.active.pop()!;
    this.retiring.set(slot.slot, slot);
    return slot;
  }

  /** A retired slot whose workers all exited is forgotten; `true` when it was. */
  forgetIfEmpty(slot: Slot): boolean {
    if (this.retiring.get(slot.slot) !== slot || slot.current || slot.replacement) return false;
    this.retiring.delete(slot.slot);
    return true;
  }

  /** Whether slots taken out by a scale-down still have workers draining. */
  get shrinking(): boolean {
    return this.retiring.size > 0;
  }

  /** Live workers (a slot has two during a replacement). */
  get live(): number {
    return this.byId.size;
  }

  members(): IterableIterator<Member> {
    return this.byId.values();
  }

  member(workerId: number): Member | undefined {
    return this.byId.get(workerId);
  }

  /** A slot kept filled. */
  slot(index: number): Slot | undefined {
    return this.active[index];
  }

  /** The slot of a live worker: kept filled, or retiring. */
  slotOf(member: Member): Slot {
    const index = member.identity.slot;
    const slot = this.active[index];
    // A retiring slot's workers are in no slot kept filled (`grow` waits for them to go).
    return slot && (slot.current === member || slot.replacement === member) ? slot : (this.retiring.get(index) ?? slot!);
  }

  /** A worker forked into `slot`, to serve it now or to take over from its current one. */
  add(member: Member, asReplacement: boolean): void {
    const slot = this.active[member.identity.slot]!;
    if (asReplacement) slot.replacement = member;
    else slot.current = member;
    this.byId.set(member.identity.id, member);
  }

  /** A worker forked as a warm standby. */
  addStandby(member: Member): void {
    member.standby = true;
    this.pool.push(member);
    this.byId.set(member.identity.id, member);
  }

  /** The standbys, oldest first (booting ones too). */
  get standbys(): readonly Member[] {
    return this.pool;
  }

  /**
   * The oldest standby that has booted takes `slot`, which has no worker: from now on it is the slot's
   * current worker and presents the slot everywhere its identity is read (the identity object is shared
   * by its process, its channel and its logs). `undefined` when no standby is ready.
   */
  promote(slot: Slot): Member | undefined {
    const index = this.pool.findIndex((m) => m.process.state === 'standby');
    if (index === -1 || slot.current || this.active[slot.slot] !== slot) return undefined;
    const [member] = this.pool.splice(index, 1) as [Member];
    (member.identity as { slot: number }).slot = slot.slot;
    member.standby = false;
    slot.current = member;
    return member;
  }

  /** The worker exited: out of the table. `true` if it was its slot's replacement. */
  remove(member: Member): boolean {
    if (member.standby) {
      this.pool.splice(this.pool.indexOf(member), 1);
      this.byId.delete(member.identity.id);
      return false;
    }
    const slot = this.slotOf(member);
    this.byId.delete(member.identity.id);
    if (slot.current === member) slot.current = undefined;
    if (slot.replacement !== member) return false;
    slot.replacement = undefined;
    return true;
  }

  /** Messages may go to it: it serves a slot, its channel listens and it answers (not found unresponsive). */
  static reachable(member: Member): boolean {
    return !member.standby && member.channel.listening && member.process.state !== 'unresponsive';
  }

  /** The worker now serving `slot`, when it can take messages. */
  servingAt(slot: number): Member | undefined {
    const current = this.active[slot]?.current;
    return current && SlotTable.reachable(current) ? current : undefined;
  }

  /** The ready workers now serving their slot, in slot order. */
  serving(): Member[] {
    return this.slots.flatMap((s) => (s.current?.process.state === 'ready' ? [s.current] : []));
  }

  /** Every ready worker, replacements included (a ready replacement may lead before it serves). */
  ready(): WorkerIdentity[] {
    return this.slots.flatMap((s) => [s.current, s.replacement].filter((m) => m?.process.state === 'ready').map((m) => m!.identity));
  }

  /** Every slot is served by a ready worker. */
  allReady(): boolean {
    return this.slots.every((s) => s.current?.process.state === 'ready');
  }

  /** How `workers()` shows this node: live workers by slot, then age; standbys are not in it. */
  infos(): WorkerInfo[] {
    return [...this.byId.values()]
      .filter((m) => !m.standby)
      .sort((a, b) => a.identity.slot - b.identity.slot || a.identity.id - b.identity.id)
      .map((m) => m.process.info(this.slotOf(m).restarts, m.channel.congested));
  }

  /** The standbys as the control socket lists them (slot `-1`, state `starting` while they boot, then `standby`). */
  standbyInfos(): WorkerInfo[] {
    return this.pool.map((m) => m.process.info(0, m.channel.congested));
  }
}
