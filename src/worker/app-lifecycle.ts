import type { INestApplication, Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Server } from 'node:http';
import { Server as NetServer } from 'node:net';
import { describeError } from '../common/describe-error.js';
import type { ResolvedClusterOptions } from '../interfaces/bootstrap-options.interface.js';

/**
 * Keep-alive clients reuse an idle connection without warning; one closed under them fails the
 * request they were already writing. While draining, an idle connection is left this long to carry
 * its client's next request (answered with `Connection: close`) before it counts as truly idle.
 */
const IDLE_GRACE_MS = 1_000;
const DRAIN_POLL_MS = 25;

/** Creates, configures and starts the Nest app with the user's hooks or the defaults. */
export async function startApp(module: unknown, options: ResolvedClusterOptions): Promise<INestApplication> {
  // abortOnError: false lets a failing boot reach our handler (log, exit 1) instead of Nest's own exit.
  const app = options.createApp
    ? await options.createApp(module)
    : await NestFactory.create(module as never, { abortOnError: false });
  await options.configure?.(app);
  if (options.listen) await options.listen(app, options.port);
  else await app.listen(options.port);
  return app;
}

/**
 * Drains, then closes the app:
 * 1. stop accepting connections (in a cluster worker the primary stops handing it any);
 * 2. answer every further request with `Connection: close`, so each keep-alive client closes its
 *    connection after its current request instead of having it cut under the next one;
 * 3. once in-flight requests are done and idle connections had `IDLE_GRACE_MS` to be reused,
 *    close what is still idle;
 * 4. `app.close()`: Nest's shutdown hooks run with no request left in flight.
 * `deadlineMs` bounds steps 1-3, leaving the rest of the shutdown time to the hooks.
 */
export async function closeApp(app: INestApplication, logger: Logger, deadlineMs: number): Promise<{ clean: boolean }> {
  const server = httpServerOf(app);
  const cut = server ? await drainHttp(server, deadlineMs) : 0;
  if (cut > 0) logger.warn(`drain deadline (${deadlineMs} ms) reached: cut ${cut} connection(s) still busy`);
  try {
    await app.close();
  } catch (error) {
    logger.error(`app.close() failed: ${describeError(error)}`);
    return { clean: false };
  }
  return { clean: cut === 0 };
}

/** Resolves with the number of connections it had to cut at the deadline. */
async function drainHttp(server: Server, deadlineMs: number): Promise<number> {
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

function httpServerOf(app: INestApplication): Server | undefined {
  try {
    const server = app.getHttpServer() as Server | undefined;
    return typeof server?.closeIdleConnections === 'function' ? server : undefined;
  } catch {
    return undefined; // an app without an HTTP server (microservice-only)
  }
}

/** HTTP gets most of the shutdown time; the rest is left for Nest's shutdown hooks. */
export function drainDeadline(options: ResolvedClusterOptions): number {
  return Math.floor(options.shutdown.timeoutMs * 0.8);
}
