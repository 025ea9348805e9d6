import { Module } from '@nestjs/common';
import { LeaderScheduler } from './leader-scheduler.service.js';

/**
 * Makes the jobs of `@nestjs/schedule` (`@Cron`, `@Interval`, `@Timeout`, and whatever your code puts
 * in `SchedulerRegistry` before the app finished bootstrapping) run on the cluster's leader only.
 * Needs `ScheduleModule.forRoot()` in the application; uses the `ClusterTransport` of a global
 * `ClusterModule` when there is one, else the transport `bootstrapClustered` provides to the app (the
 * same one in a worker), else (an app built some other way) a standalone one, which leads.
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [ClusterModule.forRoot({ isGlobal: true }), ScheduleModule.forRoot(), ClusterScheduleModule],
 * })
 * export class AppModule {}
 * ```
 */
@Module({
  providers: [LeaderScheduler],
  exports: [LeaderScheduler],
})
export class ClusterScheduleModule {}
