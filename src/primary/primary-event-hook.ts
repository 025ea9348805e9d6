import type { Logger } from '@nestjs/common';
import { describeError } from '../common/describe-error.js';
import type { PrimaryEventHook } from '../interfaces/bootstrap-options.interface.js';
import type { ClusterEvent } from '../interfaces/cluster-event.interface.js';

/**
 * The user's `onPrimaryEvent`, made safe for the primary: whatever it throws, or a promise it returns
 * rejects with, is logged once (a hook that fails on every event would flood the log) and goes no
 * further, so the cluster goes on as if nobody listened.
 */
export function guardPrimaryEventHook(hook: PrimaryEventHook | undefined, logger: Logger): (event: ClusterEvent) => void {
  if (!hook) return () => undefined;
  let failed = false;
  const report = (event: ClusterEvent, error: unknown): void => {
    if (failed) return;
    failed = true;
    logger.error(`onPrimaryEvent failed on a "${event.type}" event (reported once, the primary goes on): ${describeError(error)}`);
  };
  return (event) => {
    try {
      const result: unknown = hook(event);
      // An async hook: its rejection would reach the primary's uncaught-error handler, which drains the cluster.
      if (typeof (result as PromiseLike<unknown> | undefined)?.then === 'function') {
        Promise.resolve(result).catch((error: unknown) => report(event, error));
      }
    } catch (error) {
      report(event, error);
    }
  };
}
