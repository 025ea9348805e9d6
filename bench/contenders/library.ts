/**
 * Contender C: the sample's `main.ts` with the worker count and the loopback address (`host`) pinned, and
 * without its CORS set-up, which the other contenders do not have either. With `CLUSTER_STANDBY`, it
 * says when a warm standby is ready (`STANDBY_READY <pid>`), for the availability section to wait on.
 * With `BENCH_REUSE_PORT=1` (and `CLUSTER_DISTRIBUTION=node`), each worker's HTTP server listens on a
 * socket of its own with `reusePort: true` (Node >= 22.12), through the `listen` hook any user can write:
 * the kernel deals the connections among the workers' sockets.
 */
import type { INestApplication } from '@nestjs/common';
import type { Server } from 'node:net';
import { bootstrapClustered } from 'nestjs-cluster';
import { AppModule, HOST, WORKERS } from '../lib/sample-app.js';

async function listenWithReusePort(app: INestApplication, port: number): Promise<void> {
  await app.init();
  const server = app.getHttpServer() as Server;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // Typed by the @types/node of Node 20, which has no `reusePort` (Node >= 22.12).
    const options = { port, host: HOST, reusePort: true };
    server.listen(options, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

await bootstrapClustered(AppModule, {
  workers: WORKERS,
  // The library's own listen (`app.listen(port, host)`), as the hook it replaces did.
  host: HOST,
  ...(process.env.BENCH_REUSE_PORT === '1' ? { listen: listenWithReusePort } : {}),
  onPrimaryEvent: (event) => {
    if (event.type === 'standby' && event.phase === 'ready') process.stdout.write(`STANDBY_READY ${event.pid}\n`);
  },
});
