import type { Socket } from 'node:net';
import { HEARTBEAT_INTERVAL_MS } from '../cluster.constants.js';
import { hasClusterNamespace, type ClusterEnvelope, type MessageEnvelope } from '../messaging/envelope.js';
import type { WireLimits } from '../transports/message-validation.js';
import {
  controlEnvelope,
  readFromPrimary,
  toWire,
  unpack,
  type LifecycleData,
  type ListenReply,
  type ListenRequest,
  type ReadyNotes,
  type ScaleReply,
} from './channel-protocol.js';
import { isBareHandle, stopReading, type BareHandle } from './connection-handle.js';
import { EnvelopeBatcher } from './envelope-batcher.js';
import { creditReturn } from './flow-control.js';
import { WorkerInbox } from './worker-inbox.js';

export type { LifecycleData, ListenReply, ListenRequest, ReadyNotes, ScaleReply } from './channel-protocol.js';

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
   * bytes the primary read from it), on the app's HTTP server (sticky sessions), or, a bare handle, on
   * this worker's server listening on `port` through the primary. `false`: nothing here could take it
   * (it was closed, or is the primary's to hand elsewhere when it asked for an answer).
   */
  handedConnection(port: number, connection: Socket | BareHandle, head?: Buffer): boolean;
  /** This warm standby takes `slot`: it listens, then says `ready`. */
  promote(slot: number): void;
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
const NO_DIRECTIVES: WorkerDirectives = { shutdown: () => undefined, handedConnection: () => false, promote: () => undefined };
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
  /** `listen` requests waiting for the primary's answer, by `seq`. */
  private readonly listens = new Map<number, (reply: ListenReply) => void>();
  private listenSeq = 0;
  /** `scale` requests waiting for the primary's answer, by `seq`. */
  private readonly scales = new Map<number, (reply: ScaleReply) => void>();
  private scaleSeq = 0;

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

  /**
   * This warm standby's app is initialized: it waits for a slot (`promote`). `listening`: it listens
   * too, on ports the primary owns; else its listen waits for the promotion.
   */
  standby(listening: boolean): void {
    this.outbox.push(controlEnvelope.standby(listening));
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

  /**
   * Asks the primary to listen on a TCP port for a server of this worker; resolves with where it
   * listens, or the error code it met. Written at once: a server's `listen` waits on it.
   */
  listen(request: Omit<ListenRequest, 'seq'>): Promise<ListenReply> {
    const seq = ++this.listenSeq;
    return new Promise((resolve) => {
      this.listens.set(seq, resolve);
      this.outbox.push(controlEnvelope.listen({ ...request, seq }));
    });
  }

  /**
   * Asks the primary to change the worker count (`workers`: a count or a change of it, read with
   * `readScaleArgument`); resolves with its answer, once the change is done or refused.
   */
  scale(workers: string): Promise<ScaleReply> {
    const seq = ++this.scaleSeq;
    return new Promise((resolve) => {
      this.scales.set(seq, resolve);
      this.outbox.push(controlEnvelope.scale({ seq, workers }));
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
        else if (read.kind === 'promote') this.directives.promote(read.slot);
        else if (read.kind === 'lifecycle') this.traffic.lifecycle(read.data);
        else if (read.kind === 'handoff') this.takeConnection(read.port, handle, read.head, read.id);
        else if (read.kind === 'listening') this.answerListen(read.reply);
        else if (read.kind === 'scaled') this.answerScale(read.reply);
        else arrived.push(read);
      },
      (reason) => this.traffic.dropped('malformed', reason),
    );
    // Control acted at once, above; messages go through the inbox, in order.
    if (arrived.length > 0) this.inbox.receive(arrived);
  };

  private takeConnection(port: number, handle: unknown, head: Buffer | undefined, id: number | undefined): void {
    if (!isSocket(handle) && !isBareHandle(handle)) return this.traffic.dropped('malformed', 'handoff: no connection came with it');
    const taken = this.directives.handedConnection(port, handle, head);
    if (id !== undefined) {
      // Said before anything is read from it (reading starts on a later turn of the event loop): once
      // the primary hears this it closes its copy, and the connection lives and dies with this worker.
      this.outbox.push(controlEnvelope.accepted(id, taken));
      this.outbox.flush();
    }
    // Refused with an id: the primary still holds it and hands it to another worker; this copy goes.
    if (!taken) closeHandle(handle);
  }

  private answerListen(reply: ListenReply): void {
    const resolve = this.listens.get(reply.seq);
    this.listens.delete(reply.seq);
    resolve?.(reply);
  }

  private answerScale(reply: ScaleReply): void {
    const resolve = this.scales.get(reply.seq);
    this.scales.delete(reply.seq);
    resolve?.(reply);
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

function closeHandle(handle: Socket | BareHandle): void {
  if (isBareHandle(handle)) handle.close();
  else handle.destroy();
}

function isSocket(handle: unknown): handle is Socket {
  return typeof (handle as Socket | undefined)?.destroy === 'function' && typeof (handle as Socket).write === 'function';
}
