import { Logger } from '@nestjs/common';
import type { Socket } from 'node:net';
import { HEARTBEAT_INTERVAL_MS } from '../../cluster.constants.js';
import { ThrottledReport } from '../../common/throttled-report.js';
import type { WorkerIdentity } from '../../interfaces/cluster-event.interface.js';
import { hasClusterNamespace, type MessageEnvelope } from '../../messaging/envelope.js';
import type { Serialization } from '../../messaging/payload-codec.js';
import type { MessageLimits } from '../cluster-transport.interface.js';
import { stopReading } from '../../channel/connection-handle.js';
import { creditReturn } from '../../channel/flow-control.js';
import type { WireLimits } from '../message-validation.js';
import { MembershipTransport } from '../membership.transport.js';
import { EnvelopeBatcher } from '../../channel/envelope-batcher.js';
import { isLeaderOf } from '../../leadership/leader.interface.js';
import { controlEnvelope, readFromPrimary, unpack, type LifecycleData, type ReadyNotes } from '../../channel/channel-protocol.js';
import { WorkerInbox } from '../../channel/worker-inbox.js';

/** The IPC channel of a forked process (`process` in a worker). */
export interface IpcChannel {
  send?(message: unknown, handle?: Socket, options?: object, callback?: (error: Error | null) => void): boolean;
  on(event: 'message', listener: (message: unknown, handle?: unknown) => void): unknown;
}

/** What the primary asks of the worker runtime. */
export interface WorkerDirectives {
  /** Drain and exit; `handOff`: a replacement is ready to take the open connections. */
  shutdown(handOff: boolean): void;
  /**
   * Serve this connection from now on: on the TCP transport listening on `port`, or, with `head` (the
   * bytes the primary read from it), on the app's HTTP server (sticky sessions).
   */
  adopt(port: number, connection: Socket, head?: Buffer): void;
}

const WARN_EVERY_MS = 5_000;

/**
 * The embedded transport of a worker: everything goes through the primary over node:cluster's IPC
 * channel. The primary relays lifecycle events and membership, and routes messages (`IpcRouter`).
 * What arrives is checked before use; control messages act at once, messages wait in a bounded inbox
 * and reach the application in slices.
 */
export class IpcWorkerTransport extends MembershipTransport {
  readonly role = 'worker' as const;
  private readonly outbox: EnvelopeBatcher;
  private readonly inbox: WorkerInbox;
  private readonly wire: WireLimits;
  private readonly warnings: ThrottledReport<string>;

  constructor(
    self: WorkerIdentity,
    serialization: Serialization,
    /** The message bounds, and `maxQueueBytes`, which sizes the credit window. */
    limits: MessageLimits & { readonly maxQueueBytes: number },
    private readonly directives: WorkerDirectives = { shutdown: () => undefined, adopt: (_port, connection) => connection.destroy() },
    private readonly channel: IpcChannel = process,
    logger = new Logger(`ClusterWorker#${self.slot}`),
  ) {
    super(self, serialization, limits);
    this.wire = { serialization, maxMessageBytes: limits.maxMessageBytes };
    this.warnings = new ThrottledReport(WARN_EVERY_MS, (count, sample) => logger.warn(`dropped ${count} message(s) on arrival: ${sample}`));
    this.outbox = new EnvelopeBatcher((message) => this.write(message));
    this.inbox = new WorkerInbox(
      (message) => this.messages.next(message),
      (bytes) => this.outbox.push(controlEnvelope.credit(bytes)),
      (error) => this.warnings.note('handler', `a subscriber threw: ${error instanceof Error ? error.message : String(error)}`),
      creditReturn(limits.maxQueueBytes),
    );
    channel.on('message', this.onMessage);
    // Messages sent before this listener existed are lost, so ask for the current snapshot.
    this.write(controlEnvelope.hello());
    // From a timer, so it proves the event loop turns, not merely that the process exists.
    setInterval(() => {
      this.outbox.push(controlEnvelope.heartbeat());
      this.inbox.returnCredit();
    }, HEARTBEAT_INTERVAL_MS).unref();
  }

  requestRollingRestart(): void {
    this.outbox.push(controlEnvelope.restart());
  }

  send(message: MessageEnvelope): void {
    this.outbox.push(message);
  }

  announce(topics: readonly string[]): void {
    this.outbox.push(controlEnvelope.handlers(topics));
  }

  /**
   * Passes an open connection of a TCP transport on `port` to whichever worker now serves this slot,
   * through the primary. The caller made sure nothing is half-read or unwritten on it. Resolves once
   * the primary has it (node passes handles one at a time): this process must not exit before.
   */
  handOff(port: number, connection: Socket): Promise<void> {
    // Not one of this worker's server's connections any more: its bookkeeping must not follow it.
    (connection as { server?: unknown }).server = null;
    stopReading(connection);
    return new Promise((resolve) => {
      const sent = (error: Error | null) => {
        if (error) connection.destroy(); // the primary is gone: so is the cluster
        resolve();
      };
      try {
        this.channel.send?.(controlEnvelope.handoff(port), connection, {}, sent);
      } catch (error) {
        sent(error as Error);
      }
    });
  }

  /** The app's `listen` resolved: the primary may count this worker as serving. */
  ready(notes?: ReadyNotes): void {
    this.outbox.push(controlEnvelope.ready(notes));
  }

  private readonly onMessage = (message: unknown, handle?: unknown): void => {
    if (!hasClusterNamespace(message)) return; // the application's own IPC
    const arrived: MessageEnvelope[] = [];
    unpack(
      message,
      (item) => {
        const read = readFromPrimary(item, this.wire);
        if (typeof read === 'string') this.warnings.note('malformed', read);
        else if (read.kind === 'shutdown') this.directives.shutdown(read.handOff);
        else if (read.kind === 'lifecycle') this.applyLifecycle(read.data);
        else if (read.kind === 'handoff') this.adopt(read.port, handle, read.head);
        else arrived.push(read);
      },
      (reason) => this.warnings.note('malformed', reason),
    );
    // Control acted at once, above; messages go through the inbox, in order.
    if (arrived.length > 0) this.inbox.receive(arrived);
  };

  private applyLifecycle({ workers, event, state }: LifecycleData): void {
    const wasLeader = isLeaderOf(this.view.leader(), this.self);
    // Whoever reacts to leader$ (the scheduler stopping its jobs) does so inside this call.
    this.view.apply(workers, event, state);
    if (wasLeader && !isLeaderOf(this.view.leader(), this.self)) this.outbox.push(controlEnvelope.released());
  }

  private adopt(port: number, handle: unknown, head: Buffer | undefined): void {
    if (isSocket(handle)) this.directives.adopt(port, handle, head);
    else this.warnings.note('malformed', 'handoff: no connection came with it');
  }

  private write(message: unknown): void {
    // After the primary is gone the channel is closed; the worker is about to exit with it.
    try {
      this.channel.send?.(message);
    } catch {
      // dropped: nobody is left to receive it
    }
  }
}

function isSocket(handle: unknown): handle is Socket {
  return typeof (handle as Socket | undefined)?.destroy === 'function' && typeof (handle as Socket).write === 'function';
}
