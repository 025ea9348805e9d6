import type { Logger } from '@nestjs/common';
import { CLUSTER_ENV } from '../cluster-options.js';
import { ThrottledReport } from '../common/throttled-report.js';
import type { ClusterEvent, DropReason, WorkerIdentity } from '../interfaces/cluster-event.interface.js';
import { NO_DROPS } from '../transports/membership-view.js';

/** A flood of drops makes one warning (and one event) per worker and reason this often, with the count. */
const DROP_REPORT_EVERY_MS = 5_000;

interface Drop {
  readonly worker: WorkerIdentity;
  readonly reason: DropReason;
  readonly detail: string;
}

/**
 * What the primary tells about the cluster as a whole rather than decides: dropped messages (counted,
 * and reported once per worker and reason in a while) and what the first ready worker found in the app
 * that concerns every worker (jobs that will run on each of them).
 */
export class PrimaryNotices {
  readonly dropped: Record<DropReason, number> = { ...NO_DROPS };
  private readonly drops: ThrottledReport<Drop>;
  private warnedEveryWorkerJobs = false;

  constructor(
    private readonly logger: Logger,
    private readonly options: { readonly workers: number; readonly maxQueueBytes: number },
    private readonly emit: (event: ClusterEvent) => void,
  ) {
    this.drops = new ThrottledReport(DROP_REPORT_EVERY_MS, (count, drop) => this.reportDrops(count, drop));
  }

  drop(worker: WorkerIdentity, reason: DropReason, detail: string): void {
    this.dropped[reason] += 1;
    this.drops.note(`${worker.id}:${reason}`, { worker, reason, detail });
  }

  /** Reports what waits in the throttle (the cluster stops). */
  flush(): void {
    this.drops.flush();
  }

  /**
   * Every worker runs the same app: the first to name jobs that will run on each of them stands for
   * all, so the warning comes once per start of the primary, not once per worker or restart.
   */
  everyWorkerJobs(jobs: readonly string[] | undefined): void {
    const { workers } = this.options;
    if (this.warnedEveryWorkerJobs || !jobs?.length || workers < 2) return;
    this.warnedEveryWorkerJobs = true;
    this.logger.warn(
      `${jobs.length} @nestjs/schedule job(s) will run on each of the ${workers} workers, not once: ${jobs.join(', ')}. ` +
        `Import ClusterScheduleModule from nestjs-cluster/schedule to run them on the leader only, ` +
        `or set perWorkerJobs: true (${CLUSTER_ENV.perWorkerJobs}=true) if every worker should run them.`,
    );
  }

  private reportDrops(count: number, { worker, reason, detail }: Drop): void {
    const who = `worker ${worker.slot} (pid ${worker.pid})`;
    const what =
      reason === 'queue-full'
        ? `dropped ${count} message(s) to ${who}: its queue is full (messaging.maxQueueBytes ${this.options.maxQueueBytes}); first: ${detail}`
        : reason === 'unexpected-reply'
          ? `dropped ${count} reply(ies) from ${who} to requests it was not sent; first: ${detail}`
          : `dropped ${count} malformed message(s) from ${who}; first: ${detail}`;
    this.logger.warn(what);
    this.emit({ type: 'messages-dropped', ...worker, reason, count, detail, at: Date.now() });
  }
}
