import type { Logger } from '@nestjs/common';
import { CLUSTER_ENV } from '../cluster-options.js';
import { EXIT_CODES } from '../cluster.constants.js';
import { describeError } from '../common/describe-error.js';
import type { ResolvedClusterOptions } from '../interfaces/bootstrap-options.interface.js';
import type { NodeLink } from './node-link.interface.js';

/**
 * The link to the other nodes when `redisUrl` (`CLUSTER_REDIS_URL`) is set, else `undefined`. The
 * Redis client is loaded only then, so `ioredis` stays an optional peer; without it the process logs
 * what to install and exits 78, as for any configuration error.
 */
export async function loadNodeLink(options: ResolvedClusterOptions, logger: Logger): Promise<NodeLink | undefined> {
  if (options.redisUrl === undefined) return undefined;
  let redis: typeof import('./redis/redis-link.js');
  try {
    redis = await import('./redis/redis-link.js');
  } catch (error) {
    logger.error(`${CLUSTER_ENV.redisUrl} is set but the Redis client could not be loaded (npm install ioredis): ${describeError(error)}`);
    process.exit(EXIT_CODES.badConfig);
  }
  const { nodeId: node, name, serialization, messaging } = options;
  return new redis.RedisLink({ url: options.redisUrl, name, node, serialization, maxMessageBytes: messaging.maxMessageBytes });
}
