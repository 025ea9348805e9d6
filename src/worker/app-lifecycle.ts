import type { Logger } from '@nestjs/common';
import type { Socket } from 'node:net';
import { isBareHandle, type BareHandle } from '../channel/connection-handle.js';
import { NestFactory, type IEntryNestModule } from '@nestjs/core';
import { ClusterError, ClusterArgumentError } from '../cluster.errors.js';
import { ClusterService } from '../cluster.service.js';
import { providedInstance } from '../common/app-container.js';
import { describeError } from '../common/describe-error.js';
import { LeaderOnlyExplorer } from '../leadership/leader-only.explorer.js';
import type { ClusterTransport } from '../transports/cluster-transport.interface.js';
import { PROCESS_TRANSPORT, withProcessTransport } from '../transports/process-transport.module.js';
import type { ClusteredApp, ResolvedClusterOptions } from '../interfaces/bootstrap-options.interface.js';
import { anatomyOf, listenByKind } from './app-anatomy.js';
import { drainHttp } from './drain/http.drain.js';
import { InFlightWork } from './drain/in-flight-work.js';
import { isTcpTransport, portOf } from './drain/transport-server.js';
import { drainTransports, type HandOff } from './drain/transport.drain.js';
import type { ListeningThroughPrimary } from './listen-through-primary.js';
import { serveConnection } from './sticky-connection.js';

/** A started app, and what its drain needs. */
export interface StartedApp {
  readonly app: ClusteredApp;
  readonly work: InFlightWork;
}

/**
 * Creates, configures and starts the Nest app with the user's hooks or the defaults of its kind. The
 * app is created from a root module that imports `module` and provides `transport` (see
 * `withProcessTransport`), which `ClusterModule` takes.
 */
export async function startApp(module: IEntryNestModule, options: ResolvedClusterOptions, transport: ClusterTransport): Promise<StartedApp> {
  const started = await createApp(module, options, transport);
  await listenApp(started, options);
  return started;
}

/** The first part of `startApp`: creates and configures the app, which takes no work yet. */
export async function createApp(module: IEntryNestModule, options: ResolvedClusterOptions, transport: ClusterTransport): Promise<StartedApp> {
  const { port } = options;
  const entry = withProcessTransport(module, transport);
  // abortOnError: false lets a failing boot reach our handler (log, exit 1) instead of Nest's own exit.
  const app = options.createApp ? await options.createApp(entry, { port }) : await NestFactory.create(entry, { abortOnError: false });
  checkEntry(app, transport);
  // Before Nest registers routes, gateways and message handlers, which keep a reference to each method.
  (providedInstance(app, LeaderOnlyExplorer) as LeaderOnlyExplorer | undefined)?.explore();
  await options.configure?.(app);
  // Before listening, so that no message goes uncounted (a hybrid app has its microservices by now).
  const work = new InFlightWork();
  for (const transport of anatomyOf(app).transports) work.track(transport);
  return { app, work };
}

/**
 * How far a warm standby goes before it has a slot, short of taking work. `'listen'`: all the way, when
 * the primary deals every connection of what the default listen starts, and deals a standby none: the
 * HTTP server in sticky mode or with `distribution: 'primary'`, and TCP transports with
 * `distribution: 'primary'`. Otherwise `'init'`: the app is initialized (modules, providers,
 * `onModuleInit` and `onApplicationBootstrap` hooks, routes and gateways) and only its listen waits,
 * since that would take work (a broker transport consumes, node:cluster deals connections to any
 * listening worker, a `listen` hook may start anything). An application context's init is its start
 * (a queue consumer begins to consume in its hooks): `'create'`, it waits too.
 */
export function standbyReach({ app }: StartedApp, options: ResolvedClusterOptions): 'create' | 'init' | 'listen' {
  const { kind, transports } = anatomyOf(app);
  if (kind === 'context') return 'create';
  if (options.listen) return 'init';
  const primaryDeals = options.distribution === 'primary';
  if (kind !== 'microservice' && !primaryDeals && options.sticky === false) return 'init';
  return transports.every((t) => isTcpTransport(t) && primaryDeals) ? 'listen' : 'init';
}

