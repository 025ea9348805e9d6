import type { Logger } from '@nestjs/common';
import { CLUSTER_ENV } from '../cluster-options.js';
import { EXIT_CODES } from '../cluster.constants.js';
import { describeError } from '../common/describe-error.js';
import type { ResolvedClusterOptions } from '../interfaces/bootstrap-options.interface.js';
import type { WorkerIdentity } from '../interfaces/cluster-event.interface.js';
import type { MessageLane } from './message-lane.interface.js';
import type { NodeLink } from './node-link.interface.js';

/**
 * The link to the other nodes when `redisUrl` (`CLUSTER_REDIS_URL`) is set, else `undefined`. The
 * Redis client is loaded only then, so `ioredis` stays an optional peer; without it the process logs
 * what to install and exits 78, as for any configuration error.
 */
export async function loadNodeLink(options: ResolvedClusterOptions, logger: Logger): Promise<NodeLink | undefined> {
  if (options.redisUrl === undefined) return undefined;
  const redis = await loadRedis(() => import('./redis/redis-link.js'), logger);
  const { nodeId: node, name, serialization, messaging } = options;
  return new redis.RedisLink({ url: options.redisUrl, name, node, serialization, maxMessageBytes: messaging.maxMessageBytes });
}

/**
 * The lane of the process `self` (a worker, or a standalone node) to the workers of other nodes, when
 * the cluster spans several (`redisUrl`), else `undefined`.
 */
export async function loadMessageLane(options: ResolvedClusterOptions, self: WorkerIdentity, logger: Logger): Promise<MessageLane | undefined> {
  if (options.redisUrl === undefined) return undefined;
  const redis = await loadRedis(() => import('./redis/redis-lane.js'), logger);
  const { name, serialization, messaging } = options;
  return new redis.RedisLane({ url: options.redisUrl, name, self, serialization, maxMessageBytes: messaging.maxMessageBytes });
}

async function loadRedis<Module>(load: () => Promise<Module>, logger: Logger): Promise<Module> {
  try {
    return await load();
  } catch (error) {
    logger.error(`${CLUSTER_ENV.redisUrl} is set but the Redis client could not be loaded (npm install ioredis): ${describeError(error)}`);
    process.exit(EXIT_CODES.badConfig);
  }
}
