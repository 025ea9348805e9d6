import type { Server as HttpServer } from 'node:http';
import type { Socket } from 'node:net';

/** What node's own `net.Server` keeps on a connection it accepted, and the count it keeps. */
type Accepted = Socket & { server?: HttpServer; _server?: HttpServer };
type Counting = HttpServer & { _connections: number };

/**
 * Serves a connection the primary's sticky listener handed over on this worker's HTTP server, as if
 * the server had accepted it: `head` (what the primary read of the request) is put back in front of
 * what is still in the kernel, and the connection is counted by the server, so `getConnections`, the
 * HTTP drain and `server.close()` wait for it as for their own.
 */
export function serveConnection(server: HttpServer, connection: Socket, head: Buffer): void {
  const accepted = connection as Accepted;
  accepted.server = server;
  // node:net counts down through `_server` when the connection closes.
  accepted._server = server;
  (server as Counting)._connections += 1;
  if (head.length > 0) connection.unshift(head);
  server.emit('connection', connection);
  connection.resume();
}
