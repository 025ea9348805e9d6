/**
 * The app of the logs bench: GET / logs one line through Nest's `Logger` (as an access log would) and
 * answers `{ pid }`. Run clustered, its workers' output going through the primary or not as
 * `CLUSTER_LOGS` says.
 */
import 'reflect-metadata';
import { Controller, Get, Logger, Module } from '@nestjs/common';
import { bootstrapClustered } from 'nestjs-cluster';
import { HOST } from '../lib/host.js';

@Controller()
class LoggingController {
  private readonly logger = new Logger('Access');
  private served = 0;

  @Get()
  root(): object {
    this.logger.log(`GET / 200 request ${++this.served} served by pid ${process.pid}`);
    return { pid: process.pid };
  }
}

@Module({ controllers: [LoggingController] })
class LoggingModule {}

await bootstrapClustered(LoggingModule, {
  workers: Number(process.env.BENCH_WORKERS ?? 2),
  listen: (app, port) => app.listen(port, HOST),
});
