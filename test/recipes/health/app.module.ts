import { Controller, Get, Module } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { ClusterModule } from 'nestjs-cluster';
import { ClusterHealthIndicator, ClusterHealthModule } from 'nestjs-cluster/health';

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly cluster: ClusterHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  live() {
    return this.health.check([() => this.cluster.isHealthy('cluster')]);
  }

  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([() => this.cluster.isAcceptingTraffic('traffic')]);
  }

  @Get('workers')
  @HealthCheck()
  workers() {
    return this.health.check([() => this.cluster.checkWorkers('workers', { timeoutMs: 1000 })]);
  }
}

@Module({
  imports: [ClusterModule.forRoot({ isGlobal: true }), TerminusModule, ClusterHealthModule],
  controllers: [HealthController],
})
export class AppModule {}
