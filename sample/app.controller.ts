import { Controller, Get } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ClusterService, type WorkerInfo } from 'nestjs-cluster';
import type { ClusterConfig } from 'nestjs-cluster/config';

@Controller()
export class AppController {
  constructor(
    private readonly cluster: ClusterService,
    private readonly config: ConfigService,
  ) {}

  /** Who answered: refresh a few times to watch the workers take turns. */
  @Get()
  hello(): { pid: number; slot: number; role: string } {
    return { pid: process.pid, slot: this.cluster.self.slot, role: this.cluster.role };
  }

  /** The cluster as this worker sees it. */
  @Get('workers')
  workers(): readonly WorkerInfo[] {
    return this.cluster.workers();
  }

  /** The cluster settings, read through @nestjs/config. */
  @Get('config')
  settings(): ClusterConfig | undefined {
    return this.config.get<ClusterConfig>('cluster');
  }
}