/** A warm standby goes as far as `standbyReach` says; `true` if it listens. */
export async function prepareStandby(started: StartedApp, options: ResolvedClusterOptions): Promise<boolean> {
  const reach = standbyReach(started, options);
  if (reach === 'create') return false;
  if (reach === 'listen') {
    await listenApp(started, options);
    return true;
  }
  await started.app.init();
  return false;
}

/** The last part of `startApp`: the app starts taking work (the `listen` hook, or the default of its kind). */
export async function listenApp({ app }: StartedApp, options: ResolvedClusterOptions): Promise<void> {
  const { port } = options;
  if (options.listen) await options.listen(app, port);
  else await listenByKind(app, { port, host: options.host, sticky: options.sticky !== false });
}

/**
 * An app that `createApp` built from another module than the one it was given has no transport: its
 * `ClusterService` would take itself for a standalone process. Said at once rather than left to
 * surprise (every worker leading, messages going nowhere).
 */
function checkEntry(app: ClusteredApp, transport: ClusterTransport): void {
  if (providedInstance(app, PROCESS_TRANSPORT) === transport || providedInstance(app, ClusterService) === undefined) return;
  throw new ClusterError(
    "createApp built the app from another module than the one it is given: pass that module on (createApp: (module) => NestFactory.create(module)), so that ClusterModule gets this worker's transport.",
    ClusterArgumentError.code,
  );
}

/**
 * Drains, then closes the app. Every part of it stops taking new work and finishes what is in flight,
 * together: the HTTP server (see `drainHttp`) and the microservice transports (see
 * `drainTransports`); then `app.close()` runs Nest's shutdown hooks with nothing left in flight.
 * `deadlineMs` bounds the drain, leaving the rest of the shutdown time to the hooks; work still in
 * flight at the deadline is cut, and the drain is not clean. The caller has told the transport first
 * (`beginDraining`): what holds connections open for good closed them on `draining$` (WebSockets).
 */
export async function closeApp({ app, work }: StartedApp, logger: Logger, deadlineMs: number, handOff?: HandOff): Promise<{ clean: boolean }> {
  const { http, transports } = anatomyOf(app);
  for (const transport of transports) work.track(transport); // connected after the start: count what comes
  const [cutConnections, cutMessages] = await Promise.all([
    http ? drainHttp(http, deadlineMs) : 0,
    drainTransports(transports, work, deadlineMs, handOff),
  ]);
  if (cutConnections > 0) logger.warn(`drain deadline (${deadlineMs} ms) reached: cut ${cutConnections} connection(s) still busy`);
  if (cutMessages > 0) logger.warn(`drain deadline (${deadlineMs} ms) reached: cut ${cutMessages} message(s) still being handled`);
  try {
    await app.close();
  } catch (error) {
    logger.error(`app.close() failed: ${describeError(error)}`);
    return { clean: false };
  }
  return { clean: cutConnections === 0 && cutMessages === 0 };
}

/**
 * Serves a connection handed to this worker; `false` if nothing here can (the caller closes it, or
 * the primary hands it to another worker). A bare handle: a connection the primary accepted on `port`
 * for this worker's server listening there through it (`distribution: 'primary'`). With `head`, a
 * connection of the primary's sticky listener: served on the app's HTTP server. Otherwise one another
 * worker handed off (rolling restart), for this app's TCP transport listening on `port` (its client
 * reconnects on its next send if it is closed).
 */
export function serveHandedConnection(
  started: StartedApp | undefined,
  listening: ListeningThroughPrimary | undefined,
  port: number,
  connection: Socket | BareHandle,
  head?: Buffer,
): boolean {
  if (isBareHandle(connection)) return listening?.serve(port, connection) ?? false;
  if (head !== undefined) {
    const http = started && anatomyOf(started.app).http;
    if (!http) return false;
    serveConnection(http, connection, head);
    return true;
  }
  const transport = started && anatomyOf(started.app).transports.find((t) => portOf(t) === port);
  if (typeof transport?.bindHandler !== 'function') return false;
  transport.bindHandler(connection);
  return true;
}

/** HTTP and transports get most of the shutdown time; the rest is left for Nest's shutdown hooks. */
export function drainDeadline(options: ResolvedClusterOptions): number {
  return Math.floor(options.shutdown.timeoutMs * 0.8);
}
