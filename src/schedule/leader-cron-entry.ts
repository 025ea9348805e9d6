import type { SchedulerRegistry } from '@nestjs/schedule';

export type CronJob = ReturnType<SchedulerRegistry['getCronJob']>;

/** A cron job of the registry that follows the leader. */
export interface CronEntry {
  readonly name: string;
  readonly job: CronJob;
  /** Started by its owner (at creation, `initialDelay`, a call to `start()`) and not stopped since. */
  wanted: boolean;
  /** The job's own `start`/`stop`, past the wrappers. */
  readonly start: () => void;
  readonly stop: () => void;
  /** Takes the wrappers off the job. */
  readonly release: () => void;
}

/**
 * Puts `start`, `stop` and `setTime` wrappers on the job (on the instance, so that the registry, the
 * cron library itself, which restarts the job after each tick, and the owner's code all go through
 * them): `start()` and `stop()` say whether the job is wanted, and `start()` arms it only while
 * `leading()`. `wasStarted` tells whether the job was started before it was captured.
 */
export function followingCron(name: string, job: CronJob, wasStarted: boolean, leading: () => boolean): CronEntry {
  const { start, stop, setTime } = job;
  const entry: CronEntry = {
    name,
    job,
    wanted: wasStarted,
    start: () => startWithoutCatchUp(job, start),
    stop: () => void stop.call(job),
    release: () => {
      for (const key of ['start', 'stop', 'setTime'] as const) delete (job as Partial<Pick<CronJob, typeof key>>)[key];
    },
  };
  job.start = () => {
    entry.wanted = true;
    if (leading()) start.call(job);
  };
  job.stop = () => {
    entry.wanted = false;
    return stop.call(job);
  };
  // setTime() stops and restarts a running job; on a worker that does not lead it must not forget that the job is wanted.
  job.setTime = (time) => {
    const wanted = entry.wanted;
    setTime.call(job, time);
    entry.wanted = wanted;
  };
  return entry;
}

/**
 * Starts a job that leadership just reached, without the catch-up run `cron` makes when it finds the
 * next run already due (it would run the second the former leader may have run): such a run is
 * skipped instead, as a run missed by more than the job's `threshold` is.
 */
function startWithoutCatchUp(job: CronJob, start: (this: CronJob) => void): void {
  const threshold = job.threshold;
  job.threshold = 0;
  try {
    start.call(job);
  } finally {
    job.threshold = threshold;
  }
}

/** A one-off cron job (a date) that ran here or whose date has passed: starting it again would fire it late, or throw. */
export function spent(job: CronJob): boolean {
  if (!job.runOnce) return false;
  if (job.lastDate() !== null) return true;
  try {
    job.nextDate();
    return false;
  } catch {
    return true;
  }
}
