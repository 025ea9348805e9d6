import cluster from 'node:cluster';
import { getSystemErrorMap } from 'node:util';
import type { ListenReply, ListenRequest } from '../channel/channel-to-primary.js';
import type { BareHandle } from '../channel/connection-handle.js';

/**
 * What a server of a worker asks node:cluster when it listens (`cluster._getServer(server, query,
 * callback)`, node's `lib/internal/cluster/child.js`): `net` calls it for every listen of a worker
 * that is not `exclusive`, and listens on the handle it gets back.
 */
interface ServerQuery {
  readonly address?: string | null;
  readonly port?: number;
  /** 4 or 6 for TCP; `'udp4'`/`'udp6'` for dgram; -1 for a pipe. */
  readonly addressType?: number | string;
  readonly fd?: number;
}
type GetServer = (server: object, query: ServerQuery, callback: (errno: number, handle?: object) => void) => void;

/** What node's `net.Server` counts and bounds. */
interface CountedServer {
  readonly maxConnections?: number;
  readonly _connections?: number;
}

/**
 * The listening handle a server of this worker gets for a port the primary listens on: node's `net`
 * sets `onconnection` on it, as on a handle of its own, and the connections the primary hands come
 * through it, accepted as node accepts any (socket options, `maxConnections`, the server's count).
 * The same shape as node:cluster's own round-robin handle.
 */
interface PrimaryPortHandle {
  onconnection?: (status: number, connection: BareHandle) => void;
  listen(backlog: number): number;
  close(): void;
  ref(): void;
  unref(): void;
  getsockname(out: object): number;
}

/**
 * `distribution: 'primary'`: every TCP server of this worker (the HTTP server, a TCP microservice's,
 * whatever `listen` hook made them) listens through the primary, which owns the port and hands each
 * connection to a worker (see `PortListeners`). Done where node:cluster itself asks the primary for
 * a server, so apps listen as they always do and their servers do not know the difference. Pipes,
 * file descriptors, UDP and `exclusive` listens go on as node:cluster does them.
 */
export class ListeningThroughPrimary {
  private readonly servers = new Map<number, { readonly server: CountedServer; readonly handle: PrimaryPortHandle }>();
  /** The n-th server of this worker on each address and port (servers on port 0 each get a port). */
  private readonly indexes = new Map<string, number>();

  constructor(private readonly ask: (request: Omit<ListenRequest, 'seq'>) => Promise<ListenReply>) {}

  /** From now on; `false` if this is no worker of node:cluster (nothing changes then). */
  install(): boolean {
    const workerSide = cluster as unknown as { _getServer?: GetServer };
    const nodeOwn = workerSide._getServer;
    if (typeof nodeOwn !== 'function') return false;
    workerSide._getServer = (server, query, callback) => {
      const { address = null, port } = query;
      if ((query.addressType !== 4 && query.addressType !== 6) || typeof port !== 'number' || port < 0 || (query.fd ?? -1) >= 0) {
        return nodeOwn.call(cluster, server, query, callback);
      }
      const indexKey = `${address}:${port}`;
      const index = this.indexes.get(indexKey) ?? 0;
      this.indexes.set(indexKey, index + 1);
      void this.ask({ port, address, index }).then((reply) =>
        'error' in reply ? callback(errnoOf(reply.error)) : callback(0, this.handleFor(server as CountedServer, reply)),
      );
    };
    return true;
  }

  /** Serves a connection the primary accepted on `port` on this worker's server there; `false` if none listens there now, or it is full. */
  serve(port: number, connection: BareHandle): boolean {
    const entry = this.servers.get(port);
    if (!entry?.handle.onconnection) return false;
    const { maxConnections, _connections = 0 } = entry.server;
    if (maxConnections != null && _connections >= maxConnections) return false;
    entry.handle.onconnection(0, connection);
    return true;
  }

  private handleFor(server: CountedServer, where: Extract<ListenReply, { port: number }>): PrimaryPortHandle {
    const { port, address, family } = where;
    const handle: PrimaryPortHandle = {
      listen: () => 0,
      // The server closed (a drain): connections handed from now on are refused, and the primary hands them elsewhere.
      close: () => {
        if (this.servers.get(port)?.handle === handle) this.servers.delete(port);
      },
      ref: () => undefined,
      unref: () => undefined,
      getsockname: (out) => {
        Object.assign(out, { address, family, port });
        return 0;
      },
    };
    this.servers.set(port, { server, handle });
    return handle;
  }
}

/** node's (negative) error number of a code such as `EADDRINUSE`, for the `listen` error `net` builds from it. */
function errnoOf(code: string): number {
  for (const [errno, [name]] of getSystemErrorMap()) if (name === code) return errno;
  return -22; // EINVAL
}
