/** The same workload through `ClusterService`: `send` for the burst, `request` for the ping-pong. */
import 'reflect-metadata';
import { Injectable, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { firstValueFrom, filter } from 'rxjs';
import { bootstrapClustered, ClusterModule, ClusterService } from 'nestjs-cluster';
import { BURST, payload, PINGS, timeBurstAndReport, timeRoundTrips } from './workload.js';

@Injectable()
class Bench {
  constructor(private readonly cluster: ClusterService) {}

  async run(): Promise<void> {
    const { cluster } = this;
    if (cluster.self.slot === 1) {
      let received = 0;
      cluster.handle('ping', (data) => data);
      cluster.on('burst').subscribe(() => {
        if (++received === BURST) cluster.send(0, 'burst-done', null);
      });
      return;
    }
    await firstValueFrom(cluster.workers$.pipe(filter((ws) => ws.filter((w) => w.state === 'ready').length === 2)));
    const pings = await timeRoundTrips(PINGS, (i) => cluster.request('ping', payload(i), { to: 1 }));
    await timeBurstAndReport(pings, firstValueFrom(cluster.on('burst-done')), (i) => cluster.send(1, 'burst', payload(i)));
    process.kill(process.ppid, 'SIGTERM');
  }
}

@Module({ imports: [ClusterModule.forRoot()], providers: [Bench] })
class BenchModule {}

await bootstrapClustered(BenchModule, {
  workers: 2,
  // No HTTP: an application context is all this workload needs.
  createApp: async (m) => (await NestFactory.createApplicationContext(m as never, { logger: false })) as INestApplication,
  listen: async (app) => void (app as INestApplication).get(Bench).run(),
});
