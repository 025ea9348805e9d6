/**
 * The usual way to cluster prom-client: a plain node:cluster primary serves `/metrics` from
 * `AggregatorRegistry.clusterMetrics()`, which asks every worker over IPC and sums. 5,000 series per worker.
 * Env: BENCH_WORKERS, PORT.
 */
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import { AggregatorRegistry } from 'prom-client';
import { registerSeries } from './series.js';

const workers = Number(process.env.BENCH_WORKERS ?? 2);

if (cluster.isPrimary) {
  const registry = new AggregatorRegistry();
  let ready = 0;
  for (let slot = 0; slot < workers; slot++) cluster.fork({ BENCH_SLOT: String(slot) }).on('message', (m) => (ready += m === 'ready' ? 1 : 0));
  createServer((req, res) => {
    if (req.url === '/ready') {
      res.statusCode = ready === workers ? 200 : 503;
      return res.end();
    }
    if (req.url !== '/metrics') {
      res.statusCode = 404;
      return res.end();
    }
    registry.clusterMetrics().then(
      (body) => {
        res.setHeader('Content-Type', registry.contentType);
        res.end(body);
      },
      (error: Error) => {
        res.statusCode = 500;
        res.end(error.message);
      },
    );
  }).listen(Number(process.env.PORT), '127.0.0.1');
} else {
  registerSeries(Number(process.env.BENCH_SLOT));
  // Loads prom-client's cluster module in the worker, which answers the primary's requests.
  new AggregatorRegistry();
  process.send!('ready');
}
