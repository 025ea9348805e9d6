import { CronJob } from 'cron';
import { CronJobOfSchedule, holdCronStarts } from './cron-job-class.js';

describe('holdCronStarts', () => {
  it('finds the CronJob class @nestjs/schedule creates its jobs with', () => {
    expect(CronJobOfSchedule).toBe(CronJob);
  });

  it('holds start() of jobs it does not pass, lets the others through, and is undone by the function it returns', () => {
    const held = new Set<CronJob>();
    const passed = new WeakSet<object>();
    const release = holdCronStarts(CronJobOfSchedule, (job) => passed.has(job), held);
    let job: CronJob | undefined;
    try {
      job = CronJob.from({ cronTime: '* * * * * *', onTick: () => undefined, start: true });
      expect(job.isActive).toBe(false);
      expect(held.has(job)).toBe(true);
      passed.add(job);
      job.start();
      expect(job.isActive).toBe(true);
    } finally {
      job?.stop();
      release();
    }
    const after = CronJob.from({ cronTime: '* * * * * *', onTick: () => undefined, start: true });
    expect(after.isActive).toBe(true);
    after.stop();
  });
});
