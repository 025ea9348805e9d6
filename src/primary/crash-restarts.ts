import type { Logger } from '@nestjs/common';
import type { ResolvedClusterOptions } from '../interfaces/bootstrap-options.interface.js';
import type { ClusterEvent } from '../interfaces/cluster-event.interface.js';
import { backoffDelay, CrashWindow } from './restart-policy.js';
import type { Slot } from './slot-table.js';
import type { WorkerProcess } from './worker-process.js';

/**
 * Unexpected exits: each one counts towards the crash loop (`restart.maxRestarts` within
 * `restart.windowMs`), and its slot gets a new worker after a backoff that grows with the failures
 * in a row and starts over once a worker stayed up `restart.resetAfterMs`.
 */
export class CrashRestarts {
  private readonly crashes: CrashWindow;

  constructor(
    private readonly restart: ResolvedClusterOptions['restart'],
    private readonly hooks: {
      fork(slot: Slot): void;
      crashLoop(exits: number): void;
      emit(event: ClusterEvent): void;
      /** A warm standby takes the empty slot at once: `false` when none is ready. */
      takeOver(slot: Slot): boolean;
    },
    private readonly logger: Logger,
  ) {
    this.crashes = new CrashWindow(restart);
  }

  /**
   * Counts an unexpected exit; if `fork` (no replacement is on its way), a ready standby takes the slot,
   * or else the slot is restarted after its backoff.
   */
  exited(slot: Slot, exited: WorkerProcess, fork: boolean): void {
    if (!this.counted() || !fork || this.hooks.takeOver(slot)) return;
    const now = Date.now();
    const stayedUp = exited.readyAt !== null && now - exited.readyAt >= this.restart.resetAfterMs;
    slot.failures = stayedUp ? 1 : slot.failures + 1;
    const delayMs = backoffDelay(slot.failures, this.restart);
    this.logger.warn(`worker ${slot.slot} restarts in ${delayMs} ms (attempt ${slot.failures})`);
    this.hooks.emit({ type: 'restart-scheduled', ...exited.identity, delayMs, attempt: slot.failures, at: now });
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined;
      slot.restarts += 1;
      this.hooks.fork(slot);
    }, delayMs);
  }

  /** Counts an unexpected exit; `false` when it makes a crash loop (the cluster stops). */
  private counted(now = Date.now()): boolean {
    const recent = this.crashes.record(now);
    if (!this.crashes.isCrashLoop(recent)) return true;
    this.hooks.crashLoop(recent);
    return false;
  }
}
