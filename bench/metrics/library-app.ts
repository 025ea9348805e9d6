/**
 * nestjs-cluster serving `/metrics` on every worker (ClusterMetricsModule), 5,000 series per worker.
 * Env: BENCH_WORKERS, PORT, BENCH_MODE (`per-worker` or `aggregate`).
 */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { bootstrapClustered, ClusterModule } from 'nestjs-cluster';
import { ClusterMetricsModule } from 'nestjs-cluster/metrics';
import { registerSeries } from './series.js';

if (process.env.CLUSTER_WORKER_SLOT !== undefined) registerSeries(Number(process.env.CLUSTER_WORKER_SLOT));

const mode = process.env.BENCH_MODE === 'aggregate' ? 'aggregate' : 'per-worker';

@Module({ imports: [ClusterModule.forRoot({ isGlobal: true }), ClusterMetricsModule.forRoot({ mode })] })
class BenchModule {}

await bootstrapClustered(BenchModule, {
  workers: Number(process.env.BENCH_WORKERS ?? 2),
  port: Number(process.env.PORT),
  listen: (app, port) => app.listen(port, '127.0.0.1'),
  createApp: async (module) => (await import('@nestjs/core')).NestFactory.create(module, { logger: ['error', 'warn'] }),
});
