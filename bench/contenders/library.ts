/**
 * Contender C: the sample's `main.ts` with the worker count and the loopback address (`host`) pinned, and
 * without its CORS set-up, which the other contenders do not have either. With `CLUSTER_STANDBY`, it
 * says when a warm standby is ready (`STANDBY_READY <pid>`), for the availability section to wait on.
 */
import { bootstrapClustered } from 'nestjs-cluster';
import { AppModule, HOST, WORKERS } from '../lib/sample-app.js';

await bootstrapClustered(AppModule, {
  workers: WORKERS,
  // The library's own listen (`app.listen(port, host)`), as the hook it replaces did.
  host: HOST,
  onPrimaryEvent: (event) => {
    if (event.type === 'standby' && event.phase === 'ready') process.stdout.write(`STANDBY_READY ${event.pid}\n`);
  },
});
