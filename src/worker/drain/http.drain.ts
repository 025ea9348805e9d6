import type { Server } from 'node:http';
import { Server as NetServer } from 'node:net';

/**
 * Keep-alive clients reuse an idle connection without warning; one closed under them fails the
 * request they were already writing. While draining, an idle connection is left this long to carry
 * its client's next request (answered with `Connection: close`) before it counts as truly idle.
 */
const IDLE_GRACE_MS = 1_000;
const DRAIN_POLL_MS = 25;

/**
 * 1. stop accepting connections (in a cluster worker the primary stops handing it any);
 * 2. answer every further request with `Connection: close`, so each keep-alive client closes its
 *    connection after its current request instead of having it cut under the next one;
 * 3. once in-flight requests are done and idle connections had `IDLE_GRACE_MS` to be reused,
 *    close what is still idle.
 * Resolves with the number of connections it had to cut at `deadlineMs`.
 */
export async function drainHttp(server: Server, deadlineMs: number): Promise<number> {
  // Added only now: the request path stays untouched in normal operation.
  server.prependListener('request', (_req, res) => {
    if (!res.headersSent) res.setHeader('Connection', 'close');
  });
  // net.Server's close stops listening without http.Server's immediate cut of idle connections.
  if (server.listening) NetServer.prototype.close.call(server);
  const started = Date.now();
  for (;;) {
    const open = await connectionCount(server);
    if (open === 0) return 0;
    const elapsed = Date.now() - started;
    if (elapsed >= deadlineMs) {
      server.closeIdleConnections();
      const busy = await connectionCount(server);
      server.closeAllConnections();
      return busy;
    }
    if (elapsed >= IDLE_GRACE_MS) server.closeIdleConnections();
    await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
  }
}

function connectionCount(server: Server): Promise<number> {
  return new Promise((resolve) => server.getConnections((error, count) => resolve(error ? 0 : count)));
}
