import type { Socket } from 'node:net';
import type { ProcessingEndHook, ProcessingStartHook, TransportServer } from './transport-server.js';

/**
 * The messages a microservice is still processing, request handlers and event handlers alike, counted
 * through Nest's own processing hooks: Nest calls a start hook and an end hook for every message
 * anyway (no-ops by default); ours add a counter, which is all a drain needs to wait for exactly the
 * work in flight. It cannot be learned at drain time: nothing records work that began before. Work on
 * a TCP connection is also counted per connection, so each one can be closed once idle.
 */
export class InFlightWork {
  private total = 0;
  private readonly byConnection = new Map<Socket, number>();
  /** Each TCP connection's framing (Nest's `JsonSocket`), whose buffer holds a half-read message. */
  private readonly framing = new WeakMap<Socket, { readonly buffer?: unknown }>();
  private readonly tracked = new WeakSet<TransportServer>();
  /** Set by a drain only: told when a connection has nothing left in flight. */
  onConnectionIdle: ((connection: Socket) => void) | undefined;

  get count(): number {
    return this.total;
  }

  /** Work in flight on one TCP connection. */
  countOn(connection: Socket): number {
    return this.byConnection.get(connection) ?? 0;
  }

  /**
   * Nothing is half-read on the connection: no partial message in its framing buffer (or, for one
   * that never carried a whole message, nothing read at all).
   */
  isBetweenMessages(connection: Socket): boolean {
    if (connection.readableLength > 0) return false;
    const framing = this.framing.get(connection);
    return framing ? framing.buffer === '' || framing.buffer === undefined : connection.bytesRead === 0;
  }

  /**
   * Counts the transport's messages from now on, chaining hooks already set (an instrumentation's).
   * `false` when the transport has no processing hooks (older Nest): its work cannot be waited for.
   */
  track(transport: TransportServer): boolean {
    if (this.tracked.has(transport)) return true;
    if (typeof transport.setOnProcessingStartHook !== 'function' || typeof transport.setOnProcessingEndHook !== 'function') {
      return false;
    }
    const previousStart = transport.onProcessingStartHook;
    const previousEnd = transport.onProcessingEndHook;
    const start: ProcessingStartHook = (transportId, context, done) => {
      this.begin(context);
      return previousStart ? previousStart.call(transport, transportId, context, done) : done();
    };
    const end: ProcessingEndHook = (transportId, context) => {
      this.end(context);
      previousEnd?.call(transport, transportId, context);
    };
    transport.setOnProcessingStartHook(start);
    transport.setOnProcessingEndHook(end);
    this.tracked.add(transport);
    return true;
  }

  private begin(context: unknown): void {
    this.total += 1;
    const framing = framingOf(context);
    const connection = framing?.netSocket;
    if (!connection) return;
    this.byConnection.set(connection, this.countOn(connection) + 1);
    if (!this.framing.has(connection)) this.framing.set(connection, framing);
  }

  private end(context: unknown): void {
    this.total -= 1;
    const connection = framingOf(context)?.netSocket;
    if (!connection) return;
    const left = this.countOn(connection) - 1;
    if (left > 0) return void this.byConnection.set(connection, left);
    this.byConnection.delete(connection);
    this.onConnectionIdle?.(connection);
  }
}

/** The framing (`TcpContext#getSocketRef()`, a `JsonSocket`) and TCP connection a message came on, if any. */
function framingOf(context: unknown): { readonly netSocket?: Socket; readonly buffer?: unknown } | undefined {
  return (context as { getSocketRef?: () => { netSocket?: Socket; buffer?: unknown } } | undefined)?.getSocketRef?.();
}
