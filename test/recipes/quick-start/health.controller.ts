// src/health.controller.ts
import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { ClusterHealthIndicator } from 'nestjs-cluster/health';

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly cluster: ClusterHealthIndicator,
  ) {}

  @Get() // liveness: every slot has a ready worker, no crash loop
  @HealthCheck()
  live() {
    return this.health.check([() => this.cluster.isHealthy('cluster')]);
  }

  @Get('ready') // readiness: down as soon as this worker or its node begins to stop
  @HealthCheck()
  ready() {
    return this.health.check([() => this.cluster.isAcceptingTraffic('traffic')]);
  }

  @Get('workers') // every worker's vitals, asked over IPC
  @HealthCheck()
  workers() {
    return this.health.check([() => this.cluster.checkWorkers('workers', { timeoutMs: 1000 })]);
  }
}
