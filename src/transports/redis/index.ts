/**
 * `nestjs-cluster/redis`: the link between the nodes of a cluster over Redis. Its client, `ioredis`, is
 * an optional peer that only this folder imports. Setting `redisUrl` (`CLUSTER_REDIS_URL`) is all an
 * application needs: the primary loads the link then. Import this entry to hold a node's link
 * yourself, e.g. to run `nodeLinkConformance` (from `nestjs-cluster/testing`) against it.
 */
import type { NodeLink } from '../node-link.interface.js';
import { brokerLinkOptions, type BrokerNodeLinkOptions } from '../broker/broker-node-link.js';
import { RedisLink } from './redis-link.js';

export type { BrokerNodeLinkOptions } from '../broker/broker-node-link.js';
export type { LocalNode, NodeLink } from '../node-link.interface.js';
export type { LeaderLease } from '../../leadership/lease-keeper.js';

/** A node's link to the other nodes of its cluster over Redis: membership, lifecycle events, the leadership lease, requests routed by topic. */
export function redisNodeLink(options: BrokerNodeLinkOptions): NodeLink {
  return new RedisLink(brokerLinkOptions(options), options.logger);
}
