import type { Logger } from '@nestjs/common';
import { BrokerLane, type BrokerLaneOptions } from '../broker/broker-lane.js';
import { channels } from './redis-protocol.js';
import { RedisPair } from './redis-pair.js';

export interface RedisLaneOptions extends BrokerLaneOptions {
  readonly url: string;
  /** The cluster's name (`CLUSTER_NAME`): it names the channels. */
  readonly name: string;
  /** Delay between reconnection attempts. @default 500 */
  readonly retryMs?: number;
}

/**
 * A process's lane on Redis: a publisher and a subscriber connection of its own, listening on the
 * cluster's publish channel and on the channel of this one process. A `PUBLISH` to a process that
 * nobody hears any more (it exited) is reported at once, so a request to it fails without waiting.
 */
export class RedisLane extends BrokerLane<RedisPair> {
  constructor(options: RedisLaneOptions, logger?: Logger) {
    const channel = channels(options.name);
    const { self } = options;
    super(
      options,
      'Redis',
      channel,
      (events) =>
        new RedisPair(
          {
            url: options.url,
            connectionName: `ncl:${self.node}:${self.slot}:${self.pid}`,
            serialization: options.serialization,
            channels: [channel.published, channel.worker(self)],
            retryMs: options.retryMs,
          },
          events,
        ),
      logger,
    );
  }
}
