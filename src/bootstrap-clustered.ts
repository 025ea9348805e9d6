import { Logger, type INestApplication } from '@nestjs/common';
import type { IEntryNestModule } from '@nestjs/core';
import cluster from 'node:cluster';
import { EXIT_CODES, WORKER_SLOT_ENV } from './cluster.constants.js';
import { ClusterConfigError } from './cluster.errors.js';
import { recordRunningOptions, resolveClusterOptions } from './cluster-options.js';
import { loadMessageLane, loadNodeLink } from './transports/node-link.loader.js';
import type { ClusterBootstrapOptions, ClusteredApp, ResolvedClusterOptions } from './interfaces/bootstrap-options.interface.js';
import { availableCpus } from './primary/available-cpus.js';
import { Supervisor } from './primary/supervisor.js';
import { StandaloneRuntime } from './worker/standalone-runtime.js';
import type { MessageLane } from './transports/message-lane.interface.js';
import type { NodeLink } from './transports/node-link.interface.js';
import { WorkerRuntime } from './worker/worker-runtime.js';

/**
 * Runs `module` on every CPU this process may use. Call it from `main.ts`; it runs in both roles:
 *
 * - in the primary it forks one worker per slot and supervises them (restart with backoff, crash-loop
 *   cap, graceful shutdown on SIGTERM/SIGINT) and never creates the Nest app; the returned promise
 *   never settles: once the cluster stops, the primary calls `process.exit` with the cluster's exit
 *   code, so code after the `await` runs in workers (and standalone) only;
 * - in a worker it creates the app (`createApp`), runs `configure`, then `listen`, tells the primary it
 *   is ready, and resolves to the app;
 * - with `enabled: false` it does the worker's part in this one process (role `standalone`).
 *
 * Every kind of Nest application works: an HTTP app (the default), a microservice, a hybrid app or
 * an application context; the type `createApp` returns is the type `configure`, `listen` and the
 * result see.
 *
 * Invalid options or environment variables log one line naming the setting and exit 78 before any fork.
 *
 * @example
 * ```ts
 * await bootstrapClustered(AppModule, { workers: 'auto', port: 3000 });
 *
 * await bootstrapClustered(AppModule, {
 *   createApp: (m, { port }) => NestFactory.createMicroservice<MicroserviceOptions>(m, { transport: Transport.TCP, options: { port } }),
 * });
 * ```
 */
export async function bootstrapClustered<App extends ClusteredApp = INestApplication>(
  module: IEntryNestModule,
  options: ClusterBootstrapOptions<App> = {},
): Promise<App | undefined> {
  const logger = new Logger('NestjsCluster');
  const budget = availableCpus();
  let resolved: ResolvedClusterOptions;
  try {
    resolved = resolveClusterOptions(options, process.env, () => budget.cpus);
  } catch (error) {
    if (!(error instanceof ClusterConfigError)) throw error;
    logger.error(error.message);
    process.exit(EXIT_CODES.badConfig);
  }
  recordRunningOptions(resolved);

  if (cluster.isWorker) {
    if (process.env[WORKER_SLOT_ENV] !== undefined) {
      return (await new WorkerRuntime(WorkerRuntime.identity(resolved), resolved).start(module)) as App;
    }
    // Forked by another process manager's cluster (PM2 cluster mode): it already supervises us.
    logger.warn('started as a worker of another cluster manager; running this process standalone');
    return (await new StandaloneRuntime(resolved, ...(await standaloneLinks(resolved, logger))).start(module)) as App;
  }
  if (!resolved.enabled) return (await new StandaloneRuntime(resolved, ...(await standaloneLinks(resolved, logger))).start(module)) as App;

  const why =
    resolved.workersSetting === 'auto'
      ? `auto: affinity ${budget.affinity} CPU(s), cgroup quota ${budget.quota === null ? 'none' : budget.quota.toFixed(2)}`
      : 'configured';
  logger.log(`primary pid ${process.pid}: starting ${resolved.workers} worker(s) (${why})`);
  const link = await loadNodeLink(resolved, logger);
  const supervisor = new Supervisor(resolved, cluster, { link });
  const control = await openControl(resolved, supervisor, logger);
  const code = await supervisor.start();
  // `nestjs-cluster stop` waits for this code.
  await control?.stopped(code);
  process.exit(code);
}

/** A standalone process that is a node of a cluster of several: its link, and its lane to the other nodes' workers. */
async function standaloneLinks(options: ResolvedClusterOptions, logger: Logger): Promise<[NodeLink?, MessageLane?]> {
  return [await loadNodeLink(options, logger), await loadMessageLane(options, StandaloneRuntime.identity(options), logger)];
}

/** The primary's control socket for the `nestjs-cluster` command, unless `control` is `'off'`; loaded in the primary only. */
async function openControl(options: ResolvedClusterOptions, supervisor: Supervisor, logger: Logger) {
  const { controlPaths } = await import('./control/control-paths.js');
  const paths = controlPaths(options.name, options.control);
  if (!paths) return undefined;
  const [{ ControlServer }, { supervisorControl }] = await Promise.all([
    import('./control/control-server.js'),
    import('./control/supervisor-control.js'),
  ]);
  return ControlServer.open(paths, supervisorControl(supervisor, options), logger);
}
