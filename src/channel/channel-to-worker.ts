import type { Worker } from 'node:cluster';
import type { Socket } from 'node:net';
import type { DropReason, WorkerIdentity } from '../interfaces/cluster-event.interface.js';
import { hasClusterNamespace, type ClusterEnvelope, type MessageEnvelope } from '../messaging/envelope.js';
import type { Unchecked, WireLimits } from '../transports/message-validation.js';
import {
  controlEnvelope,
  readFromWorker,
  toWire,
  unpack,
  type LifecycleData,
  type ListenReply,
  type ListenRequest,
  type ReadyNotes,
  type ScaleReply,
  type ScaleRequest,
} from './channel-protocol.js';
import { stopReading, type BareHandle } from './connection-handle.js';
import { WorkerOutbox } from './worker-outbox.js';

export type { LifecycleData, ListenReply, ListenRequest, ReadyNotes, ScaleReply, ScaleRequest } from './channel-protocol.js';

/** What a worker says on its channel, checked. None of these may throw into the channel. */
export interface WorkerSays {
  /** Its end of the channel listens: it gets the current snapshot, and anything it missed. */
  hello(): void;
  /** Its app is ready; `notes`: what it found while starting, for the primary to report once. */
  ready(notes: ReadyNotes): void;
  /** A warm standby's app is initialized (`listening`: and listens, on ports the primary owns): it waits for a slot. */
  standby(listening: boolean): void;
  /** It asks for a rolling restart. */
  restart(): void;
  /** Told it no longer leads, it has stopped acting as leader. */
  released(): void;
  /** The request topics it handles (replaces the previous list). */
  handlers(topics: readonly string[]): void;
  /** A cluster message it sent, `from` already stamped with who it is. */
  message(message: MessageEnvelope): void;
  /** Draining, it passes on an open connection of its TCP transport on `port`. */
  handedConnection(port: number, connection: Socket): void;
  /** A server of it listens on a TCP port: the primary listens there and answers with `listening`. */
  listen(request: ListenRequest): void;
  /** It took (`accepted`) or could not take the connection handed to it with this `id`. */
  accepted(id: number, accepted: boolean): void;
  /** It asks for a change of the worker count; the primary answers with `answerScale`. */
  scale(request: ScaleRequest): void;
  /** Something it wrote was dropped (malformed), or messages to it are (`queue-full`, reported by the router). */
  dropped(reason: DropReason, detail: string): void;
  /** Its queue filled up, or is down to half again. */
  congestion(congested: boolean): void;
  /** A listener failed while handling one envelope: the next one is handled as usual. */
  failed(error: unknown): void;
}

/** How a connection is handed (see `ChannelToWorker.handConnection`). */
export interface HandOptions {
  readonly head?: Buffer;
  readonly id?: number;
  /** The write failed after `handConnection` returned: the connection is still the caller's. */
  readonly failed?: () => void;
}

export interface ChannelLimits extends WireLimits {
  /** Bytes of messages the primary holds for one worker. */
  readonly maxQueueBytes: number;
}

/**
 * The primary's end of one worker's channel. Everything the worker writes is checked here before
 * anything reads it; `from` is the identity of the worker the channel belongs to, never what an
 * envelope claims. The primary speaks to the worker through typed commands; cluster messages queue
 * in the worker's outbox (bounded, with flow control), control goes ahead of them.
 */
export class ChannelToWorker {
  /** When the worker last wrote anything (a heartbeat comes at least every second). */
  lastSeen = Date.now();
  /** Its end listens (it said `hello`): messages written earlier would have been lost. */
  listening = false;
  private readonly outbox: WorkerOutbox;
  private closed = false;

  constructor(
    private readonly worker: Worker,
    private readonly identity: WorkerIdentity,
    private readonly limits: ChannelLimits,
    private readonly says: WorkerSays,
  ) {
    this.outbox = new WorkerOutbox(
      (message) => this.write(message),
      limits.maxQueueBytes,
      (congested) => says.congestion(congested),
    );
    worker.on('message', this.receive);
  }

  /** Messages to this worker are being dropped: its queue filled up and is not yet down to half. */
  get congested(): boolean {
    return this.outbox.congested;
  }

  /** An event (if any) and the membership snapshot after it. */
  lifecycle(data: LifecycleData): void {
    this.outbox.pushControl(controlEnvelope.lifecycle(data));
  }

  /** Drain and exit; `handOff`: a replacement is ready to take the open connections. */
  shutdown(handOff: boolean): void {
    this.outbox.pushControl(controlEnvelope.shutdown(handOff));
  }

