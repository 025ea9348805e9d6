import { Logger } from '@nestjs/common';
import type { IEntryNestModule } from '@nestjs/core';
import { EXIT_CODES } from '../cluster.constants.js';
import type { ClusteredApp, ResolvedClusterOptions } from '../interfaces/bootstrap-options.interface.js';
import type { WorkerIdentity } from '../interfaces/cluster-event.interface.js';
import type { WorkerInfo, WorkerState } from '../interfaces/worker-info.interface.js';
import { LinkedLocalTransport } from '../transports/linked-local.transport.js';
import { LocalTransport } from '../transports/local.transport.js';
import type { NodeLink } from '../transports/node-link.interface.js';
import type { MessageLane } from '../transports/message-lane.interface.js';
import { describeError } from '../common/describe-error.js';
import { ShutdownSequence, TERMINAL_SIGNALS } from '../common/shutdown-sequence.js';
import { closeApp, drainDeadline, startApp, type StartedApp } from './app-lifecycle.js';
import { laneUp } from '../nodes/direct-routing.js';

/**
 * Runs the app in this one process (`enabled: false`): no fork, the same graceful shutdown as a
 * clustered worker, and a `ClusterService` whose cluster is this process, or, with a link to other
 * nodes (`CLUSTER_REDIS_URL`), a node of one worker in a cluster of several.
 */
export class StandaloneRuntime {
  private readonly logger = new Logger('ClusterStandalone');
  private readonly self: WorkerIdentity;
  private readonly transport: LocalTransport;
  private readonly linked: LinkedLocalTransport | undefined;
  private readonly startedAt = Date.now();
  private readyAt: number | null = null;
  private started: StartedApp | undefined;
  private readonly stopping: ShutdownSequence;

  constructor(
    private readonly options: ResolvedClusterOptions,
    link?: NodeLink,
    lane?: MessageLane,
  ) {
    this.self = StandaloneRuntime.identity(options);
    this.linked = link && new LinkedLocalTransport(this.self, options.serialization, options.messaging, link, options.leadership, lane);
    this.transport = this.linked ?? new LocalTransport(this.self, options.serialization, options.messaging);
    const { timeoutMs } = options.shutdown;
    // The deadline does not keep the process alive: it exits on its own once the drain is done.
    this.stopping = new ShutdownSequence({
      timeoutMs,
      keepAlive: false,
      onTimeout: () => {
        this.logger.error(`drain did not finish within ${timeoutMs} ms; exiting`);
        process.exit(EXIT_CODES.workersKilled);
      },
    });
  }

  /** A node of one process: slot 0, id 0. */
  static identity(options: ResolvedClusterOptions): WorkerIdentity {
    return { node: options.nodeId, id: 0, slot: 0, pid: process.pid };
  }

  async start(module: IEntryNestModule): Promise<ClusteredApp> {
    this.linked?.start();
    this.publish('starting');
    for (const signal of TERMINAL_SIGNALS) this.stopping.listen(signal, () => void this.shutdown(signal));
    await laneUp(this.linked);
    try {
      this.started = await startApp(module, this.options, this.transport);
    } catch (error) {
      this.logger.error(`failed to start: ${describeError(error)}`);
      process.exit(EXIT_CODES.startFailed);
    }
    this.readyAt = Date.now();
    this.publish('ready', { type: 'ready', ...this.self, at: this.readyAt, bootMs: this.readyAt - this.startedAt });
    this.logger.log(`ready in one process (clustering disabled), pid ${process.pid}`);
    return this.started.app;
  }

  private async shutdown(signal: NodeJS.Signals): Promise<void> {
    // The deadline is armed before the drain starts, so a hung shutdown hook cannot keep us alive. A
    // wrapper (npm start, timeout) forwarding the same Ctrl-C is not a second request to force.
    const step = this.stopping.begin(signal);
    if (step === 'force') {
      this.logger.warn(`${signal} again: exiting without waiting for the drain`);
      process.exit(EXIT_CODES.workersKilled);
    }
    if (step !== 'started') return;
    this.transport.beginDraining();
    this.publish('draining', { type: 'shutdown', node: this.self.node, reason: signal, at: Date.now() });
    this.logger.log(`${signal}: draining`);
    const { clean } = this.started ? await closeApp(this.started, this.logger, drainDeadline(this.options)) : { clean: true };
    // The other nodes forget this one now, rather than once it has been silent long enough.
    await this.linked?.close().catch(() => undefined);
    process.exit(clean ? EXIT_CODES.clean : EXIT_CODES.workersKilled);
  }

  private publish(state: WorkerState, event?: Parameters<LocalTransport['apply']>[1]): void {
    const info: WorkerInfo = { ...this.self, state, startedAt: this.startedAt, readyAt: this.readyAt, restarts: 0, congested: false };
    this.transport.apply([info], event);
  }
}
