/**
 * The app of the control bench: a small Nest app (GET / answers `{ pid }`), run clustered with
 * `BENCH_WORKERS` workers, so that a node of many boots in a reasonable time on a small machine.
 */
import 'reflect-metadata';
import { Controller, Get, Module } from '@nestjs/common';
import { bootstrapClustered } from 'nestjs-cluster';
import { HOST } from '../lib/host.js';

@Controller()
class PidController {
  @Get()
  root(): object {
    return { pid: process.pid };
  }
}

@Module({ controllers: [PidController] })
class SmallModule {}

await bootstrapClustered(SmallModule, {
  workers: Number(process.env.BENCH_WORKERS ?? 16),
  listen: (app, port) => app.listen(port, HOST),
});
