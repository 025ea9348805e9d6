/**
 * `nestjs-cluster/redis`: the nodes of a cluster over Redis pub/sub (`ioredis` is an optional peer,
 * loaded only here). `bootstrapClustered` uses it when `CLUSTER_REDIS_URL` or `redisUrl` is set.
 */
export { RedisLink, type RedisLinkOptions } from './redis-link.js';
export { channels } from './redis-protocol.js';
export type { RedisLease } from './redis-lease.js';
export type { LocalNode, NodeLink } from '../node-link.interface.js';
export type { LeaderLease } from '../../leadership/lease-keeper.js';
