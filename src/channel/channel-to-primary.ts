import type { Socket } from 'node:net';
import { HEARTBEAT_INTERVAL_MS } from '../cluster.constants.js';
import { hasClusterNamespace, type ClusterEnvelope, type MessageEnvelope } from '../messaging/envelope.js';
import type { WireLimits } from '../transports/message-validation.js';
import { controlEnvelope, readFromPrimary, toWire, unpack, type LifecycleData, type ReadyNotes } from './channel-protocol.js';
import { stopReading } from './connection-handle.js';
import { EnvelopeBatcher } from './envelope-batcher.js';
import { creditReturn } from './flow-control.js';
import { WorkerInbox } from './worker-inbox.js';

export type { LifecycleData, ReadyNotes } from './channel-protocol.js';

/** The IPC channel of a forked process (`process` in a worker). */
export interface IpcChannel {
  send?(message: unknown, handle?: Socket, options?: object, callback?: (error: Error | null) => void): boolean;
  on(event: 'message', listener: (message: unknown, handle?: unknown) => void): unknown;
}

/** What the primary asks of the worker itself, checked. None of these may throw. */
export interface WorkerDirectives {
  /** Drain and exit; `handOff`: a replacement is ready to take the open connections. */
  shutdown(handOff: boolean): void;
  /**
   * Serve this connection from now on: on the TCP transport listening on `port`, or, with `head` (the
   * bytes the primary read from it), on the app's HTTP server (sticky sessions).
   */
  handedConnection(port: number, connection: Socket, head?: Buffer): void;
}

/** What the primary sends for the worker's transport, checked. None of these may throw. */
export interface ClusterTraffic {
  /** An event (if any) and the membership snapshot after it. */
  lifecycle(data: LifecycleData): void;
  /** A cluster message for this worker; messages come in order, handed over in slices. */
  message(message: MessageEnvelope): void;
  /** Something that arrived could not be used (malformed, or a listener threw). */
  dropped(reason: 'malformed' | 'handler', detail: string): void;
}

/** Until the worker opens its end, connections are closed and the rest ignored. */
const NO_DIRECTIVES: WorkerDirectives = { shutdown: () => undefined, handedConnection: (_port, connection) => connection.destroy() };
const NO_TRAFFIC: ClusterTraffic = { lifecycle: () => undefined, message: () => undefined, dropped: () => undefined };

/**
 * A worker's end of its channel to the primary. Writes are batched per tick; what arrives is checked
 * before use; control acts at once, messages wait in a bounded inbox and reach the listener in slices,
 * giving credit back to the primary as they are handled.
 */
export class ChannelToPrimary {
  private readonly outbox: EnvelopeBatcher;
  private readonly inbox: WorkerInbox;
  private directives: WorkerDirectives = NO_DIRECTIVES;
  private traffic: ClusterTraffic = NO_TRAFFIC;

  constructor(
    private readonly wire: WireLimits & { readonly maxQueueBytes: number },
    private readonly channel: IpcChannel = process,
  ) {
    this.outbox = new EnvelopeBatcher((message) => this.write(message));
    this.inbox = new WorkerInbox(
      (message) => this.traffic.message(message),
      (bytes) => this.outbox.push(controlEnvelope.credit(bytes)),
      (error) => this.traffic.dropped('handler', `a subscriber threw: ${error instanceof Error ? error.message : String(error)}`),
      creditReturn(wire.maxQueueBytes),
    );
  }

  /** Where cluster traffic goes: the worker's transport, which attaches before the channel opens. */
  attach(traffic: ClusterTraffic): void {
    this.traffic = traffic;
  }

  /**
   * Starts listening and says `hello` (messages sent before this were lost, so the primary answers
   * with the current snapshot); then a heartbeat from a timer, which proves the event loop turns.
   */
  open(directives: WorkerDirectives): void {
    this.directives = directives;
    this.channel.on('message', this.receive);
    this.write(controlEnvelope.hello());
    setInterval(() => {
      this.outbox.push(controlEnvelope.heartbeat());
      this.inbox.returnCredit();
    }, HEARTBEAT_INTERVAL_MS).unref();
  }

  /** The app's `listen` resolved: the primary may count this worker as serving. */
  ready(notes?: ReadyNotes): void {
    this.outbox.push(controlEnvelope.ready(notes));
  }

  requestRollingRestart(): void {
    this.outbox.push(controlEnvelope.restart());
  }

  /** This worker was leader and has stopped acting as one. */
  released(): void {
    this.outbox.push(controlEnvelope.released());
  }

  /** The request topics this worker handles (replaces the previous list). */
  handlers(topics: readonly string[]): void {
    this.outbox.push(controlEnvelope.handlers(topics));
  }

  /** A cluster message, batched with whatever else this tick writes. */
  send(message: MessageEnvelope): void {
    this.outbox.push(message);
  }

  /**
   * Passes an open connection of a TCP transport on `port` to whichever worker now serves this slot,
   * through the primary. The caller made sure nothing is half-read or unwritten on it. Resolves once
   * the primary has it (node passes handles one at a time): this process must not exit before.
   */
  handConnection(port: number, connection: Socket): Promise<void> {
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

  private readonly receive = (message: unknown, handle?: unknown): void => {
    if (!hasClusterNamespace(message)) return; // the application's own IPC
    const arrived: MessageEnvelope[] = [];
    unpack(
      message,
      (item) => {
        const read = readFromPrimary(item, this.wire);
        if (typeof read === 'string') this.traffic.dropped('malformed', read);
        else if (read.kind === 'shutdown') this.directives.shutdown(read.handOff);
        else if (read.kind === 'lifecycle') this.traffic.lifecycle(read.data);
        else if (read.kind === 'handoff') this.takeConnection(read.port, handle, read.head);
        else arrived.push(read);
      },
      (reason) => this.traffic.dropped('malformed', reason),
    );
    // Control acted at once, above; messages go through the inbox, in order.
    if (arrived.length > 0) this.inbox.receive(arrived);
  };

  private takeConnection(port: number, handle: unknown, head: Buffer | undefined): void {
    if (isSocket(handle)) this.directives.handedConnection(port, handle, head);
    else this.traffic.dropped('malformed', 'handoff: no connection came with it');
  }

  private write(message: ClusterEnvelope): void {
    // After the primary is gone the channel is closed; the worker is about to exit with it.
    try {
      // No `from` on the wire: the primary knows which worker's channel a message came on.
      this.channel.send?.(toWire(message, false));
    } catch {
      // dropped: nobody is left to receive it
    }
  }
}

function isSocket(handle: unknown): handle is Socket {
  return typeof (handle as Socket | undefined)?.destroy === 'function' && typeof (handle as Socket).write === 'function';
}
