import type { Worker } from 'node:cluster';
import type { WorkerIdentity } from '../interfaces/cluster-event.interface.js';
import type { WorkerInfo, WorkerState } from '../interfaces/worker-info.interface.js';

/**
 * Why the primary stopped a worker on purpose. `shutdown` and `replaced` are asked-for exits;
 * `ready-timeout` and `unresponsive` are failures (they count towards the crash loop) that the
 * primary handles itself by killing the process.
 */
export type StopReason = 'shutdown' | 'replaced' | 'scaled-down' | 'ready-timeout' | 'unresponsive';

/** How a worker's exit reads: asked for or not, and why. */
export interface ExitOutcome {
  /** `true` when the primary asked it to stop (shutdown, replacement). */
  readonly expected: boolean;
  /**
   * The stop reason, or for an exit nobody asked for: `failed-to-start` (it never got ready),
   * `exited-unasked` (code 0 on its own) or `crashed`.
   */
  readonly reason: string;
}

/**
 * One forked process and where it is in its life. A slot briefly has two during a replacement, so the
 * state lives here, not on the slot.
 *
 * ```
 * starting --ready()--> ready --stop()--> draining --exit()--> exited
 *  |  ^                   '--unresponsive()--> unresponsive --exit()-->
 *  |  '--promote()-- standby <--standingBy()--' (a warm standby: booted, in no slot)
 *  '--readyTimedOut() / stop() / exit()-->
 * ```
 * Each transition answers whether it applied, so a late or repeated signal (a `ready` after the
 * ready timeout fired, a second shutdown) changes nothing.
 */
export class WorkerProcess {
  private current: WorkerState = 'starting';
  private stoppedFor: StopReason | undefined;
  private exitedAlready = false;
  readonly startedAt = Date.now();
  private readiedAt: number | null = null;
  private promotedAtMs: number | null = null;
  private listensAhead = false;
  /** When it last wrote anything on its channel (a heartbeat at least every second). */
  lastSeen = Date.now();
  /** The primary's `readyTimeoutMs` timer for it. */
  readyTimer: NodeJS.Timeout | undefined;
  /** Resolves with `true` once ready, `false` if it exited first. */
  readonly started: Promise<boolean>;
  /** Resolves once the process has exited. */
  readonly exited: Promise<void>;
  private resolveStarted!: (ready: boolean) => void;
  private resolveExited!: () => void;

  constructor(
    readonly worker: Worker,
    readonly identity: WorkerIdentity,
  ) {
    this.started = new Promise((resolve) => (this.resolveStarted = resolve));
    this.exited = new Promise((resolve) => (this.resolveExited = resolve));
  }

  get state(): WorkerState {
    return this.current;
  }

  get readyAt(): number | null {
    return this.readiedAt;
  }

  /** Set once the primary decided this process must go; an exit without it is a crash. */
  get stopReason(): StopReason | undefined {
    return this.stoppedFor;
  }

  /** Its app's `listen` resolved. `false` unless it was starting (too late, or said twice). */
  ready(now = Date.now()): boolean {
    if (this.current !== 'starting' || this.exitedAlready) return false;
    this.current = 'ready';
    this.readiedAt = now;
    this.resolveStarted(true);
    return true;
  }

  /**
   * A warm standby has booted and waits for a slot; `listening`: it listens already, on ports the
   * primary owns. `false` unless it was starting.
   */
  standingBy(listening: boolean): boolean {
    if (this.current !== 'starting' || this.exitedAlready) return false;
    this.current = 'standby';
    this.listensAhead = listening;
    return true;
  }

  /** A standby that listened before it had a slot: once promoted, it is ready at once. */
  get listening(): boolean {
    return this.listensAhead;
  }

  /**
   * The standby takes a slot: it starts listening, and is `ready` as any worker once it does. `false`
   * unless it was standing by.
   */
  promote(now = Date.now()): boolean {
    if (this.current !== 'standby' || this.exitedAlready) return false;
    this.current = 'starting';
    this.promotedAtMs = now;
    return true;
  }

  /** When it took its slot, for a worker that was a standby. */
  get promotedAt(): number | null {
    return this.promotedAtMs;
  }

  /** Not ready within `readyTimeoutMs`: it is about to be killed. `false` unless it was starting. */
  readyTimedOut(): boolean {
    if (this.current !== 'starting' || this.exitedAlready) return false;
    this.stoppedFor = 'ready-timeout';
    return true;
  }

  /** Asked to drain: the cluster shuts down, or a ready replacement takes over. `false` once exited. */
  stop(reason: 'shutdown' | 'replaced' | 'scaled-down'): boolean {
    if (this.exitedAlready) return false;
    this.stoppedFor = reason;
    this.current = 'draining';
    return true;
  }

  /** Its event loop stopped answering: out of service until it is killed. `false` unless it was ready. */
  unresponsive(): boolean {
    if (this.current !== 'ready' || this.exitedAlready) return false;
    this.current = 'unresponsive';
    this.stoppedFor = 'unresponsive';
    return true;
  }

  /** The process exited with `code`: settles `started` (as not ready) and `exited`. */
  exit(code: number | null): ExitOutcome {
    const wasStarting = this.current === 'starting';
    this.exitedAlready = true;
    this.resolveStarted(false);
    this.resolveExited();
    const reason = this.stoppedFor ?? (wasStarting ? 'failed-to-start' : code === 0 ? 'exited-unasked' : 'crashed');
    const asked = this.stoppedFor === 'shutdown' || this.stoppedFor === 'replaced' || this.stoppedFor === 'scaled-down';
    return { expected: asked, reason };
  }

  /** How `workers()` shows it. */
  info(restarts: number, congested: boolean): WorkerInfo {
    return { ...this.identity, state: this.current, startedAt: this.startedAt, readyAt: this.readiedAt, restarts, congested };
  }
}
