import { Controller, Get, Header, Inject, type Type } from '@nestjs/common';
import { PROMETHEUS_CONTENT_TYPE } from './cluster-metrics.constants.js';
import { ClusterMetricsService } from './cluster-metrics.service.js';

/**
 * The controller that serves the node's metrics at `path`. Made per module, as a route is fixed when the
 * class is decorated. The answer is plain text on every platform (express, Fastify).
 */
export function metricsController(path: string): Type {
  @Controller()
  class ClusterMetricsController {
    constructor(@Inject(ClusterMetricsService) private readonly metrics: ClusterMetricsService) {}

    @Get(path)
    @Header('Content-Type', PROMETHEUS_CONTENT_TYPE)
    @Header('Cache-Control', 'no-store')
    async scrape(): Promise<string> {
      return (await this.metrics.scrape()).body;
    }
  }
  return ClusterMetricsController;
}
