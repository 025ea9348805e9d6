import { Inject, Injectable, Logger, Optional, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import type { Subscription } from 'rxjs';
import { describeError } from '../common/describe-error.js';
import { isLeaderOf, type Leader } from '../leadership/leader.interface.js';
import { ClusterTransport } from '../transports/cluster-transport.interface.js';
import { PROCESS_TRANSPORT, standaloneTransport } from '../transports/process-transport.module.js';
import { CronJobOfSchedule, holdCronStarts } from './cron-job-class.js';
import { followingCron, spent, type CronEntry, type CronJob } from './leader-cron-entry.js';
import { armTimer, clearTimer, type TimerEntry, type TimerType } from './leader-timer-entry.js';
import { readNodeTimer } from './node-timer.js';

/** A job of `SchedulerRegistry` that runs on the leader only. */
export interface LeaderJob {
  readonly type: 'cron' | 'interval' | 'timeout';
  /** Its name in `SchedulerRegistry`. */
  readonly name: string;
  /** Scheduled on this worker now: a started cron job, an armed interval or timeout. */
  readonly running: boolean;
}

interface Tally {
  cron: number;
  interval: number;
  timeout: number;
}

/**
 * Runs the jobs of `@nestjs/schedule` on the cluster's leader only: the cron jobs, intervals and
 * timeouts that enter `SchedulerRegistry` while the application starts (`@Cron`, `@Interval`,
 * `@Timeout`, or added by your code before the app finished bootstrapping). They start on the worker
 * that becomes leader and stop on it, synchronously, the moment another worker leads.
 *
 * - A cron job runs while it is wanted and this worker leads. `start()` and `stop()` on it say
 *   whether it is wanted: a job created with `disabled: true` stays stopped until your code starts it,
 *   one with `initialDelay` is wanted from the end of the delay.
 * - An interval or timeout is cleared where this worker does not lead, and armed anew (a fresh Node
 *   timer, swapped into the registry under the same name) when it comes to lead. A timeout runs its
 *   full delay from that moment; one that already ran on this worker is not armed again. A timer that
 *   is not a Node.js `Timeout` (fake timers) is left alone, with a warning: it runs on every worker.
 * - Jobs added to the registry after bootstrap are yours: guard them with `@LeaderOnly()` or
 *   `ClusterService.isLeader()`.
 *
 * Provided by `ClusterScheduleModule`; needs `ScheduleModule.forRoot()` in the application.
 */
@Injectable()
export class LeaderScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('ClusterSchedule');
  private readonly transport: ClusterTransport;
  private readonly crons = new Set<CronEntry>();
  private readonly timers = new Set<TimerEntry>();
  /** The registry's own `add*` methods, past the capture. */
  private readonly add: {
    readonly cron: (name: string, job: CronJob) => void;
    readonly interval: (name: string, handle: unknown) => void;
    readonly timeout: (name: string, handle: unknown) => void;
  };
  private readonly endCapture: () => void;
  /** Jobs handed over through the registry; `start()` on any other job is held until bootstrap ends. */
  private readonly captured = new WeakSet<CronJob>();
  private readonly heldStarts = new Set<CronJob>();
  private readonly subscription: Subscription;
  private capturing = true;
  private leading: boolean;
  private closed = false;
  private warnedForeignTimer = false;

  constructor(
    private readonly registry: SchedulerRegistry,
    @Optional() @Inject(ClusterTransport) transport?: ClusterTransport,
    @Optional() @Inject(PROCESS_TRANSPORT) processTransport?: ClusterTransport,
  ) {
    this.transport = transport ?? processTransport ?? standaloneTransport();
    this.leading = isLeaderOf(this.transport.leader(), this.transport.self);
    this.add = {
      cron: registry.addCronJob.bind(registry),
      interval: registry.addInterval.bind(registry),
      timeout: registry.addTimeout.bind(registry),
    };
    // ScheduleModule is global, so its onApplicationBootstrap, which arms the decorated jobs, runs
    // before ours: everything added from now to then is captured in the tick it is added, before it
    // can fire.
    const endAdds = this.captureAdds();
    const endStarts = holdCronStarts(CronJobOfSchedule, (job) => this.captured.has(job), this.heldStarts);
    this.endCapture = () => {
      endAdds();
      endStarts();
      // Started during bootstrap but never added to the registry: not a job to follow; it starts now.
      for (const job of this.heldStarts) this.attempt(job.name ?? 'unnamed', () => job.start());
      this.heldStarts.clear();
    };
    // Subscribed here rather than in a hook: from its capture on, a job must follow the leader.
    this.subscription = this.transport.leader$.subscribe((leader) => this.follow(leader));
  }

  onApplicationBootstrap(): void {
    this.endCapture();
    const jobs = this.jobs();
    if (jobs.length === 0) return;
    const tally: Tally = { cron: 0, interval: 0, timeout: 0 };
    for (const job of jobs) if (job.running || !this.leading) tally[job.type]++;
    if (this.leading) this.logger.log(`This worker leads the cluster: ${describe(tally)} run here`);
    else this.logger.log(`This worker does not lead the cluster: ${describe(tally)} held until it does`);
  }

  /** As the application closes: stops following the leader and stops every job, before `@nestjs/schedule` clears its registry. */
  onModuleDestroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.subscription.unsubscribe();
    this.endCapture();
    for (const entry of this.crons) {
      if (entry.job.isActive) this.attempt(entry.name, () => entry.stop());
      entry.release();
    }
    for (const entry of this.timers) if (entry.running) this.disarm(entry);
    this.crons.clear();
    this.timers.clear();
  }

  /** The jobs that follow the leader, and whether each runs on this worker now. */
  jobs(): LeaderJob[] {
    return [
      ...[...this.crons].map((e) => ({ type: 'cron' as const, name: e.name, running: e.job.isActive })),
      ...[...this.timers].map((e) => ({ type: e.type, name: e.name, running: e.running })),
    ];
  }

  private captureAdds(): () => void {
    const registry = this.registry;
    const wrappers = {
      addCronJob: (name: string, job: CronJob) => (this.capturing ? this.captureCron(name, job) : this.add.cron(name, job)),
      addInterval: (name: string, handle: unknown) =>
        this.capturing ? this.captureTimer('interval', name, handle) : this.add.interval(name, handle),
      addTimeout: (name: string, handle: unknown) => (this.capturing ? this.captureTimer('timeout', name, handle) : this.add.timeout(name, handle)),
    };
    const keys = Object.keys(wrappers) as (keyof typeof wrappers)[];
    const previous = new Map(keys.map((key) => [key, Object.getOwnPropertyDescriptor(registry, key)]));
    Object.assign(registry, wrappers);
    return () => {
      if (!this.capturing) return;
      this.capturing = false;
      for (const key of keys) {
        if (registry[key] !== wrappers[key]) continue; // wrapped again by someone else: ours passes through
        const descriptor = previous.get(key);
        if (descriptor) Object.defineProperty(registry, key, descriptor);
        else delete (registry as Partial<Record<typeof key, unknown>>)[key];
      }
    };
  }

  private captureCron(name: string, job: CronJob): void {
    this.add.cron(name, job); // a duplicate name throws here, before the job is touched
    this.captured.add(job);
    // Created started (its start held above), or started by its owner since.
    const entry = followingCron(name, job, job.isActive || this.heldStarts.delete(job), () => this.leading);
    this.crons.add(entry);
    if (!this.leading && job.isActive) entry.stop();
    else if (this.leading && entry.wanted && !job.isActive) this.attempt(name, () => entry.start());
  }

  private captureTimer(type: TimerType, name: string, handle: unknown): void {
    const add = this.add[type];
    const timer = readNodeTimer(handle);
    if (!timer || timer.done || this.registry.doesExist(type, name)) {
      // Not ours to hold: a foreign timer, one with nothing left to run, or a duplicate the registry refuses.
      if (!timer) this.warnForeignTimer(type, name);
      return add(name, handle);
    }
    const entry: TimerEntry = { type, name, timer, handle: handle as NodeJS.Timeout, running: false, fired: false };
    clearTimer(entry);
    if (this.leading) {
      entry.handle = armTimer(entry);
      entry.running = true;
    }
    add(name, entry.handle);
    this.timers.add(entry);
  }

  private follow(leader: Leader | null): void {
    const leading = isLeaderOf(leader, this.transport.self);
    if (this.closed || leading === this.leading) return;
    this.leading = leading;
    const tally = leading ? this.startAll() : this.stopAll();
    if (this.crons.size + this.timers.size === 0) return;
    if (leading) this.logger.log(`This worker leads the cluster (epoch ${leader!.epoch}): started ${describe(tally)}`);
    else this.logger.log(`This worker no longer leads the cluster: stopped ${describe(tally)}`);
  }

  private startAll(): Tally {
    const tally: Tally = { cron: 0, interval: 0, timeout: 0 };
    for (const entry of this.crons) {
      if (!this.stillRegistered(entry)) continue;
      if (!entry.wanted || entry.job.isActive || spent(entry.job)) continue;
      if (this.attempt(entry.name, () => entry.start())) tally.cron++;
    }
    for (const entry of this.timers) {
      if (!this.stillRegistered(entry) || entry.running || entry.fired) continue;
      const fresh = armTimer(entry);
      const remove = entry.type === 'interval' ? this.registry.deleteInterval : this.registry.deleteTimeout;
      remove.call(this.registry, entry.name);
      this.add[entry.type](entry.name, fresh);
      entry.handle = fresh;
      entry.running = true;
      tally[entry.type]++;
    }
    return tally;
  }

  private stopAll(): Tally {
    const tally: Tally = { cron: 0, interval: 0, timeout: 0 };
    for (const entry of this.crons) {
      if (!this.stillRegistered(entry) || !entry.job.isActive) continue;
      if (this.attempt(entry.name, () => entry.stop())) tally.cron++;
    }
    for (const entry of this.timers) {
      if (!this.stillRegistered(entry) || !entry.running) continue;
      this.disarm(entry);
      tally[entry.type]++;
    }
    return tally;
  }

  /** Whether the registry still holds this job under its name; if not, it is no longer followed. */
  private stillRegistered(entry: CronEntry | TimerEntry): boolean {
    if ('job' in entry) {
      if (this.registry.getCronJobs().get(entry.name) === entry.job) return true;
      entry.release();
      this.crons.delete(entry);
      return false;
    }
    if (this.registry.doesExist(entry.type, entry.name)) {
      const current: unknown = entry.type === 'interval' ? this.registry.getInterval(entry.name) : this.registry.getTimeout(entry.name);
      if (current === entry.handle) return true;
    }
    this.timers.delete(entry);
    return false;
  }

  private disarm(entry: TimerEntry): void {
    clearTimer(entry);
    entry.running = false;
  }

  /** Runs a job's start or stop; one that throws is logged and does not keep the others from following. */
  private attempt(name: string, action: () => void): boolean {
    try {
      action();
      return true;
    } catch (error) {
      this.logger.error(`Cron job "${name}" could not follow the leader: ${describeError(error)}`);
      return false;
    }
  }

  private warnForeignTimer(type: TimerType, name: string): void {
    if (this.warnedForeignTimer) return;
    this.warnedForeignTimer = true;
    this.logger.warn(
      `The ${type} "${name}" is not a Node.js Timeout (fake timers?): it is left alone and runs on every worker, as will any other such timer.`,
    );
  }
}

function describe({ cron, interval, timeout }: Tally): string {
  const n = (count: number, one: string, many: string) => `${count} ${count === 1 ? one : many}`;
  return `${n(cron, 'cron job', 'cron jobs')}, ${n(interval, 'interval', 'intervals')}, ${n(timeout, 'timeout', 'timeouts')}`;
}
