import { jest } from '@jest/globals';
import { Global, Injectable, Module, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Cron, ScheduleModule, SchedulerRegistry } from '@nestjs/schedule';
import { Test } from '@nestjs/testing';
import { CronJob, CronTime } from 'cron';
import { ClusterTransport } from '../transports/cluster-transport.interface.js';
import { ClusterScheduleModule } from './cluster-schedule.module.js';
import { captureLogs, FakeLeadership, startApp, Ticks, type ScheduledApp } from './leader-scheduler.spec-helper.js';

const ticks = new Ticks();

@Injectable()
class CronJobs {
  @Cron('* * * * * *', { name: 'every-second' })
  everySecond(): void {
    ticks.add('every-second');
  }

  @Cron('* * * * * *', { name: 'disabled', disabled: true })
  disabled(): void {
    ticks.add('disabled');
  }

  @Cron('* * * * * *', { name: 'delayed', initialDelay: 5_000 })
  delayed(): void {
    ticks.add('delayed');
  }
}

/** A job the application puts in the registry itself while it starts. */
@Injectable()
class JobAddedAtInit implements OnModuleInit {
  constructor(private readonly registry: SchedulerRegistry) {}

  onModuleInit(): void {
    this.registry.addCronJob('added-at-init', CronJob.from({ cronTime: '* * * * * *', onTick: () => ticks.add('added-at-init'), start: true }));
  }
}

