/**
 * The same workload through `ClusterService` across two nodes on Redis: a worker of node `a` sends to
 * and asks `{ node: 'b', slot: 0 }`, a worker of another primary, through both primaries' Redis links.
 */
import 'reflect-metadata';
import { Injectable, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { filter, firstValueFrom } from 'rxjs';
import { bootstrapClustered, ClusterModule, ClusterService } from 'nestjs-cluster';
import { BURST, payload, PINGS, timeBurstAndReport, timeRoundTrips } from '../messaging/workload.js';

const role = process.env.BENCH_ROLE;
const b = { node: 'bench-b', slot: 0 };
const a = { node: 'bench-a', slot: 0 };

@Injectable()
class Bench {
  constructor(private readonly cluster: ClusterService) {}

  async run(): Promise<void> {
    const { cluster } = this;
    if (role === 'b') {
      let received = 0;
      cluster.handle('ping', (data) => data);
      cluster.on('burst').subscribe(() => {
        if (++received === BURST) cluster.send(a, 'burst-done', null);
      });
      process.stdout.write('READY\n');
      return;
    }
    await firstValueFrom(cluster.workers$.pipe(filter((ws) => ws.some((w) => w.node === b.node && w.state === 'ready'))));
    const pings = await timeRoundTrips(PINGS, (i) => cluster.request('ping', payload(i), { to: b }));
    await timeBurstAndReport(pings, firstValueFrom(cluster.on('burst-done')), (i) => cluster.send(b, 'burst', payload(i)));
    process.kill(process.ppid, 'SIGTERM');
  }
}

@Module({ imports: [ClusterModule.forRoot()], providers: [Bench] })
class BenchModule {}

await bootstrapClustered(BenchModule, {
  workers: 1,
  nodeId: role === 'b' ? b.node : a.node,
  // One broker per run: NATS when the run names a nats-server, else Redis.
  redisUrl: process.env.BENCH_NATS_URL ? undefined : process.env.BENCH_REDIS_URL,
  natsUrl: process.env.BENCH_NATS_URL,
  createApp: async (m) => (await NestFactory.createApplicationContext(m as never, { logger: false })) as INestApplication,
  listen: async (app) => void (app as INestApplication).get(Bench).run(),
});
