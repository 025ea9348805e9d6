/**
 * Contender C: the sample's `main.ts` with the worker count and the loopback address pinned, and
 * without its CORS set-up, which the other contenders do not have either.
 */
import { bootstrapClustered } from 'nestjs-cluster';
import { AppModule, HOST, WORKERS } from '../lib/sample-app.js';

await bootstrapClustered(AppModule, {
  workers: WORKERS,
  listen: (app, port) => app.listen(port, HOST),
});
