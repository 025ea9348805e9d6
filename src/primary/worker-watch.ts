import type { Logger } from '@nestjs/common';
import type { AddressInfo } from 'node:net';
import type { ListenRequest } from '../channel/channel-to-worker.js';
import { describeError } from '../common/describe-error.js';
import type { ResolvedClusterOptions } from '../interfaces/bootstrap-options.interface.js';
import { ConnectionHanding } from './connection-handing.js';
import { LivenessMonitor } from './liveness-monitor.js';
import { MemoryGuard } from './memory-guard.js';
import type { RollingReplacement } from './rolling-replacement.js';
import { PortListeners } from './port-listeners.js';
import type { Member, SlotTable } from './slot-table.js';
import { StickyListener } from './sticky-listener.js';

/**
 * What runs beside the workers and reads the slot table: the primary's listeners (the sticky listener
 * when `sticky` is on; the ports of the workers' servers with `distribution: 'primary'`) and the
 * handing of their connections, the liveness monitor (`unresponsiveMs`) and the memory guard
 * (`restart.maxMemoryMb`). Each is there only when its option asks for it.
 */
export class WorkerWatch {
  /** Owns the port in sticky mode, and hands each connection to a worker. */
  readonly sticky: StickyListener | undefined;
  /** Owns the ports the workers' servers listen on (`distribution: 'primary'`). */
  private readonly ports: PortListeners | undefined;
  /** Hands the connections of both to the workers, and again those a dying worker never took. */
  private readonly handing: ConnectionHanding;
  private readonly liveness: LivenessMonitor<Member> | undefined;
  private readonly memoryGuard: MemoryGuard | undefined;
  private readonly mode: ResolvedClusterOptions['sticky'];
  private readonly port: number;

  constructor(
    options: ResolvedClusterOptions,
    table: SlotTable,
    {
      replacements,
      measureMemory,
      listening,
    }: {
      replacements: RollingReplacement;
      measureMemory: (pid: number) => number | undefined;
      /** A server of `member` listens through the primary. */
      listening: (member: Member, address: AddressInfo) => void;
    },
    private readonly logger: Logger,
  ) {
    this.mode = options.sticky;
    this.port = options.port;
    this.handing = new ConnectionHanding(logger);
    if (options.sticky) {
      this.sticky = new StickyListener(
        options.sticky,
        { port: options.port, host: options.host },
        {
          hand: (connection, head, choose) =>
            this.handing.hand({
              connection,
              // The port the connection arrived on: the one the listener got, when `port` is 0.
              port: connection.localPort!,
              head,
              // A worker draining, unresponsive or exited is handed nothing: its slot's replacement, or another, is.
              pick: (refused) => {
                const ready = table.serving().filter((m) => !refused.has(m));
                const chosen = choose(ready.map((m) => m.identity));
                return chosen && ready.find((m) => m.identity.id === chosen.id);
              },
            }),
        },
        logger,
      );
    }
    if (options.distribution === 'primary') this.ports = new PortListeners(table, this.handing, { listening }, logger);
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
    this.handing.workerReady();
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

  /** A server of `member` listens on a TCP port: the primary listens there in its stead. */
  listen(member: Member, request: ListenRequest): void {
    if (this.ports) return this.ports.listen(member, request);
    // Only asked with `distribution: 'primary'`, which the worker read from the same options.
    member.channel.answerListen({ seq: request.seq, error: 'EINVAL' });
  }

  /** The worker took the connection handed to it as `id`, or could not. */
  answered(member: Member, id: number, accepted: boolean): void {
    this.handing.answered(member, id, accepted);
  }

  /** A worker exited: the connections it never took go to another worker. */
  workerGone(member: Member): void {
    this.ports?.workerGone(member);
    this.handing.workerGone(member);
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
    this.ports?.close();
    this.handing.close();
  }
}
