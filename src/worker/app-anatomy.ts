import type { INestApplication, INestApplicationContext, INestMicroservice } from '@nestjs/common';
import type { Server as HttpServer } from 'node:http';
import type { ClusteredApp } from '../interfaces/bootstrap-options.interface.js';
import type { TransportServer } from './drain/transport-server.js';

/** What an app is made of, found by shape: `@nestjs/microservices` is an optional peer. */
export interface AppAnatomy {
  /** `hybrid`: an HTTP app with connected microservices. */
  readonly kind: 'http' | 'hybrid' | 'microservice' | 'context';
  /** The HTTP server (express or Fastify), for `http` and `hybrid`. */
  readonly http?: HttpServer;
  /** The transport servers: the microservice's, or the hybrid app's connected ones. */
  readonly transports: readonly TransportServer[];
}

export function isHttpApp(app: ClusteredApp): app is INestApplication {
  return typeof (app as Partial<INestApplication>).getHttpServer === 'function';
}

export function isMicroservice(app: ClusteredApp): app is INestMicroservice {
  return typeof (app as Partial<INestMicroservice>).getTransportServer === 'function';
}

export function anatomyOf(app: ClusteredApp): AppAnatomy {
  if (isHttpApp(app)) {
    const transports = (app.getMicroservices?.() ?? []).map(transportOf);
    return { kind: transports.length > 0 ? 'hybrid' : 'http', http: httpServerOf(app), transports };
  }
  if (isMicroservice(app)) return { kind: 'microservice', transports: [transportOf(app)] };
  return { kind: 'context', transports: [] };
}

/** Where the default `listen` of an HTTP app listens; with `sticky`, the primary listens there instead. */
export interface ListenAt {
  readonly port: number;
  readonly host?: string;
  readonly sticky?: boolean;
}

/**
 * The default `listen` of each kind: the HTTP app listens on the port and host (a hybrid one starts its
 * microservices first, so it is ready only when both are); a microservice listens on its transport;
 * an application context is ready once initialized. With `sticky`, the primary owns the port: the HTTP
 * app is only initialized (its gateways bound to its HTTP server) and serves the connections handed to
 * it; on Fastify, whose routes and hooks are in place only once the instance is ready (`listen` would
 * make it so), the instance is made ready too.
 */
export async function listenByKind(app: ClusteredApp, { port, host, sticky = false }: ListenAt): Promise<void> {
  if (isHttpApp(app)) {
    if ((app.getMicroservices?.() ?? []).length > 0) await app.startAllMicroservices();
    if (sticky) {
      await app.init();
      const instance = app.getHttpAdapter?.()?.getInstance?.() as { ready?: () => PromiseLike<unknown> } | undefined;
      if (typeof instance?.ready === 'function') await instance.ready();
    } else if (host === undefined) await app.listen(port);
    else await app.listen(port, host);
  } else if (isMicroservice(app)) {
    await app.listen();
  } else {
    await (app as INestApplicationContext).init();
  }
}

function transportOf(microservice: INestMicroservice): TransportServer {
  return microservice.getTransportServer() as unknown as TransportServer;
}

function httpServerOf(app: INestApplication): HttpServer | undefined {
  try {
    const server = app.getHttpServer() as HttpServer | undefined;
    return typeof server?.closeIdleConnections === 'function' ? server : undefined;
  } catch {
    return undefined; // not initialized
  }
}
