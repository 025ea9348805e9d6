import type { Logger } from '@nestjs/common';
import type { Socket } from 'node:net';
import { bareHandleOf } from '../channel/connection-handle.js';
import { HandedConnections } from './handed-connections.js';
import type { Member } from './slot-table.js';

/** How long a connection waits for a ready worker (none is ready: all crashed, or the first still boots) before it is closed. */
export const CONNECTION_WAIT_MS = 5_000;
/** Connections that may wait for a ready worker at once; one more is closed at once. */
export const MAX_WAITING_CONNECTIONS = 10_000;
/**
 * After a worker's exit, how long the rest of what it wrote on its channel is awaited: node reports the
 * exit before it has read the channel to its end, where answers for connections may still be.
 */
const LAST_WORDS_MS = 500;

/** A connection the primary accepted, on its way to a worker. */
export interface Arrival {
  readonly connection: Socket;
  /** The port it arrived on. */
  readonly port: number;
  /**
   * The bytes the primary read from it (sticky sessions), for the worker's HTTP server to put back in
   * front. Absent: nothing was read, and it goes as a bare handle to the worker's server on `port`.
   */
  readonly head?: Buffer;
  /** The ready worker to take it, none of `refused` (they refused it, or died before taking it). */
  pick(refused: ReadonlySet<Member>): Member | undefined;
}

interface Journey extends Arrival {
  readonly refused: Set<Member>;
  timer?: NodeJS.Timeout;
}

/**
 * Hands each connection the primary accepted to a worker, and keeps its own copy until the worker
 * says it took it. A worker that dies before that (SIGKILL, a crash) gives its untaken connections
 * back: they go to another ready worker, so their clients are answered instead of left waiting. One a
 * worker had taken dies with that worker, as it would on its own: the kernel closes it, its client sees
 * it at once. With no ready worker, a connection waits for one, `CONNECTION_WAIT_MS` at most, then is
 * closed: never left open with nobody to answer.
 */
export class ConnectionHanding {
  private readonly held = new HandedConnections<Member, Journey>();
  private readonly waiting = new Set<Journey>();
  private closed = false;

  constructor(
    private readonly logger: Logger,
    private readonly waitMs = CONNECTION_WAIT_MS,
  ) {}

  /** Connections handed and not yet taken, and connections waiting for a ready worker. */
  get counts(): { held: number; waiting: number } {
    return { held: this.held.size, waiting: this.waiting.size };
  }

  hand(arrival: Arrival): void {
    const { connection, port, head, pick } = arrival;
    this.send({ connection, port, head, pick, refused: new Set() });
  }

  /** The worker took the connection it was handed as `id` (`accepted`), or could not. */
  answered(member: Member, id: number, accepted: boolean): void {
    const journey = this.held.settle(member, id);
    if (!journey) return; // not one handed to it (or it answered twice)
    if (accepted) return void journey.connection.destroy(); // its copy lives on in the worker
    journey.refused.add(member);
    this.send(journey);
  }

  /** A worker is ready: the connections waiting for one go now. */
  workerReady(): void {
    if (this.waiting.size === 0) return;
    const waiting = [...this.waiting];
    this.waiting.clear();
    for (const journey of waiting) {
      clearTimeout(journey.timer);
      this.send(journey);
    }
  }

  /** A worker exited: what it was handed and never took goes to another worker, once its channel has said its last. */
  workerGone(member: Member): void {
    if (this.held.heldBy(member) === 0) return;
    const { worker } = member.process;
    if (!worker.isConnected()) return this.handOnFrom(member);
    const done = (): void => {
      clearTimeout(timer);
      worker.off('disconnect', done);
      this.handOnFrom(member);
    };
    const timer = setTimeout(done, LAST_WORDS_MS);
    worker.once('disconnect', done);
  }

  /** The cluster stops: waiting connections are closed, and so is any a worker gives back from now on. */
  close(): void {
    this.closed = true;
    for (const journey of this.waiting) {
      clearTimeout(journey.timer);
      journey.connection.destroy();
    }
    this.waiting.clear();
  }

  private handOnFrom(member: Member): void {
    const untaken = this.held.release(member);
    if (untaken.length === 0) return;
    const { slot, pid } = member.identity;
    this.logger.log(`worker ${slot} (pid ${pid}) exited before taking ${untaken.length} connection(s) handed to it: handed to another worker`);
    for (const journey of untaken) {
      journey.refused.add(member);
      this.send(journey);
    }
  }

  private send(journey: Journey): void {
    const { connection, port, head } = journey;
    for (;;) {
      if (this.closed || connection.destroyed) return void connection.destroy();
      const target = journey.pick(journey.refused);
      if (!target) return this.wait(journey);
      const handle = head === undefined ? bareHandleOf(connection) : connection;
      if (!handle) return void connection.destroy();
      const id = this.held.hold(target, journey);
      if (target.channel.handConnection(port, handle, { head, id, failed: () => this.undelivered(target, id) })) return;
      // Its channel closed: the connection is still ours, for another worker.
      this.held.settle(target, id);
      journey.refused.add(target);
    }
  }

  /** The write of a handed connection failed after it was queued: another worker gets it. */
  private undelivered(target: Member, id: number): void {
    const journey = this.held.settle(target, id);
    if (!journey) return;
    journey.refused.add(target);
    this.send(journey);
  }

  private wait(journey: Journey): void {
    if (this.waiting.size >= MAX_WAITING_CONNECTIONS) return void journey.connection.destroy();
    this.waiting.add(journey);
    journey.timer = setTimeout(() => {
      this.waiting.delete(journey);
      journey.connection.destroy();
    }, this.waitMs);
    journey.timer.unref();
  }
}
