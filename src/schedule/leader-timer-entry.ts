import type { NodeTimer } from './node-timer.js';

export type TimerType = 'interval' | 'timeout';

/** An interval or timeout of the registry that follows the leader. */
export interface TimerEntry {
  readonly type: TimerType;
  readonly name: string;
  readonly timer: NodeTimer;
  /** The handle in the registry: the caller's (cleared) until this worker arms one of its own. */
  handle: NodeJS.Timeout;
  running: boolean;
  /** A timeout that ran on this worker: never armed again. */
  fired: boolean;
}

/** A fresh Node timer like the captured one; a timeout records that it ran. */
export function armTimer(entry: TimerEntry): NodeJS.Timeout {
  const { callback, args, delayMs, repeats, refed } = entry.timer;
  const handle = repeats
    ? setInterval(callback, delayMs, ...args)
    : setTimeout(
        function (this: unknown, ...given: unknown[]) {
          entry.fired = true;
          entry.running = false;
          return callback.apply(this, given);
        },
        delayMs,
        ...args,
      );
  if (!refed) handle.unref();
  return handle;
}

export function clearTimer({ handle, timer }: TimerEntry): void {
  if (timer.repeats) clearInterval(handle);
  else clearTimeout(handle);
}
