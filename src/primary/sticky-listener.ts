import type { Logger } from '@nestjs/common';
import { createServer, type Server, type Socket } from 'node:net';
import type { StickyMode } from '../interfaces/bootstrap-options.interface.js';
import { stopReading } from '../channel/connection-handle.js';

/** The longest request line the primary reads to find a session id (browsers send URLs up to 8 KiB). */
export const MAX_REQUEST_LINE_BYTES = 8 * 1024;
/** A connection that has not sent its request line by then is closed. */
export const REQUEST_LINE_TIMEOUT_MS = 10_000;

const REQUEST_LINE = /^[A-Z]+ \S+ HTTP\/\d\.\d$/;
const CRLF = Buffer.from('\r\n');

/** A worker that may be handed connections. */
export interface StickyWorker {
  readonly id: number;
  readonly slot: number;
}

/** Picks the worker of a connection among the ready ones (in slot order, without those that could not take it). */
export type StickyChoice = (ready: readonly StickyWorker[]) => StickyWorker | undefined;

/** What the listener asks of the primary. */
export interface StickyTargets {
  /**
   * Passes the connection, with the bytes already read from it, to the ready worker `choose` picks,
   * and again if that one dies before taking it; with no ready worker it waits for one, a few seconds
   * at most (see `ConnectionHanding`).
   */
  hand(connection: Socket, head: Buffer, choose: StickyChoice): void;
}

/**
 * Sticky sessions: the primary owns the port and hands each connection to one worker, which serves it
 * on its HTTP server without ever listening on the port. With `'sid'` it reads the request line (at
 * most `MAX_REQUEST_LINE_BYTES`), finds the session id, whose first part is the slot that created it,
 * and hands the connection with the bytes it read to that slot's ready worker; the rest of the request
 * (a body of any size) stays in the kernel for the worker to read. A request without a session id,
 * or whose slot has no ready worker, goes to the next ready worker in turn (a session of a worker that
 * is gone gets `Session ID unknown` once and starts anew there). With `'ip'` it reads nothing and picks
 * by a hash of the client's address. A worker that dies before taking a connection handed to it gives
 * it back, and it goes to the worker picked the same way among the others. Nothing of this runs when
 * `sticky` is off.
 */
export class StickyListener {
  private readonly server: Server;
  private turn = 0;
  private listening: Promise<number> | undefined;

  constructor(
    private readonly mode: StickyMode,
    private readonly address: { readonly port: number; readonly host?: string },
    private readonly targets: StickyTargets,
    private readonly logger: Logger,
  ) {
    this.server = createServer({ pauseOnConnect: true }, this.accept);
  }

  /** `listen` was called. */
  get started(): boolean {
    return this.listening !== undefined;
  }

  /** Starts listening (once); resolves with the port, rejects if it cannot listen. */
  listen(): Promise<number> {
    return (this.listening ??= new Promise<number>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.address.port, this.address.host, () => {
        this.server.off('error', reject);
        this.server.on('error', (error) => this.logger.error(`sticky listener: ${error.message}`));
        resolve((this.server.address() as { port: number }).port);
      });
    }));
  }

  /** Stops taking connections; the ones handed on are the workers' to close. */
  close(): void {
    if (this.server.listening) this.server.close();
  }

  private readonly accept = (connection: Socket): void => {
    // A client gone before it is handed on must not throw in the primary.
    connection.on('error', () => connection.destroy());
    if (this.mode === 'ip') return this.targets.hand(connection, Buffer.alloc(0), byAddress(connection.remoteAddress));
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => refuse(connection, 408, 'Request Timeout'), REQUEST_LINE_TIMEOUT_MS);
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      size += chunk.length;
      const head = chunks.length === 1 ? chunk : Buffer.concat(chunks, size);
      const end = head.subarray(0, MAX_REQUEST_LINE_BYTES + CRLF.length).indexOf(CRLF);
      if (end === -1) {
        if (size > MAX_REQUEST_LINE_BYTES) {
          finish();
          refuse(connection, 414, 'URI Too Long');
        }
        return;
      }
      finish();
      // Stopped at the handle: what follows stays in the kernel, for the worker to read.
      connection.pause();
      stopReading(connection);
      const line = head.subarray(0, end).toString('latin1');
      if (!REQUEST_LINE.test(line)) return refuse(connection, 400, 'Bad Request');
      this.targets.hand(connection, head, this.bySession(line));
    };
    const finish = (): void => {
      clearTimeout(timer);
      connection.off('data', onData);
    };
    connection.on('data', onData);
    connection.on('close', () => clearTimeout(timer));
    connection.resume();
  };

  /** The ready worker of the slot named in the session id, else the next one in turn. */
  private bySession(requestLine: string): StickyChoice {
    const slot = sessionSlot(requestLine);
    return (ready) => (slot === undefined ? undefined : ready.find((w) => w.slot === slot)) ?? ready[this.turn++ % ready.length];
  }
}

function byAddress(address: string | undefined): StickyChoice {
  const hash = addressHash(address ?? '');
  return (ready) => (ready.length === 0 ? undefined : ready[hash % ready.length]);
}

/** The slot a session id in the request line's query names (`sid=<slot>.<random>`), if any. */
export function sessionSlot(requestLine: string): number | undefined {
  const match = /[?&]sid=(\d{1,6})\./.exec(requestLine);
  return match ? Number(match[1]) : undefined;
}

/** FNV-1a of the address: the same client address picks the same worker while the ready set stays the same. */
export function addressHash(address: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < address.length; i++) hash = Math.imul(hash ^ address.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

function refuse(connection: Socket, status: number, reason: string): void {
  if (connection.destroyed) return;
  // Not read any further: close once the answer is out rather than wait for the client's end.
  connection.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`, () => connection.destroy());
}
