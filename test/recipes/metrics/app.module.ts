import { Module } from '@nestjs/common';
import { ClusterModule } from 'nestjs-cluster';
import { ClusterMetricsModule } from 'nestjs-cluster/metrics';
import { collectDefaultMetrics, Counter } from 'prom-client';

collectDefaultMetrics(); // optional: process and Node.js metrics of every worker

export const orders = new Counter({ name: 'orders_total', help: 'Orders taken', labelNames: ['kind'] });

@Module({
  imports: [
    ClusterModule.forRoot({ isGlobal: true }),
    ClusterMetricsModule.forRoot(), // GET /metrics: every worker's series, each with a slot label ({ mode: 'aggregate' } sums them)
  ],
})
export class AppModule {}