  /**
   * A standby takes `slot`. Written at once, ahead of anything queued: a standby that listens already
   * may be handed a connection right after, and must know its slot before it serves one.
   */
  promote(slot: number): void {
    this.write(controlEnvelope.promote(slot));
  }

  /**
   * Queues a cluster message in order. `false`, dropping it, when the queue is full and the message is
   * `droppable` (only the one answer each routed request gets may be queued regardless).
   */
  deliver(message: MessageEnvelope, droppable = true): boolean {
    return this.outbox.push(message, droppable);
  }

  /**
   * Hands a connection over: with `head` (the bytes the sticky listener read from it), for the app's
   * HTTP server; without, for the TCP transport listening on `port`; as a bare handle, for the worker's
   * server listening on `port` (see `listen`). With an `id`, the primary keeps its own copy open until
   * the worker answers `accepted` (or dies). `false` if the worker cannot take it now (its channel
   * closed); the connection is then still the caller's. `failed` is called if the write fails later.
   */
  handConnection(port: number, connection: Socket | BareHandle, { head, id, failed }: HandOptions = {}): boolean {
    if (!this.worker.isConnected()) return false;
    const sent = failed ?? (() => (connection as Socket).destroy?.());
    try {
      // `keepOpen`: node would close the primary's copy once the handle reached the worker's process,
      // before the worker took it; lost with it if the worker dies then.
      const options = id === undefined ? {} : { keepOpen: true };
      this.worker.send(controlEnvelope.handoff(port, head, id), connection as Socket, options, (error) => error && sent());
    } catch {
      return false; // the channel closed between the check and the write
    }
    return true;
  }

  /** The answer to the worker's `listen`. */
  answerListen(reply: ListenReply): void {
    this.outbox.pushControl(controlEnvelope.listening(reply));
  }

  /** The answer to the worker's `scale`. */
  answerScale(reply: ScaleReply): void {
    this.outbox.pushControl(controlEnvelope.scaled(reply));
  }

  /**
   * The worker exited: nothing more is written, and nothing more is read but its answers for handed
   * connections, until the channel ends (node reports the exit before it read the channel to its end).
   */
  close(): void {
    this.outbox.close();
    this.closed = true;
    if (!this.worker.isConnected()) return void this.worker.off('message', this.receive);
    this.worker.once('disconnect', () => this.worker.off('message', this.receive));
  }

  private readonly receive = (message: unknown, handle?: unknown): void => {
    // Anything it writes, even the application's own IPC, proves its event loop turns.
    this.lastSeen = Date.now();
    if (!hasClusterNamespace(message)) return; // the application's own IPC
    try {
      if (handle !== undefined) return this.receiveConnection(message as Unchecked, handle as Socket);
      unpack(message, this.read, (reason) => this.says.dropped('malformed', reason));
    } catch (error) {
      this.says.failed(error);
    }
  };

  private readonly read = (item: Unchecked): void => {
    try {
      const read = readFromWorker(item, this.limits, this.identity);
      if (typeof read === 'string') return this.says.dropped('malformed', read);
      if (this.closed && read.kind !== 'accepted') return;
      switch (read.kind) {
        case 'publish':
        case 'send':
        case 'request':
        case 'reply':
          return this.says.message(read);
        case 'hello':
          this.listening = true;
          return this.says.hello();
        case 'ready':
          return this.says.ready(read.notes);
        case 'standby':
          return this.says.standby(read.listening);
        case 'restart':
          return this.says.restart();
        case 'released':
          return this.says.released();
        case 'handlers':
          return this.says.handlers(read.topics);
        case 'credit':
          return this.outbox.credit(read.bytes);
        case 'heartbeat':
          return; // every envelope is a sign of life
        case 'handoff':
          return this.says.dropped('malformed', 'handoff: no connection came with it');
        case 'listen':
          return this.says.listen(read.request);
        case 'accepted':
          return this.says.accepted(read.id, read.accepted);
        case 'scale':
          return this.says.scale(read.request);
      }
    } catch (error) {
      this.says.failed(error);
    }
  };

  private receiveConnection(message: Unchecked, connection: Socket): void {
    // Node started reading it on arrival; what it read now would be lost on the way on.
    stopReading(connection);
    if (this.closed) return void connection.destroy?.();
    const read = readFromWorker(message, this.limits, this.identity);
    if (typeof read === 'string' || read.kind !== 'handoff') {
      connection.destroy?.();
      return this.says.dropped('malformed', typeof read === 'string' ? read : `${read.kind} with a handle`);
    }
    this.says.handedConnection(read.port, connection);
  }

  private write(message: ClusterEnvelope): void {
    if (!this.worker.isConnected()) return;
    try {
      this.worker.send(toWire(message, true));
    } catch {
      // The channel closed between the check and the write: the worker is exiting.
    }
  }
}
