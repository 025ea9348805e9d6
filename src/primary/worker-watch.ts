import type { Logger } from '@nestjs/common';
import { describeError } from '../common/describe-error.js';
import type { ResolvedClusterOptions } from '../interfaces/bootstrap-options.interface.js';
import { LivenessMonitor } from './liveness-monitor.js';
import { MemoryGuard } from './memory-guard.js';
import type { MessageRouter } from './message-router.js';
import type { RollingReplacement } from './rolling-replacement.js';
import type { Member, SlotTable } from './slot-table.js';
import { StickyListener } from './sticky-listener.js';

/**
 * What runs beside the workers and reads the slot table: the sticky listener (when `sticky` is on),
 * the liveness monitor (`unresponsiveMs`) and the memory guard (`restart.maxMemoryMb`). Each is there
 * only when its option asks for it.
 */
export class WorkerWatch {
  /** Owns the port in sticky mode, and hands each connection to a worker. */
  readonly sticky: StickyListener | undefined;
  private readonly liveness: LivenessMonitor<Member> | undefined;
  private readonly memoryGuard: MemoryGuard | undefined;
  private readonly mode: ResolvedClusterOptions['sticky'];
  private readonly port: number;

  constructor(
    options: ResolvedClusterOptions,
    table: SlotTable,
    {
      router,
      replacements,
      measureMemory,
    }: { router: MessageRouter; replacements: RollingReplacement; measureMemory: (pid: number) => number | undefined },
    private readonly logger: Logger,
  ) {
    this.mode = options.sticky;
    this.port = options.port;
    if (options.sticky) {
      this.sticky = new StickyListener(
        options.sticky,
        { port: options.port, host: options.host },
        {
          // A worker draining, unresponsive or exited is handed nothing: its slot's replacement, or another, is.
          ready: () => table.serving().map((m) => ({ id: m.identity.id, slot: m.identity.slot })),
          // The port the connection arrived on: the one the listener got, when `port` is 0.
          handConnection: (id, connection, head) => router.handConnection(id, connection.localPort!, connection, head),
        },
        logger,
      );
    }
    if (options.unresponsiveMs > 0) {
      this.liveness = new LivenessMonitor(
        options.unresponsiveMs,
        () => [...table.members()].filter((m) => m.process.state === 'ready'),
        (member, silentMs) => void replacements.unresponsive(member, silentMs),
      );
    }
    const { maxMemoryMb, memoryCheckIntervalMs } = options.restart;
    if (maxMemoryMb > 0) {
      this.memoryGuard = new MemoryGuard(
        maxMemoryMb,
        memoryCheckIntervalMs,
        () => table.serving().map((m) => m.identity),
        (slot, rssMb) => replacements.overMemoryLimit(slot, rssMb),
        measureMemory,
      );
    }
  }

  /**
   * A worker is ready: the sticky listener starts listening from the first one on, as node:cluster's
   * own listener would, once. `failed`: it cannot listen (the port is taken).
   */
  workerReady(failed: () => void): void {
    const { sticky } = this;
    if (!sticky || sticky.started) return;
    sticky.listen().then(
      (port) => this.logger.log(`sticky sessions (${this.mode}): the primary listens on port ${port} and hands each connection to a worker`),
      (error: unknown) => {
        this.logger.error(`sticky sessions: cannot listen on port ${this.port}: ${describeError(error)}`);
        failed();
      },
    );
  }

  start(): void {
    this.memoryGuard?.start();
    this.liveness?.start();
  }

  /** The cluster shuts down: no more checks, no more connections taken. */
  stop(): void {
    this.memoryGuard?.stop();
    this.liveness?.stop();
    this.sticky?.close();
  }
}
