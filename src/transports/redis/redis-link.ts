import type { Logger } from '@nestjs/common';
import { BrokerLink, type BrokerLinkOptions } from '../broker/broker-link.js';
import { channels } from './redis-protocol.js';
import { RedisLease } from './redis-lease.js';
import { RedisPair } from './redis-pair.js';

export interface RedisLinkOptions extends BrokerLinkOptions {
  readonly url: string;
  /** Delay between reconnection attempts. @default 500 */
  readonly retryMs?: number;
}

/**
 * The Redis link of a node's primary: one publisher and one subscriber connection, for membership,
 * lifecycle events, the leadership lease (`SET NX PX`) and requests routed by topic; workers carry the
 * rest on their lanes (`RedisLane`).
 */
export class RedisLink extends BrokerLink<RedisPair> {
  constructor(options: RedisLinkOptions, logger?: Logger) {
    const channel = channels(options.name);
    super(
      options,
      'Redis',
      channel,
      (events) =>
        new RedisPair(
          {
            url: options.url,
            connectionName: `ncl:${options.node}`,
            serialization: options.serialization,
            channels: [channel.all, channel.node(options.node)],
            retryMs: options.retryMs,
          },
          events,
        ),
      (wire) => new RedisLease(wire.publisher, options.name, options.node),
      logger,
    );
  }
}
