import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { ClusterHealthIndicator } from 'nestjs-cluster/health';

/**
 * Probes for a load balancer or Kubernetes. Any worker may answer, and each answer speaks for the
 * whole cluster (liveness, workers) or for the worker that answered (readiness).
 */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly cluster: ClusterHealthIndicator,
  ) {}

  /** Liveness: every slot has a ready worker and no crash loop. */
  @Get()
  @HealthCheck()
  live() {
    return this.health.check([() => this.cluster.isHealthy('cluster')]);
  }

  /** Readiness: 503 as soon as the answering worker starts to drain. */
  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([() => this.cluster.isAcceptingTraffic('traffic')]);
  }

  /** The link to the other nodes (with CLUSTER_REDIS_URL): 503 while Redis cannot be reached. */
  @Get('nodes')
  @HealthCheck()
  nodes() {
    return this.health.check([() => this.cluster.isTransportUp('transport')]);
  }

  /** Every worker's vitals, asked over the cluster's request/reply; down if one does not answer. */
  @Get('workers')
  @HealthCheck()
  workers() {
    return this.health.check([() => this.cluster.checkWorkers('workers', { timeoutMs: 1000 })]);
  }
}
