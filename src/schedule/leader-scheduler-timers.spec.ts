import { jest } from '@jest/globals';
import { Global, Injectable, Module, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Interval, ScheduleModule, SchedulerRegistry, Timeout } from '@nestjs/schedule';
import { Test } from '@nestjs/testing';
import { ClusterTransport } from '../transports/cluster-transport.interface.js';
import { ClusterScheduleModule } from './cluster-schedule.module.js';
import { captureLogs, FakeLeadership, startApp, Ticks, type ScheduledApp } from './leader-scheduler.spec-helper.js';

const ticks = new Ticks();

@Injectable()
class TimerJobs {
  @Interval('every-20ms', 20)
  every(): void {
    ticks.add('interval');
  }

  @Timeout('after-100ms', 100)
  once(): void {
    ticks.add('timeout');
  }
}

@Injectable()
class SlowTimeout {
  @Timeout('after-1s', 1_000)
  late(): void {
    ticks.add('slow');
  }
}

/** Timers the application puts in the registry itself while it starts. */
@Injectable()
class TimersAddedAtInit implements OnModuleInit {
  constructor(private readonly registry: SchedulerRegistry) {}

  onModuleInit(): void {
    this.registry.addTimeout('unref-with-args', setTimeout((word: string) => ticks.add(word), 30, 'unref-with-args').unref());
    this.registry.addInterval('fake-1', { id: 1 });
    this.registry.addInterval('fake-2', { id: 2 });
  }
}

