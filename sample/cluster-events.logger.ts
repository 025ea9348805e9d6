import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { ClusterService } from 'nestjs-cluster';

/** Logs what this worker learns about its siblings: kill one (`kill -9 <pid>`) and watch. */
@Injectable()
export class ClusterEventsLogger implements OnModuleInit {
  private readonly logger = new Logger(ClusterEventsLogger.name);

  constructor(private readonly cluster: ClusterService) {}

  onModuleInit(): void {
    // Only the lowest slot logs, so each event shows once rather than once per worker.
    if (this.cluster.self.slot !== 0) return;
    this.cluster.events$.subscribe((event) => {
      const who = 'slot' in event ? ` slot ${event.slot}` : '';
      this.logger.log(`saw ${event.type}${who}`);
    });
  }
}
