/**
 * What it takes to arm a timer again like one Node.js already armed.
 *
 * `SchedulerRegistry` keeps only the `Timeout` objects `setTimeout`/`setInterval` returned, not the
 * callback or the delay, and Node has no public API to read them back. So this reads the fields Node
 * keeps on every `Timeout` (`lib/internal/timers.js`), unchanged since Node 0.10:
 * - `_onTimeout`: the callback; `clearTimeout` sets it to `null`, so read it before clearing;
 * - `_timerArgs`: the extra arguments given to `setTimeout(cb, ms, ...args)`, or `undefined`;
 * - `_idleTimeout`: the delay in ms (already clamped to >= 1), `-1` once cleared;
 * - `_repeat`: the period of a `setInterval`, `null` for a `setTimeout`;
 * - `_destroyed`: `true` once a timeout has run, or the timer was cleared.
 * This is the one place that knows them.
 */
export interface NodeTimer {
  readonly callback: (...args: unknown[]) => unknown;
  readonly args: readonly unknown[];
  readonly delayMs: number;
  /** Armed by `setInterval`. */
  readonly repeats: boolean;
  /** Keeps the event loop alive (not `unref()`'d). */
  readonly refed: boolean;
  /** Has already run (a timeout) or was cleared: there is nothing left to run. */
  readonly done: boolean;
}

interface TimeoutFields {
  _onTimeout?: unknown;
  _timerArgs?: unknown;
  _idleTimeout?: unknown;
  _repeat?: unknown;
  _destroyed?: unknown;
  hasRef?: unknown;
}

/** Reads a Node.js `Timeout`; `undefined` for anything else (a fake timer, a number from another runtime). */
export function readNodeTimer(handle: unknown): NodeTimer | undefined {
  if (typeof handle !== 'object' || handle === null) return undefined;
  const t = handle as TimeoutFields;
  if (typeof t._idleTimeout !== 'number' || !('_onTimeout' in t) || !('_repeat' in t) || typeof t.hasRef !== 'function') return undefined;
  const callback = t._onTimeout;
  const done = t._destroyed === true || typeof callback !== 'function' || t._idleTimeout < 0;
  const repeat = typeof t._repeat === 'number' ? t._repeat : null;
  return {
    callback: typeof callback === 'function' ? (callback as NodeTimer['callback']) : () => undefined,
    args: Array.isArray(t._timerArgs) ? t._timerArgs : [],
    delayMs: repeat ?? Math.max(t._idleTimeout, 1),
    repeats: repeat !== null,
    refed: (t.hasRef as () => boolean).call(handle),
    done,
  };
}
