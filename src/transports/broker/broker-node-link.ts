import type { Logger } from '@nestjs/common';
import type { Serialization } from '../../messaging/payload-codec.js';
import type { BrokerLinkOptions } from './broker-link.js';

/**
 * What a node's link to the other nodes needs, whichever broker carries it (`redisNodeLink` from
 * `nestjs-cluster/redis`, `natsNodeLink` from `nestjs-cluster/nats`). `bootstrapClustered` makes one
 * from its options when `redisUrl` or `natsUrl` is set; these are for holding a link yourself, e.g. to
 * run `nodeLinkConformance` against it.
 */
export interface BrokerNodeLinkOptions {
  /** The broker's URL (`redis://`, `rediss://`; `nats://`, `tls://`), as in `redisUrl` / `natsUrl`. */
  readonly url: string;
  /** This node's id, unique among the nodes of the cluster (option `nodeId`). */
  readonly node: string;
  /** The cluster's name: nodes of the same name on one broker form one cluster (option `name`). @default 'default' */
  readonly name?: string;
  /** How payloads are encoded; every node of a cluster must use the same (option `serialization`). @default 'json' */
  readonly serialization?: Serialization;
  /** The largest message the link accepts from another node, in bytes (option `messaging.maxMessageBytes`). @default 1048576 */
  readonly maxMessageBytes?: number;
  /** How often the node says it is alive. @default 2000 */
  readonly heartbeatMs?: number;
  /** A node silent this long has left. @default 6000 */
  readonly expiryMs?: number;
  /** Delay between reconnection attempts. @default 500 */
  readonly retryMs?: number;
  /** Where the link says what happened to it (lost, back, refused). @default a Nest `Logger` named after the broker */
  readonly logger?: Logger;
}

/** `options` with the defaults of `bootstrapClustered` filled in. */
export function brokerLinkOptions(options: BrokerNodeLinkOptions): BrokerLinkOptions & { readonly url: string; readonly retryMs?: number } {
  const { url, node, name = 'default', serialization = 'json', maxMessageBytes = 1_048_576, heartbeatMs, expiryMs, retryMs } = options;
  return { url, node, name, serialization, maxMessageBytes, heartbeatMs, expiryMs, retryMs };
}
