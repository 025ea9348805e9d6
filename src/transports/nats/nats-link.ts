import type { Logger } from '@nestjs/common';
import { Logger as NestLogger } from '@nestjs/common';
import { BrokerLink, type BrokerLinkOptions } from '../broker/broker-link.js';
import { NatsLease } from './nats-lease.js';
import { subjects } from './nats-protocol.js';
import type { ResolvedNatsOptions } from '../../interfaces/bootstrap-options.interface.js';
import { NatsWire } from './nats-wire.js';

export interface NatsLinkOptions extends BrokerLinkOptions {
  readonly url: string;
  /** Credentials and TLS files (option `nats`). */
  readonly nats?: ResolvedNatsOptions;
  /** Delay between reconnection attempts. @default 500 */
  readonly retryMs?: number;
}

/**
 * The NATS link of a node's primary: one connection, for membership, lifecycle events, the leadership
 * lease (a JetStream key-value bucket) and requests routed by topic; workers carry the rest on their
 * lanes (`NatsLane`).
 */
export class NatsLink extends BrokerLink<NatsWire> {
  constructor(options: NatsLinkOptions, logger: Logger = new NestLogger('ClusterNATS')) {
    const subject = subjects(options.name);
    super(
      options,
      'NATS',
      subject,
      (events) =>
        new NatsWire(
          {
            url: options.url,
            settings: options.nats,
            connectionName: `ncl:${options.node}`,
            serialization: options.serialization,
            subjects: [subject.all, subject.node(options.node)],
            retryMs: options.retryMs,
          },
          events,
        ),
      (wire) =>
        new NatsLease(wire, options.name, options.node, {
          unsupported: (bucket) =>
            logger.error(
              `leadership across nodes needs JetStream on the NATS server (a key-value bucket ${bucket}); without it node ${options.node} leads itself, so a @Cron job or @LeaderOnly() method runs once on each node. Start nats-server with -js and restart the nodes`,
            ),
          refused: (reason) => logger.error(`the NATS server refused the leadership lease: ${reason}; trying again`),
        }),
      logger,
    );
  }
}
