import { Injectable, Logger } from '@nestjs/common';
import { Cron } from '@nestjs/schedule';
import { ClusterService } from 'nestjs-cluster';

/** A job that must run once in the whole cluster, not once per worker: `ClusterScheduleModule` runs it on the leader. */
@Injectable()
export class ReportJob {
  private readonly logger = new Logger(ReportJob.name);

  constructor(private readonly cluster: ClusterService) {}

  @Cron('*/30 * * * * *')
  report(): void {
    const { slot } = this.cluster.self;
    this.logger.log(`every 30 s, once in the cluster: worker ${slot} (pid ${process.pid}) leads, epoch ${this.cluster.leader()?.epoch}`);
  }
}