describe('LeaderScheduler: intervals and timeouts', () => {
  let app: ScheduledApp | undefined;
  let logged: string[];
  let control: NodeJS.Timeout | undefined;

  beforeEach(() => {
    ticks.clear();
    logged = captureLogs();
  });

  afterEach(async () => {
    clearInterval(control);
    await app?.ref.close();
    app = undefined;
    jest.restoreAllMocks();
  });

  /**
   * An interval of the application's own, added after bootstrap (so left alone): its ticks measure a
   * span of time in which a held job would have run.
   */
  function startControl(): void {
    control = setInterval(() => ticks.add('control'), 20);
    app!.registry.addInterval('control', control);
  }
  const controlTicks = (count: number) => ticks.until('control', ticks.of('control') + count);

  it('runs an @Interval only while this worker leads; a timer added after bootstrap runs everywhere', async () => {
    const leadership = new FakeLeadership(false);
    app = await startApp(leadership, [TimerJobs]);
    startControl();
    await controlTicks(10);
    expect(ticks.of('interval')).toBe(0);

    leadership.lead();
    await ticks.until('interval', 3);

    leadership.yieldTo(1);
    const atLoss = ticks.of('interval');
    await controlTicks(10);
    expect(ticks.of('interval')).toBe(atLoss);

    leadership.lead();
    await ticks.until('interval', atLoss + 3);
    expect(app.scheduler.jobs()).toContainEqual({ type: 'interval', name: 'every-20ms', running: true });
  });

  it('swaps the re-armed timer into the registry, so deleting it there stops it', async () => {
    const leadership = new FakeLeadership(false);
    app = await startApp(leadership, [TimerJobs]);
    const held = app.registry.getInterval('every-20ms');
    leadership.lead();
    expect(app.registry.getInterval('every-20ms')).not.toBe(held);
    await ticks.until('interval', 2);
    app.registry.deleteInterval('every-20ms');
    const atDelete = ticks.of('interval');
    startControl();
    await controlTicks(10);
    expect(ticks.of('interval')).toBe(atDelete);
    leadership.yieldTo(1);
    leadership.lead(); // a timer that left the registry is not armed again
    await controlTicks(10);
    expect(ticks.of('interval')).toBe(atDelete);
    expect(app.scheduler.jobs().map((j) => j.name)).toEqual(['after-100ms']);
  });

  it('runs a @Timeout once, its full delay after leadership arrives, and never arms it again once it ran', async () => {
    const leadership = new FakeLeadership(false);
    app = await startApp(leadership, [TimerJobs]);
    startControl();
    await controlTicks(10); // > 100 ms
    expect(ticks.of('timeout')).toBe(0);

    const led = Date.now();
    leadership.lead();
    await ticks.until('timeout', 1);
    expect(Date.now() - led).toBeGreaterThanOrEqual(95);

    leadership.yieldTo(1);
    leadership.lead();
    await controlTicks(10);
    expect(ticks.of('timeout')).toBe(1);
  });

  it('arms again, on the next lead, a timeout that had not run when leadership left', async () => {
    const leadership = new FakeLeadership(true);
    app = await startApp(leadership, [SlowTimeout]);
    leadership.yieldTo(1); // well before its 1 s
    leadership.lead();
    await ticks.until('slow', 1);
    startControl();
    await controlTicks(10);
    expect(ticks.of('slow')).toBe(1);
  });

  it('keeps the arguments and the unref() of a timer the application added while starting', async () => {
    const leadership = new FakeLeadership(false);
    app = await startApp(leadership, [TimersAddedAtInit]);
    leadership.lead();
    expect((app.registry.getTimeout('unref-with-args') as NodeJS.Timeout).hasRef()).toBe(false);
    await ticks.until('unref-with-args', 1);
  });

  it('leaves a timer that is not a Node.js Timeout in the registry as it was, with one warning', async () => {
    const leadership = new FakeLeadership(false);
    app = await startApp(leadership, [TimersAddedAtInit]);
    expect(app.registry.getInterval('fake-1')).toEqual({ id: 1 });
    expect(app.registry.getInterval('fake-2')).toEqual({ id: 2 });
    expect(app.scheduler.jobs().map((j) => j.name)).toEqual(['unref-with-args']);
    expect(logged.filter((l) => l.startsWith('warn:'))).toEqual([
      'warn: The interval "fake-1" is not a Node.js Timeout (fake timers?): it is left alone and runs on every worker, as will any other such timer.',
    ]);
  });

  it('refuses a duplicate name as the registry does, without touching either timer', async () => {
    const leadership = new FakeLeadership(false);
    const duplicate = setTimeout(() => ticks.add('duplicate'), 30);
    @Injectable()
    class AddsTwice implements OnModuleInit {
      constructor(private readonly registry: SchedulerRegistry) {}
      onModuleInit(): void {
        expect(() => this.registry.addTimeout('after-100ms', duplicate)).toThrow(/Timeout with the given name \(after-100ms\) already exists/);
      }
    }
    // TimerJobs' timeout enters the registry at bootstrap, after AddsTwice's init: add it by hand first.
    @Injectable()
    class AddsFirst implements OnModuleInit {
      constructor(private readonly registry: SchedulerRegistry) {}
      onModuleInit(): void {
        this.registry.addTimeout(
          'after-100ms',
          setTimeout(() => ticks.add('first'), 30),
        );
      }
    }
    app = await startApp(leadership, [AddsFirst, AddsTwice]);
    await ticks.until('duplicate', 1); // the refused timer is the caller's, untouched
    expect(ticks.of('first')).toBe(0);
  });

  it('stops its timers as the application closes, before the global modules are torn down', async () => {
    const leadership = new FakeLeadership(true);
    let ranDuringTeardown: number | undefined;
    @Injectable()
    class Teardown implements OnModuleDestroy {
      async onModuleDestroy(): Promise<void> {
        const before = ticks.of('interval');
        await controlTicks(10);
        ranDuringTeardown = ticks.of('interval') - before;
      }
    }
    // Global modules are torn down last, after ClusterScheduleModule.
    @Global()
    @Module({ providers: [Teardown, { provide: ClusterTransport, useValue: leadership }], exports: [ClusterTransport] })
    class LastToGo {}
    const ref = await Test.createTestingModule({
      imports: [LastToGo, ScheduleModule.forRoot(), ClusterScheduleModule],
      providers: [TimerJobs],
    }).compile();
    await ref.init();
    control = setInterval(() => ticks.add('control'), 20);
    await ticks.until('interval', 2);
    await ref.close();
    expect(ranDuringTeardown).toBe(0);
  });
});
