import { Logger, type INestApplicationContext } from '@nestjs/common';
import { describeError } from '../common/describe-error.js';
import { IoAdapter } from '@nestjs/platform-socket.io';
import type { Server, ServerOptions } from 'socket.io';
import { ClusterArgumentError, ClusterError } from '../cluster.errors.js';
import { ClusterService } from '../cluster.service.js';
import { createClusterAdapter } from './cluster-socket.adapter.js';
import { slotSessionId } from './session-id.js';

/**
 * Nest's socket.io adapter for a clustered app: every socket.io server it creates
 * - broadcasts, joins rooms, fetches sockets and emits server-side across every worker of the
 *   cluster (`ClusterSocketAdapter`: IPC between the workers of a node, Redis between nodes);
 * - names its sessions after this worker's slot, so that the primary's sticky listener
 *   (`sticky: 'sid'`) hands every request of a session to the worker that holds it;
 * - closes its clients' connections as soon as this worker begins to drain (rolling restart, shutdown):
 *   they reconnect, through the primary, to a worker that stays.
 *
 * `ClusterService` comes from the app: import `ClusterModule` in it.
 *
 * @example
 * ```ts
 * await bootstrapClustered(AppModule, {
 *   sticky: 'sid',
 *   configure: (app) => app.useWebSocketAdapter(new ClusterIoAdapter(app)),
 * });
 * ```
 */
export class ClusterIoAdapter extends IoAdapter {
  private readonly cluster: ClusterService;
  private readonly drainLogger = new Logger('ClusterIoAdapter');

  constructor(app: INestApplicationContext) {
    super(app);
    this.cluster = clusterServiceOf(app);
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    // socket.io types its option as its in-memory adapter's class; any subclass of it will do.
    const adapter = createClusterAdapter(this.cluster) as unknown as ServerOptions['adapter'];
    const server = super.createIOServer(port, { ...options, adapter } as ServerOptions);
    // Read at each new session: a warm standby creates its servers before it has a slot.
    server.engine.generateId = () => slotSessionId(this.cluster.self.slot);
    // Transport close, not a server-side disconnect: the clients reconnect on their own.
    this.cluster.draining$.subscribe(() => {
      try {
        server.engine.close();
      } catch (error) {
        this.drainLogger.error(`closing the socket.io clients for the drain failed: ${describeError(error)}`);
      }
    });
    return server;
  }
}

function clusterServiceOf(app: INestApplicationContext): ClusterService {
  try {
    return app.get(ClusterService, { strict: false });
  } catch {
    // No ClusterModule in the app: said below, in words that name the fix.
  }
  throw new ClusterError(
    'ClusterIoAdapter needs ClusterService from the app: import ClusterModule.forRoot() in the app module.',
    ClusterArgumentError.code,
  );
}
