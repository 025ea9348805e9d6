import type { Logger } from '@nestjs/common';
import type { ResolvedClusterOptions } from '../interfaces/bootstrap-options.interface.js';
import type { ClusterEvent } from '../interfaces/cluster-event.interface.js';
import { backoffDelay } from './restart-policy.js';
import type { Member, Slot, SlotTable } from './slot-table.js';

/**
 * How long after a promoted standby is ready the next one is forked: a Nest boot takes a core for a
 * second or more, which the promoted worker needs for its first requests (its code still cold) while
 * the cluster is one worker short.
 */
export const REFILL_DELAY_MS = 1_000;

/** What the warm standbys need of the Supervisor. */
export interface StandbyHost {
  readonly table: SlotTable;
  /** The cluster is shutting down: no standby is forked or promoted any more. */
  closing(): boolean;
  /** Forks a worker as a standby (in no slot). */
  fork(): Member;
  /** The standby now serves its slot: ready at once if it listens already, else it starts as any worker (ready timer). */
  promoted(member: Member): void;
  emit(event: ClusterEvent): void;
}

/**
 * Warm standbys (`standby` option): workers that booted and initialized the app but hold back their
 * listen, kept in the slot table outside any slot. When a worker exits unexpectedly its slot takes a
 * ready standby at once (no backoff, no boot: at most it listens), and a new standby boots a moment
 * later; the worker's exit still counts towards the crash loop. A standby that fails serves nobody: its
 * exit does not count towards the crash loop (the workers still serve), and another is forked after a
 * backoff of the standbys' own, so that an app that cannot boot does not fork in a tight loop.
 */
export class StandbyPool {
  /** Standbys that failed in a row, for the backoff; reset when one boots. */
  private failures = 0;
  private refillTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly size: number,
    private readonly host: StandbyHost,
    private readonly restart: ResolvedClusterOptions['restart'],
    private readonly logger: Logger,
  ) {}

  /** Forks standbys until there are `size` of them (draining ones do not count), unless a refill waits for its backoff. */
  fill(): void {
    if (this.host.closing() || this.refillTimer) return;
    const standing = () => this.host.table.standbys.filter((m) => m.process.state !== 'draining').length;
    while (standing() < this.size) this.host.fork();
  }

  /** A standby has booted (and listens, on ports the primary owns): failures start over, and a slot waiting for its restart takes it now. */
  standingBy(member: Member, listening: boolean): void {
    if (this.host.closing() || !member.process.standingBy(listening)) return;
    this.failures = 0;
    const at = Date.now();
    const bootMs = at - member.process.startedAt;
    this.logger.log(`standby ready in ${bootMs} ms (pid ${member.identity.pid})`);
    this.host.emit({ type: 'standby', phase: 'ready', ...member.identity, bootMs, at });
    const waiting = this.host.table.slots.find((s) => !s.current && !s.replacement && s.restartTimer);
    if (!waiting) return;
    clearTimeout(waiting.restartTimer);
    waiting.restartTimer = undefined;
    this.takeOver(waiting);
  }

  /** A ready standby takes `slot`, which has no worker since an unexpected exit. `false` when none is ready. */
  takeOver(slot: Slot): boolean {
    if (this.host.closing() || slot.replacement) return false;
    const member = this.host.table.promote(slot);
    if (!member) return false;
    member.process.promote();
    slot.restarts += 1;
    // It hears its slot before anything else: one that listens may be handed a connection right after.
    member.channel.promote(slot.slot);
    this.logger.log(`worker ${slot.slot}: the standby (pid ${member.identity.pid}) takes the slot`);
    this.host.emit({ type: 'standby', phase: 'promoted', ...member.identity, at: Date.now() });
    this.host.promoted(member);
    // The next standby's boot would compete with the promoted one's first requests for the CPU.
    void member.process.started.then(() => this.fillLater());
    return true;
  }

  /** `fill` after `REFILL_DELAY_MS`, unless a refill is already waiting. */
  private fillLater(delayMs = REFILL_DELAY_MS): void {
    if (this.refillTimer) return;
    this.refillTimer = setTimeout(() => {
      this.refillTimer = undefined;
      this.fill();
    }, delayMs);
  }

  /** A standby exited. Unasked, another is forked after a backoff. */
  exited(expected: boolean): void {
    if (expected || this.host.closing()) return;
    this.failures += 1;
    const delayMs = backoffDelay(this.failures, this.restart);
    this.logger.warn(`a standby failed; another boots in ${delayMs} ms (attempt ${this.failures})`);
    clearTimeout(this.refillTimer);
    this.refillTimer = undefined;
    this.fillLater(delayMs);
  }

  /**
   * A rolling restart of every slot (a deploy): the standbys booted before it run the old code, so they
   * drain and new ones boot.
   */
  renew(): void {
    if (this.host.closing()) return;
    for (const member of this.host.table.standbys) if (member.process.stop('replaced')) member.channel.shutdown(false);
    this.fill();
  }

  /** The cluster shuts down: no refill waits any more. */
  clear(): void {
    clearTimeout(this.refillTimer);
    this.refillTimer = undefined;
  }
}
