import type { Server as HttpServer } from 'node:http';
import type { Socket } from 'node:net';

/**
 * What node's own `net.Server` keeps: the count of the connections it accepted (`getConnections`
 * reads it), and the socket options it sets on each (an HTTP server's `noDelay` is on by default).
 */
type Accepting = HttpServer & { _connections: number; noDelay?: boolean; keepAlive?: boolean; keepAliveInitialDelay?: number };

/**
 * Serves a connection the primary's sticky listener handed over on this worker's HTTP server, as if
 * the server had accepted it: `head` (what the primary read of the request) is put back in front of
 * what is still in the kernel, and the connection is counted with the server's own, so the HTTP drain
 * waits for it. Counted here rather than through the socket's `_server`: on a server that never
 * listened, node would emit `close` on it each time the count drops to zero (and socket.io would
 * close its engine). The socket options the server would have set on accepting it are set here too:
 * without `noDelay`, a response written in more than one piece waits on the client's delayed ACK.
 */
export function serveConnection(server: HttpServer, connection: Socket, head: Buffer): void {
  const accepting = server as Accepting;
  if (accepting.noDelay) connection.setNoDelay(true);
  if (accepting.keepAlive) connection.setKeepAlive(true, accepting.keepAliveInitialDelay);
  accepting._connections += 1;
  connection.once('close', () => (accepting._connections -= 1));
  if (head.length > 0) connection.unshift(head);
  server.emit('connection', connection);
  connection.resume();
}
