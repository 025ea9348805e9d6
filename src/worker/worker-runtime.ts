import { Logger, type INestApplication } from '@nestjs/common';
import cluster from 'node:cluster';
import type { ResolvedClusterOptions } from '../interfaces/bootstrap-options.interface.js';
import type { WorkerIdentity } from '../interfaces/cluster-event.interface.js';
import { IpcWorkerTransport } from '../transports/ipc/ipc-worker.transport.js';
import { setProcessTransport } from '../transports/process-transport.js';
import { describeError } from '../common/describe-error.js';
import { closeApp, drainDeadline, startApp } from './app-lifecycle.js';
import { markDraining } from './drain-state.js';

/**
 * Terminal signals reach the whole process group (Ctrl-C reaches the primary and every worker at
 * once). Workers leave them to the primary, which drains them in order; a worker that receives one
 * and hears nothing from the primary within this time was signalled on its own and drains itself.
 */
const OWN_SIGNAL_GRACE_MS = 1_000;
const TERMINAL_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * Runs inside a forked worker: creates the app, tells the primary once `listen` resolved, and drains
 * when the primary says so.
 */
export class WorkerRuntime {
  private readonly logger: Logger;
  private app: INestApplication | undefined;
  private transport: IpcWorkerTransport | undefined;
  private draining = false;
  private ownSignalTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly self: WorkerIdentity,
    private readonly options: ResolvedClusterOptions,
  ) {
    this.logger = new Logger(`ClusterWorker#${self.slot}`);
  }

  static identity(): WorkerIdentity {
    return { id: cluster.worker?.id ?? 0, slot: Number(process.env.CLUSTER_WORKER_SLOT), pid: process.pid };
  }

  async start(module: unknown): Promise<INestApplication> {
    const onShutdown = () => void this.drain('asked by the primary');
    const { serialization, messaging } = this.options;
    this.transport = new IpcWorkerTransport(this.self, serialization, messaging, onShutdown);
    setProcessTransport(this.transport);
    for (const signal of TERMINAL_SIGNALS) process.on(signal, () => this.onTerminalSignal(signal));
    // SIGHUP means "rolling restart" to the primary; its default action would kill the worker.
    process.on('SIGHUP', () => undefined);

    try {
      this.app = await startApp(module, this.options);
    } catch (error) {
      this.logger.error(`failed to start: ${describeError(error)}`);
      process.exit(1);
    }
    if (this.draining) {
      // Asked to stop while booting: nothing was served yet, close what the boot opened.
      await this.exitAfterClose();
    } else {
      this.transport.ready();
    }
    return this.app;
  }

  private onTerminalSignal(signal: NodeJS.Signals): void {
    if (this.draining || this.ownSignalTimer) return;
    this.ownSignalTimer = setTimeout(() => {
      void this.drain(`${signal} sent to this worker alone`);
    }, OWN_SIGNAL_GRACE_MS);
    this.ownSignalTimer.unref();
  }

  /** Idempotent: finishes in-flight work through `app.close()`, then exits 0 (1 if it could not drain cleanly). */
  private async drain(reason: string): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    markDraining();
    clearTimeout(this.ownSignalTimer);
    this.logger.log(`draining (${reason})`);
    // Still booting: start() notices the flag once the app exists.
    if (!this.app) return;
    await this.exitAfterClose();
  }

  private async exitAfterClose(): Promise<void> {
    const { clean } = this.app ? await closeApp(this.app, this.logger, drainDeadline(this.options)) : { clean: true };
    process.exit(clean ? 0 : 1);
  }
}
