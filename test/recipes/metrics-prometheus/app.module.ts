import { Controller, Get, Module, Res } from '@nestjs/common';
import { PrometheusController, PrometheusModule } from '@willsoto/nestjs-prometheus';
import type { Response } from 'express';
import { ClusterModule } from 'nestjs-cluster';
import { ClusterMetricsModule, ClusterMetricsService } from 'nestjs-cluster/metrics';

@Controller()
export class ClusterPrometheusController extends PrometheusController {
  constructor(private readonly clusterMetrics: ClusterMetricsService) {
    super();
  }

  @Get()
  override async index(@Res({ passthrough: true }) response: Response): Promise<string> {
    const { contentType, body } = await this.clusterMetrics.scrape();
    response.setHeader('Content-Type', contentType);
    return body;
  }
}

@Module({
  imports: [
    ClusterModule.forRoot({ isGlobal: true }),
    ClusterMetricsModule.forRoot({ path: false, isGlobal: true }), // no second /metrics; the service is injectable in PrometheusModule
    PrometheusModule.register({ controller: ClusterPrometheusController }), // its path (/metrics) now answers for the node
  ],
})
export class AppModule {}
