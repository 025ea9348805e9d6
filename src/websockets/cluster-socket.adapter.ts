import { ClusterAdapter, type ClusterMessage, type ClusterResponse, type Offset, type ServerId } from 'socket.io-adapter';
import type { Subscription } from 'rxjs';
import type { ClusterService } from '../cluster.service.js';
import type { WorkerIdentity } from '../interfaces/cluster-event.interface.js';
import { decodeBinary, encodeBinary } from './binary-payload.js';

/** What the adapter uses of the cluster: membership and messages. */
export type AdapterCluster = Pick<ClusterService, 'self' | 'workers' | 'publish' | 'on' | 'send'>;

/** The namespace as the adapter sees it (socket.io's `Namespace`). */
export interface AdapterNamespace {
  readonly name: string;
}

/** Topic prefix of the adapter's messages; one topic per namespace, and one for the answers. */
export const SOCKET_IO_TOPIC = 'socket.io';

/** A response on its way to the adapter that asked (several adapters of one slot may share a worker over time). */
interface AddressedResponse {
  readonly to: ServerId;
  /** A `ClusterResponse`, binary parts encoded. */
  readonly response: unknown;
}

/**
 * A socket.io adapter whose broadcasts, rooms, `fetchSockets`, `serverSideEmit` and
 * `disconnectSockets` reach every worker of the cluster over `ClusterService`: the workers of this
 * node over IPC, the other nodes over Redis when it is on. Built on socket.io's own `ClusterAdapter`
 * (the base of `@socket.io/cluster-adapter`): messages are `publish`ed on a topic per namespace,
 * answers are `send` to the asking worker's `{ node, slot }`. The number of servers is the number of
 * ready workers the cluster's membership lists, so no heartbeats go between the workers.
 */
export class ClusterSocketAdapter extends ClusterAdapter {
  private readonly topic: string;
  private readonly responseTopic: string;
  private readonly subscriptions: Subscription[];

  constructor(
    nsp: AdapterNamespace,
    private readonly cluster: AdapterCluster,
  ) {
    super(nsp);
    // The server id names the worker, so an answer can be sent to it (the base class draws a random one).
    (this as unknown as { uid: ServerId }).uid = serverIdOf(cluster.self);
    this.topic = `${SOCKET_IO_TOPIC}#${nsp.name}`;
    this.responseTopic = `${SOCKET_IO_TOPIC}#${nsp.name}#response`;
    this.subscriptions = [
      cluster.on<ClusterMessage>(this.topic).subscribe(({ data }) => this.onMessage(decodeBinary(data) as ClusterMessage)),
      cluster.on<AddressedResponse>(this.responseTopic).subscribe(({ data }) => {
        // The slot's worker may have been replaced since it asked: the new one did not.
        if (data.to === this.uid) this.onResponse(decodeBinary(data.response) as ClusterResponse);
      }),
    ];
  }

  /** This worker and the other ready workers of the cluster, as its membership lists them. */
  override serverCount(): Promise<number> {
    const self = this.uid;
    const others = this.cluster.workers().filter((w) => w.state === 'ready' && serverIdOf(w) !== self).length;
    return Promise.resolve(1 + others);
  }

  override close(): void {
    for (const subscription of this.subscriptions) subscription.unsubscribe();
  }

  protected override doPublish(message: ClusterMessage): Promise<Offset> {
    this.cluster.publish(this.topic, encodeBinary(message));
    return Promise.resolve('');
  }

  protected override doPublishResponse(requesterUid: ServerId, response: ClusterResponse): Promise<void> {
    const to = addressOfServer(requesterUid);
    try {
      if (to) this.cluster.send(to, this.responseTopic, { to: requesterUid, response: encodeBinary(response) } satisfies AddressedResponse);
    } catch {
      // The asking worker is gone: nobody waits for this answer any more.
    }
    return Promise.resolve();
  }
}

/**
 * Makes the `adapter` option of a socket.io `Server`: every namespace gets a `ClusterSocketAdapter`
 * over `cluster`.
 *
 * @example
 * ```ts
 * const io = new Server(httpServer, { adapter: createClusterAdapter(cluster) });
 * ```
 */
export function createClusterAdapter(cluster: AdapterCluster): new (nsp: AdapterNamespace) => ClusterSocketAdapter {
  return class extends ClusterSocketAdapter {
    constructor(nsp: AdapterNamespace) {
      super(nsp, cluster);
    }
  };
}

/** `<node>/<slot>/<pid>`: node names hold no `/`. */
function serverIdOf({ node, slot, pid }: Pick<WorkerIdentity, 'node' | 'slot' | 'pid'>): ServerId {
  return `${node}/${slot}/${pid}`;
}

function addressOfServer(uid: ServerId): { node: string; slot: number } | undefined {
  const match = /^(.+)\/(\d+)\/\d+$/.exec(uid);
  return match ? { node: match[1]!, slot: Number(match[2]) } : undefined;
}
