/**
 * The baseline wired by hand as socket.io's documentation shows: a node:cluster primary with
 * `@socket.io/sticky`'s `setupMaster` and `@socket.io/cluster-adapter`'s `setupPrimary`, workers
 * running a plain socket.io server with `createAdapter()` and `setupWorker`, and the same `burst` handler.
 */
import { createAdapter, setupPrimary } from '@socket.io/cluster-adapter';
import { setupMaster, setupWorker } from '@socket.io/sticky';
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import { Server } from 'socket.io';

const workers = Number(process.env.BENCH_WORKERS ?? 2);
const port = Number(process.env.PORT ?? 3000);

if (cluster.isPrimary) {
  const httpServer = createServer();
  setupMaster(httpServer, { loadBalancingMethod: 'least-connection' });
  setupPrimary();
  cluster.setupPrimary({ serialization: 'advanced' });
  httpServer.listen(port, '127.0.0.1');
  let ready = 0;
  cluster.on('message', (_worker, message: unknown) => {
    if (message === 'ready' && ++ready === workers) process.stdout.write('READY\n');
  });
  for (let i = 0; i < workers; i++) cluster.fork();
} else {
  const httpServer = createServer((_req, res) => res.end(JSON.stringify({ pid: process.pid })));
  const io = new Server(httpServer, { adapter: createAdapter() });
  setupWorker(io);
  io.on('connection', (socket) => {
    socket.on('burst', (count: number, ack?: (n: number) => void) => {
      for (let i = 0; i < count; i++) io.emit('m', i);
      ack?.(count);
    });
  });
  process.send!('ready');
}
