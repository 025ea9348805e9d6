import { HEARTBEAT_INTERVAL_MS } from '../cluster.constants.js';

/** Something the primary hears from: `lastSeen` is when it last wrote anything on its channel. */
export interface Heard {
  readonly lastSeen: number;
}

/**
 * Finds workers whose event loop stopped turning. Each worker writes at least a heartbeat every
 * `HEARTBEAT_INTERVAL_MS` from a timer, so silence for `limitMs` means its loop has not run since (an
 * endless loop, a deadlock, SIGSTOP); a long synchronous task shorter than that goes unnoticed, as it
 * should. If the check itself runs late, the primary's own loop was blocked and the workers'
 * messages may still be unread: that round is skipped rather than blaming them.
 */
export class LivenessMonitor<T extends Heard> {
  private timer: NodeJS.Timeout | undefined;
  private lastCheck = 0;

  constructor(
    private readonly limitMs: number,
    private readonly candidates: () => Iterable<T>,
    private readonly onSilent: (worker: T, silentMs: number) => void,
    private readonly everyMs = HEARTBEAT_INTERVAL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    this.lastCheck = this.now();
    this.timer ??= setInterval(() => this.check(), this.everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  check(): void {
    const now = this.now();
    const late = now - this.lastCheck > 2 * this.everyMs;
    this.lastCheck = now;
    if (late) return;
    for (const worker of [...this.candidates()]) {
      const silentMs = now - worker.lastSeen;
      if (silentMs >= this.limitMs) this.onSilent(worker, silentMs);
    }
  }
}
