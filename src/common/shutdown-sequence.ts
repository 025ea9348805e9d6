import type { EventEmitter } from 'node:events';
import { DUPLICATE_SIGNAL_MS } from '../cluster.constants.js';

/** The signals that stop a process gracefully; the same one again while it stops asks to force. */
export const TERMINAL_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

export interface ShutdownSequenceOptions {
  /**
   * How long the stop may take before `onTimeout`; without it there is no deadline here (a worker's
   * drain is bounded by its primary).
   */
  readonly timeoutMs?: number;
  /** Called once `timeoutMs` passed since the stop began, unless `uninstall()` came first. */
  readonly onTimeout?: () => void;
  /**
   * Whether the deadline alone keeps the process alive. The primary waits on it; a process that
   * exits on its own once the drain is done does not need to.
   * @default true
   */
  readonly keepAlive?: boolean;
}

/**
 * What `begin` made of a call: the stop `started`; or it was already under way and this call is
 * `ignored` (not a signal, or the same Ctrl-C forwarded within `DUPLICATE_SIGNAL_MS`); or it is a
 * terminal signal again and the caller should `force`.
 */
export type ShutdownStep = 'started' | 'ignored' | 'force';

/**
 * How a process stops, the same in the primary, a worker and a standalone app: one idempotent
 * `begin`, the deadline armed before anything else runs (so nothing the caller does next can leave
 * the process hanging), a second terminal signal that forces (but not the duplicate a wrapper such
 * as `npm start` forwards within milliseconds), and process listeners that `uninstall()` removes.
 *
 * @example
 * ```ts
 * const stopping = new ShutdownSequence({ timeoutMs: 10_000, onTimeout: () => killEverything() });
 * for (const signal of TERMINAL_SIGNALS) stopping.listen(signal, () => stop(signal));
 * function stop(cause: string) {
 *   const step = stopping.begin(cause);
 *   if (step === 'force') return killEverything();
 *   if (step === 'started') void drain().then(() => stopping.uninstall());
 * }
 * ```
 */
export class ShutdownSequence {
  private since: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners: Array<readonly [string, (...args: unknown[]) => void]> = [];

  constructor(private readonly options: ShutdownSequenceOptions = {}) {}

  /** `true` from the first `begin` on. */
  get closing(): boolean {
    return this.since !== undefined;
  }

  /** Listens to a process event (a signal, `exit`, `uncaughtException`) until `uninstall()`. */
  listen(event: string, listener: (...args: unknown[]) => void): void {
    (process as EventEmitter).on(event, listener);
    this.listeners.push([event, listener]);
  }

  /** Starts the stop once, for `cause` (a signal name or a reason); see `ShutdownStep` for a repeat. */
  begin(cause: string): ShutdownStep {
    if (this.since !== undefined) {
      const signal = (TERMINAL_SIGNALS as readonly string[]).includes(cause);
      return signal && Date.now() - this.since >= DUPLICATE_SIGNAL_MS ? 'force' : 'ignored';
    }
    this.since = Date.now();
    const { timeoutMs, onTimeout, keepAlive = true } = this.options;
    if (timeoutMs !== undefined) {
      this.timer = setTimeout(() => onTimeout?.(), timeoutMs);
      if (!keepAlive) this.timer.unref();
    }
    return 'started';
  }

  /** The stop is over: clears the deadline and removes every listener added with `listen`. */
  uninstall(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const [event, listener] of this.listeners.splice(0)) (process as EventEmitter).off(event, listener);
  }
}
