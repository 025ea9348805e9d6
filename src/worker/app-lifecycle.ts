import type { INestApplication, Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Server } from 'node:http';
import type { ResolvedClusterOptions } from '../interfaces/bootstrap-options.interface.js';

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
 * Drains the app: from now on every response asks its client to close the connection (so keep-alive
 * clients reconnect to another worker instead of writing into a closing socket), then Nest's
 * `app.close()` stops the server, waits for in-flight requests and runs the shutdown hooks.
 */
export async function closeApp(app: INestApplication, logger: Logger): Promise<void> {
  const server = httpServerOf(app);
  // Added only when draining starts: the request path stays untouched in normal operation.
  server?.prependListener('request', (_req, res) => {
    if (!res.headersSent) res.setHeader('Connection', 'close');
  });
  try {
    await app.close();
  } catch (error) {
    logger.error(`app.close() failed: ${describe(error)}`);
    throw error;
  }
}

function httpServerOf(app: INestApplication): Server | undefined {
  try {
    const server = app.getHttpServer() as Server | undefined;
    return typeof server?.prependListener === 'function' ? server : undefined;
  } catch {
    return undefined; // an app without an HTTP server (microservice-only)
  }
}

export function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
