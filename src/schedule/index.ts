export { ClusterScheduleModule } from './cluster-schedule.module.js';
export { LeaderScheduler, type LeaderJob } from './leader-scheduler.service.js';
