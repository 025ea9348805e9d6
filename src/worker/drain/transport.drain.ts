import type { Socket } from 'node:net';
import type { InFlightWork } from './in-flight-work.js';
import { netServerOf, portOf, type TransportServer } from './transport-server.js';

/**
 * A TCP client (Nest's `ClientTCP`) keeps its connection and reuses it without warning: one closed
 * under it fails the request it was writing. With nobody to take its connections over (the whole
 * cluster stops), a draining worker keeps answering on them and closes one only once nothing was in
 * flight on it and nothing arrived for this long.
 */
const TCP_IDLE_GRACE_MS = 1_000;
const DRAIN_POLL_MS = 25;

/** Passes an open connection of the TCP transport on `port` to another worker; resolves once passed. */
export type HandOff = (port: number, connection: Socket) => Promise<void>;

/**
 * Drains microservice transports in the order the HTTP drain uses:
 * 1. stop taking new work: a TCP transport stops accepting connections (in a cluster worker the
 *    primary hands it no more); a broker transport (NATS) unsubscribes its handlers, so the broker
 *    gives their messages to the other workers of the queue group;
 * 2. let the work in flight finish, request and event handlers alike. Open TCP connections keep being
 *    answered; with `handOff` (a rolling restart: the replacement is ready), each one is passed to
 *    the replacement at its first quiet moment (nothing in flight, nothing unwritten, nothing
 *    half-read), so its client never sees it close; without, each is closed once idle;
 * 3. at `deadlineMs`, stop waiting. Resolves with the number of messages still in flight then: work
 *    that `app.close()` will cut.
 */
export async function drainTransports(
  transports: readonly TransportServer[],
  work: InFlightWork,
  deadlineMs: number,
  handOff?: HandOff,
): Promise<number> {
  if (transports.length === 0) return 0;
  const connections = new Map<Socket, { port: number; lastActive: number }>();
  const passing = new Set<Promise<void>>();
  for (const transport of transports) {
    const server = netServerOf(transport);
    if (server) {
      const port = portOf(transport) ?? 0;
      if (server.listening) server.close();
      for (const socket of transport.openSockets!) watch(socket, port, connections);
    } else {
      for (const subscription of transport.subscriptions ?? []) subscription.unsubscribe();
    }
  }

  /** Passes the connection on if it is quiet right now; `true` if it is gone from this worker. */
  const tryHandOff = (socket: Socket): boolean => {
    const entry = connections.get(socket);
    if (!entry || !handOff || entry.port === 0) return false;
    if (work.countOn(socket) > 0 || socket.writableLength > 0 || !work.isBetweenMessages(socket)) return false;
    connections.delete(socket);
    socket.pause();
    const passed = handOff(entry.port, socket).finally(() => passing.delete(passed));
    passing.add(passed);
    return true;
  };
  if (handOff) {
    // Right after a connection's last answer is written: the moment a client is least likely to be mid-request.
    work.onConnectionIdle = (socket) => setImmediate(() => tryHandOff(socket));
  }
  try {
    const started = Date.now();
    for (;;) {
      const now = Date.now();
      for (const [socket, { lastActive }] of connections) {
        if (socket.destroyed || socket.writableEnded) connections.delete(socket);
        else if (tryHandOff(socket)) continue;
        else if (!handOff && work.countOn(socket) === 0 && now - lastActive >= TCP_IDLE_GRACE_MS) {
          socket.end();
          connections.delete(socket);
        }
      }
      if (work.count === 0 && connections.size === 0) {
        await Promise.all(passing);
        return 0;
      }
      // Open but idle connections are closed by app.close(): only work in flight counts as cut.
      if (now - started >= deadlineMs) return work.count;
      await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
    }
  } finally {
    work.onConnectionIdle = undefined;
  }
}

/** Notes when each connection last carried anything (listeners added only now). */
function watch(socket: Socket, port: number, connections: Map<Socket, { port: number; lastActive: number }>): void {
  const entry = { port, lastActive: Date.now() };
  connections.set(socket, entry);
  socket.on('data', () => (entry.lastActive = Date.now()));
}
