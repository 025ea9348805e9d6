import { createRequire } from 'node:module';
import { packageRequire } from '../common/package-require.cjs';
import type { SchedulerRegistry } from '@nestjs/schedule';

type CronJob = ReturnType<SchedulerRegistry['getCronJob']>;

/** The `CronJob` class whose prototype `start` can be held. */
export interface CronJobClass {
  readonly prototype: { start(this: CronJob): void };
}

/**
 * The `CronJob` class `@nestjs/schedule` itself creates its jobs with: `cron` as resolved from
 * `@nestjs/schedule`'s own folder, which is the copy it imports even where another version of `cron`
 * sits at the top of `node_modules`. Loaded with `require` (`cron` is CommonJS, and an ES module
 * importing it gets the same `module.exports`), not a top-level `await import()`: a module that awaits
 * at its top cannot be `require()`d, and CommonJS projects load this package that way.
 */
export const CronJobOfSchedule: CronJobClass = (() => {
  const scheduleEntry = packageRequire.resolve('@nestjs/schedule');
  return (createRequire(scheduleEntry)('cron') as { CronJob: CronJobClass }).CronJob;
})();

/**
 * Until the returned function is called, `start()` on a job that `isHeld` does not exclude only
 * records the job in `held` instead of arming it. Why: `CronJob`'s constructor calls `start()`, and
 * `start()` runs the tick at once, synchronously, when it finds the next run already due (a second
 * boundary crossed while it computed it). A job `@nestjs/schedule` creates on a worker that does not
 * lead could run that way before `SchedulerRegistry` ever hands it over to be held.
 */
export function holdCronStarts(cronJob: CronJobClass, passes: (job: CronJob) => boolean, held: Set<CronJob>): () => void {
  const prototype = cronJob.prototype;
  const original = Object.getOwnPropertyDescriptor(prototype, 'start')!;
  const start = original.value as (this: CronJob) => void;
  Object.defineProperty(prototype, 'start', {
    ...original,
    value: function (this: CronJob): void {
      if (passes(this)) return start.call(this);
      held.add(this);
    },
  });
  return () => Object.defineProperty(prototype, 'start', original);
}
