import { jest } from '@jest/globals';
import { Logger, Module, type Provider } from '@nestjs/common';
import { ScheduleModule, SchedulerRegistry } from '@nestjs/schedule';
import { Test, type TestingModule } from '@nestjs/testing';
import { BehaviorSubject } from 'rxjs';
import type { Leader } from '../leadership/leader.interface.js';
import { ClusterTransport } from '../transports/cluster-transport.interface.js';
import { ClusterScheduleModule } from './cluster-schedule.module.js';
import { LeaderScheduler } from './leader-scheduler.service.js';

/** The worker the tests run as. */
export const SELF = { node: 'n1', id: 1, slot: 0, pid: 101 };

/** The part of a ClusterTransport the scheduler reads, with the leader in the test's hands. */
export class FakeLeadership {
  readonly self = SELF;
  private readonly current: BehaviorSubject<Leader | null>;
  private epoch = 0;

  constructor(leading: boolean | null) {
    this.current = new BehaviorSubject<Leader | null>(null);
    if (leading === true) this.lead();
    if (leading === false) this.yieldTo(1);
  }

  get leader$() {
    return this.current.asObservable();
  }

  leader(): Leader | null {
    return this.current.value;
  }

  /** This worker becomes the leader. */
  lead(): void {
    this.current.next({ node: SELF.node, slot: SELF.slot, pid: SELF.pid, epoch: ++this.epoch });
  }

  /** Another worker becomes the leader. */
  yieldTo(slot: number): void {
    this.current.next({ node: SELF.node, slot, pid: 200 + slot, epoch: ++this.epoch });
  }

  /** No worker leads. */
  none(): void {
    this.current.next(null);
  }
}

@Module({})
class FakeClusterModule {}

export interface ScheduledApp {
  readonly ref: TestingModule;
  readonly registry: SchedulerRegistry;
  readonly scheduler: LeaderScheduler;
}

/**
 * An application as a user writes it: ScheduleModule.forRoot(), ClusterScheduleModule, and the
 * providers holding the jobs; with `leadership`, a global module gives the fake as the ClusterTransport.
 */
export async function startApp(leadership: FakeLeadership | undefined, providers: Provider[]): Promise<ScheduledApp> {
  const transport = {
    module: FakeClusterModule,
    global: true,
    providers: [{ provide: ClusterTransport, useValue: leadership }],
    exports: [ClusterTransport],
  };
  const ref = await Test.createTestingModule({
    imports: [...(leadership ? [transport] : []), ScheduleModule.forRoot(), ClusterScheduleModule],
    providers,
  }).compile();
  await ref.init();
  return { ref, registry: ref.get(SchedulerRegistry), scheduler: ref.get(LeaderScheduler) };
}

/** How many times each job ran; waits for a count. */
export class Ticks {
  private readonly counts = new Map<string, number>();
  private readonly waiters = new Set<() => void>();

  add(name: string): void {
    this.counts.set(name, this.of(name) + 1);
    for (const wake of this.waiters) wake();
  }

  of(name: string): number {
    return this.counts.get(name) ?? 0;
  }

  clear(): void {
    this.counts.clear();
  }

  /** Resolves once `name` ran `count` times in all. */
  until(name: string, count: number, timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const wake = () => {
        if (this.of(name) < count) return;
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(wake);
        reject(new Error(`${name} ran ${this.of(name)} times in ${timeoutMs} ms, not ${count}`));
      }, timeoutMs);
      this.waiters.add(wake);
      wake();
    });
  }
}

/** What the scheduler logged (`ClusterSchedule` context), as `level: message`; every log stays out of the test output. */
export function captureLogs(): string[] {
  const logged: string[] = [];
  for (const level of ['log', 'warn', 'error'] as const) {
    jest.spyOn(Logger.prototype, level).mockImplementation(function (this: Logger, message: unknown) {
      if ((this as unknown as { context?: string }).context === 'ClusterSchedule') logged.push(`${level}: ${String(message)}`);
    });
  }
  return logged;
}
