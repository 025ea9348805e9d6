import { Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ClusterService, type Leader, type WorkerInfo } from 'nestjs-cluster';
import type { ClusterConfig } from 'nestjs-cluster/config';
import { HitsService, type HitsTotal } from './hits.service.js';

@Controller()
export class AppController {
  constructor(
    private readonly cluster: ClusterService,
    private readonly config: ConfigService,
    private readonly hits: HitsService,
  ) {}

  /** Who answered: refresh a few times to watch the workers take turns. */
  @Get()
  hello(): { pid: number; node: string; slot: number; role: string } {
    this.hits.hit();
    return { pid: process.pid, node: this.cluster.self.node, slot: this.cluster.self.slot, role: this.cluster.role };
  }

  /** A CPU-bound route (a few milliseconds of work), where more cores show. */
  @Get('cpu')
  cpu(): { primes: number; pid: number } {
    let primes = 0;
    for (let n = 2; n < 30_000; n++) {
      let prime = true;
      for (let d = 2; d * d <= n; d++) {
        if (n % d === 0) {
          prime = false;
          break;
        }
      }
      if (prime) primes += 1;
    }
    return { primes, pid: process.pid };
  }

  /** The cluster as this worker sees it. */
  @Get('workers')
  workers(): readonly WorkerInfo[] {
    return this.cluster.workers();
  }

  /** The one worker of the cluster that runs the `@Cron` jobs, and whether it is this one. */
  @Get('leader')
  leader(): { leader: Leader | null; isLeader: boolean; pid: number } {
    return { leader: this.cluster.leader(), isLeader: this.cluster.isLeader(), pid: process.pid };
  }

  /** Requests served by every worker, summed across the cluster. */
  @Get('hits')
  totalHits(): Promise<HitsTotal> {
    return this.hits.total();
  }

  /** Resets every worker's count. */
  @Post('hits/reset')
  @HttpCode(204)
  resetHits(): void {
    this.hits.resetEverywhere();
  }

  /** The cluster settings, read through @nestjs/config. */
  @Get('config')
  settings(): ClusterConfig | undefined {
    return this.config.get<ClusterConfig>('cluster');
  }
}
