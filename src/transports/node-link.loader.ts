import type { Logger } from '@nestjs/common';
import { CLUSTER_ENV } from '../cluster-options.js';
import { EXIT_CODES } from '../cluster.constants.js';
import { describeError } from '../common/describe-error.js';
import type { ResolvedClusterOptions } from '../interfaces/bootstrap-options.interface.js';
import type { WorkerIdentity } from '../interfaces/cluster-event.interface.js';
import type { MessageLane } from './message-lane.interface.js';
import type { NodeLink } from './node-link.interface.js';

/**
 * The link to the other nodes when `redisUrl` (`CLUSTER_REDIS_URL`) or `natsUrl` (`CLUSTER_NATS_URL`) is
 * set, else `undefined`. The broker's client is loaded only then, so it stays an optional peer; without
 * it the process logs what to install and exits 78, as for any configuration error.
 */
export async function loadNodeLink(options: ResolvedClusterOptions, logger: Logger): Promise<NodeLink | undefined> {
  const { nodeId: node, name, serialization, messaging } = options;
  const common = { name, node, serialization, maxMessageBytes: messaging.maxMessageBytes };
  if (options.redisUrl !== undefined) {
    const { RedisLink } = await load(() => import('./redis/redis-link.js'), CLUSTER_ENV.redisUrl, 'ioredis', logger);
    return new RedisLink({ url: options.redisUrl, ...common });
  }
  if (options.natsUrl !== undefined) {
    const { NatsLink } = await load(() => import('./nats/nats-link.js'), CLUSTER_ENV.natsUrl, '@nats-io/transport-node', logger);
    return new NatsLink({ url: options.natsUrl, nats: options.nats, ...common });
  }
  return undefined;
}

/**
 * The lane of the process `self` (a worker, or a standalone node) to the workers of other nodes, when
 * the cluster spans several (`redisUrl` or `natsUrl`), else `undefined`.
 */
export async function loadMessageLane(options: ResolvedClusterOptions, self: WorkerIdentity, logger: Logger): Promise<MessageLane | undefined> {
  const { name, serialization, messaging } = options;
  const common = { name, self, serialization, maxMessageBytes: messaging.maxMessageBytes };
  if (options.redisUrl !== undefined) {
    const { RedisLane } = await load(() => import('./redis/redis-lane.js'), CLUSTER_ENV.redisUrl, 'ioredis', logger);
    return new RedisLane({ url: options.redisUrl, ...common });
  }
  if (options.natsUrl !== undefined) {
    const { NatsLane } = await load(() => import('./nats/nats-lane.js'), CLUSTER_ENV.natsUrl, '@nats-io/transport-node', logger);
    return new NatsLane({ url: options.natsUrl, nats: options.nats, ...common });
  }
  return undefined;
}

async function load<Module>(module: () => Promise<Module>, variable: string, client: string, logger: Logger): Promise<Module> {
  try {
    return await module();
  } catch (error) {
    logger.error(`${variable} is set but its client could not be loaded (npm install ${client}): ${describeError(error)}`);
    process.exit(EXIT_CODES.badConfig);
  }
}
