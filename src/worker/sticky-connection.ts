import type { Server as HttpServer } from 'node:http';
import type { Socket } from 'node:net';

/** The count node's own `net.Server` keeps of the connections it accepted (`getConnections` reads it). */
type Counting = HttpServer & { _connections: number };

/**
 * Serves a connection the primary's sticky listener handed over on this worker's HTTP server, as if
 * the server had accepted it: `head` (what the primary read of the request) is put back in front of
 * what is still in the kernel, and the connection is counted with the server's own, so the HTTP drain
 * waits for it. Counted here rather than through the socket's `_server`: on a server that never
 * listened, node would emit `close` on it each time the count drops to zero (and socket.io would
 * close its engine).
 */
export function serveConnection(server: HttpServer, connection: Socket, head: Buffer): void {
  const counting = server as Counting;
  counting._connections += 1;
  connection.once('close', () => (counting._connections -= 1));
  if (head.length > 0) connection.unshift(head);
  server.emit('connection', connection);
  connection.resume();
}
