import type { INestApplicationContext } from '@nestjs/common';
import { providedInstance, providersAndControllers } from '../common/app-container.js';

/** The metadata `@Cron`, `@Timeout` and `@Interval` put on a method (`@nestjs/schedule`'s `SCHEDULER_TYPE`). */
const SCHEDULER_TYPE = 'SCHEDULER_TYPE';
/** `@nestjs/schedule`'s `SchedulerType` values. */
const DECORATORS: Readonly<Record<number, string>> = { 1: '@Cron', 2: '@Timeout', 3: '@Interval' };

interface ScheduleRegistry {
  getCronJobs(): Map<string, unknown>;
  getIntervals(): string[];
  getTimeouts(): string[];
}

/**
 * The `@nestjs/schedule` jobs of this app that will run on every worker: those of `SchedulerRegistry`
 * when `ClusterScheduleModule` (which runs them on the leader only) is not in the app. Named after the
 * decorated methods (`ReportJob.send (@Cron)`), else after the registry's names (jobs added in code).
 * Empty when `@nestjs/schedule` is not installed or not in the app. Loaded on demand: this file
 * imports no optional peer.
 */
export async function everyWorkerJobs(app: INestApplicationContext): Promise<string[]> {
  let SchedulerRegistry: unknown;
  try {
    ({ SchedulerRegistry } = await import('@nestjs/schedule'));
  } catch {
    return []; // not installed
  }
  const registry = providedInstance(app, SchedulerRegistry) as ScheduleRegistry | undefined;
  if (!registry) return []; // ScheduleModule not imported
  const registered = [...registry.getCronJobs().keys(), ...registry.getIntervals(), ...registry.getTimeouts()];
  const { LeaderScheduler } = await import('./leader-scheduler.service.js');
  if (registered.length === 0 || providedInstance(app, LeaderScheduler)) return [];
  const decorated = decoratedJobs(app);
  return decorated.length > 0 ? decorated : registered;
}

/** `Class.method (@Cron)` for every method of a provider or controller that carries a schedule decorator. */
function decoratedJobs(app: INestApplicationContext): string[] {
  const jobs = new Set<string>();
  for (const wrapper of providersAndControllers(app)) {
    const instance = wrapper.instance as object | null | undefined;
    if (typeof instance !== 'object' || instance === null) continue;
    for (let proto = Object.getPrototypeOf(instance) as object | null; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
      for (const key of Object.getOwnPropertyNames(proto)) {
        const method = Object.getOwnPropertyDescriptor(proto, key)?.value as unknown;
        if (typeof method !== 'function') continue;
        const type = Reflect.getMetadata(SCHEDULER_TYPE, method) as number | undefined;
        if (type !== undefined) jobs.add(`${instance.constructor.name}.${key} (${DECORATORS[type] ?? 'scheduled'})`);
      }
    }
  }
  return [...jobs];
}