describe('LeaderScheduler: cron jobs', () => {
  let app: ScheduledApp | undefined;
  let logged: string[];
  const tick = (ms: number) => jest.advanceTimersByTimeAsync(ms);
  const active = (name: string) => app!.registry.getCronJob(name).isActive;

  beforeEach(() => {
    // On a whole second, so a '* * * * * *' job ticks on each 1000 ms step.
    jest.useFakeTimers({ now: 1_700_000_000_000, doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate'] });
    ticks.clear();
    logged = captureLogs();
  });

  afterEach(async () => {
    await app?.ref.close();
    app = undefined;
    jest.clearAllTimers();
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('holds every job while another worker leads, and starts the wanted ones when this worker comes to lead', async () => {
    const leadership = new FakeLeadership(false);
    app = await startApp(leadership, [CronJobs]);
    await tick(3_000);
    expect(ticks.of('every-second')).toBe(0);
    expect(app.scheduler.jobs()).toEqual([
      { type: 'cron', name: 'every-second', running: false },
      { type: 'cron', name: 'disabled', running: false },
      { type: 'cron', name: 'delayed', running: false },
    ]);

    leadership.lead();
    expect(active('every-second')).toBe(true);
    await tick(1_000);
    expect(ticks.of('every-second')).toBe(1);
    await tick(2_000);
    expect(ticks.of('every-second')).toBe(3);
  });

  it('never runs a job on a worker that does not lead, even when its first run is due the moment it is created', async () => {
    // cron runs a job at once, inside start(), when the next run is already due as it computes it
    // (a second boundary crossed meanwhile): here, on every start, as if each one met that moment.
    const getTimeout = jest.spyOn(CronTime.prototype, 'getTimeout').mockReturnValue(-5);
    const leadership = new FakeLeadership(false);
    app = await startApp(leadership, [CronJobs]);
    expect(ticks.of('every-second')).toBe(0);
    getTimeout.mockRestore();
    await tick(3_000);
    expect(ticks.of('every-second')).toBe(0);
  });

  it('does not run at once the second a former leader may have run when leadership arrives', async () => {
    const leadership = new FakeLeadership(false);
    app = await startApp(leadership, [CronJobs]);
    const getTimeout = jest.spyOn(CronTime.prototype, 'getTimeout').mockReturnValueOnce(-5);
    jest.spyOn(console, 'warn').mockImplementation(() => undefined); // cron says it skipped the run
    leadership.lead();
    getTimeout.mockRestore();
    expect(ticks.of('every-second')).toBe(0);
    expect(active('every-second')).toBe(true);
    await tick(1_000);
    expect(ticks.of('every-second')).toBe(1);
  });

  it('holds every job while no worker leads', async () => {
    const leadership = new FakeLeadership(null);
    app = await startApp(leadership, [CronJobs]);
    await tick(3_000);
    expect(ticks.of('every-second')).toBe(0);
    leadership.lead();
    await tick(1_000);
    expect(ticks.of('every-second')).toBe(1);
  });

  it('stops the running jobs in the emission that takes leadership away, and starts them again when it comes back', async () => {
    const leadership = new FakeLeadership(true);
    app = await startApp(leadership, [CronJobs]);
    await tick(2_000);
    expect(ticks.of('every-second')).toBe(2);

    leadership.yieldTo(1);
    expect(active('every-second')).toBe(false);
    await tick(5_000);
    expect(ticks.of('every-second')).toBe(2);

    leadership.lead();
    await tick(1_000);
    expect(ticks.of('every-second')).toBe(3);
    leadership.none();
    expect(active('every-second')).toBe(false);
    await tick(3_000);
    expect(ticks.of('every-second')).toBe(3);
  });

  it('leaves a disabled job stopped whoever leads; one started by the application runs while this worker leads', async () => {
    const leadership = new FakeLeadership(true);
    app = await startApp(leadership, [CronJobs]);
    leadership.yieldTo(1);
    leadership.lead();
    await tick(3_000);
    expect(active('disabled')).toBe(false);
    expect(ticks.of('disabled')).toBe(0);

    leadership.yieldTo(1);
    app.registry.getCronJob('disabled').start();
    expect(active('disabled')).toBe(false); // wanted, held
    await tick(2_000);
    expect(ticks.of('disabled')).toBe(0);
    leadership.lead();
    await tick(1_000);
    expect(ticks.of('disabled')).toBe(1);

    app.registry.getCronJob('disabled').stop();
    leadership.yieldTo(1);
    leadership.lead();
    expect(active('disabled')).toBe(false); // stopped by the application: no longer wanted
  });

  it('honours initialDelay: a job starts once its delay is over, on the worker that leads by then', async () => {
    const leadership = new FakeLeadership(false);
    app = await startApp(leadership, [CronJobs]);
    await tick(2_000);
    leadership.lead();
    expect(active('delayed')).toBe(false);
    await tick(2_000);
    expect(ticks.of('delayed')).toBe(0);
    await tick(1_000); // 5 s after bootstrap
    expect(active('delayed')).toBe(true);
    await tick(1_000);
    expect(ticks.of('delayed')).toBe(1);
  });

  it('honours initialDelay on a worker that comes to lead after the delay: the job starts with leadership', async () => {
    const leadership = new FakeLeadership(false);
    app = await startApp(leadership, [CronJobs]);
    await tick(6_000);
    expect(ticks.of('delayed')).toBe(0);
    leadership.lead();
    expect(active('delayed')).toBe(true);
    await tick(1_000);
    expect(ticks.of('delayed')).toBe(1);
  });

  it('keeps a held job wanted when the application changes its time', async () => {
    const leadership = new FakeLeadership(false);
    app = await startApp(leadership, [CronJobs]);
    app.registry.getCronJob('every-second').setTime(new CronTime('*/2 * * * * *'));
    leadership.lead();
    expect(active('every-second')).toBe(true);
    await tick(4_000);
    expect(ticks.of('every-second')).toBe(2);
  });

  it('does not start again a one-off job (a date) that ran here, or whose date passed while another worker led', async () => {
    @Injectable()
    class OneOffs {
      @Cron(new Date(Date.now() + 1_500), { name: 'soon' })
      soon(): void {
        ticks.add('soon');
      }

      @Cron(new Date(Date.now() + 4_500), { name: 'later' })
      later(): void {
        ticks.add('later');
      }
    }
    const leadership = new FakeLeadership(true);
    app = await startApp(leadership, [OneOffs]);
    await tick(2_000);
    expect(ticks.of('soon')).toBe(1);
    leadership.yieldTo(1);
    await tick(3_000); // 'later' is due while held
    leadership.lead();
    expect([active('soon'), active('later')]).toEqual([false, false]);
    await tick(5_000);
    expect([ticks.of('soon'), ticks.of('later')]).toEqual([1, 0]);
    expect(logged.filter((l) => l.startsWith('error:'))).toEqual([]);
  });

  it('lets go of a job deleted from the registry', async () => {
    const leadership = new FakeLeadership(false);
    app = await startApp(leadership, [CronJobs]);
    const job = app.registry.getCronJob('every-second');
    app.registry.deleteCronJob('every-second');
    leadership.lead();
    expect(job.isActive).toBe(false);
    expect(app.scheduler.jobs().map((j) => j.name)).toEqual(['disabled', 'delayed']);
    expect(Object.hasOwn(job, 'start')).toBe(false); // its own methods again
  });

  it('follows a job the application added while starting, and leaves one added after bootstrap to the application', async () => {
    const leadership = new FakeLeadership(false);
    app = await startApp(leadership, [JobAddedAtInit]);
    app.registry.addCronJob('added-later', CronJob.from({ cronTime: '* * * * * *', onTick: () => ticks.add('added-later'), start: true }));
    await tick(2_000);
    expect(ticks.of('added-at-init')).toBe(0);
    expect(ticks.of('added-later')).toBe(2);

    leadership.lead();
    leadership.yieldTo(1);
    await tick(2_000);
    expect(ticks.of('added-at-init')).toBe(0);
    expect(ticks.of('added-later')).toBe(4);
    expect(app.scheduler.jobs().map((j) => j.name)).toEqual(['added-at-init']);
  });

  it('says once per change of leadership what it started or stopped', async () => {
    const leadership = new FakeLeadership(false);
    app = await startApp(leadership, [CronJobs]);
    leadership.lead();
    leadership.lead(); // a new epoch for the same leader changes nothing here
    leadership.yieldTo(2);
    leadership.yieldTo(1); // nor does a change between two other workers
    expect(logged).toEqual([
      'log: This worker does not lead the cluster: 3 cron jobs, 0 intervals, 0 timeouts held until it does',
      'log: This worker leads the cluster (epoch 2): started 1 cron job, 0 intervals, 0 timeouts',
      'log: This worker no longer leads the cluster: stopped 1 cron job, 0 intervals, 0 timeouts',
    ]);
  });

  it("without a ClusterTransport in scope, follows this process's: a standalone process leads", async () => {
    app = await startApp(undefined, [CronJobs]);
    expect(active('every-second')).toBe(true);
    await tick(1_000);
    expect(ticks.of('every-second')).toBe(1);
    expect(logged).toEqual(['log: This worker leads the cluster: 1 cron job, 0 intervals, 0 timeouts run here']);
  });

  it('stops its jobs as the application closes, before the global modules are torn down', async () => {
    const leadership = new FakeLeadership(true);
    let activeAtTeardown: boolean | undefined;
    @Injectable()
    class Teardown implements OnModuleDestroy {
      constructor(private readonly registry: SchedulerRegistry) {}
      onModuleDestroy(): void {
        activeAtTeardown = this.registry.getCronJob('every-second').isActive;
      }
    }
    // Global modules are torn down last, after ClusterScheduleModule.
    @Global()
    @Module({ providers: [Teardown, { provide: ClusterTransport, useValue: leadership }], exports: [ClusterTransport] })
    class LastToGo {}
    const ref = await Test.createTestingModule({
      imports: [LastToGo, ScheduleModule.forRoot(), ClusterScheduleModule],
      providers: [CronJobs],
    }).compile();
    await ref.init();
    expect(ref.get(SchedulerRegistry).getCronJob('every-second').isActive).toBe(true);
    await ref.close();
    expect(activeAtTeardown).toBe(false);
  });
});
