import type { Logger } from '@nestjs/common';
import { BrokerLane, type BrokerLaneOptions } from '../broker/broker-lane.js';
import { subjects } from './nats-protocol.js';
import type { ResolvedNatsOptions } from '../../interfaces/bootstrap-options.interface.js';
import { NatsWire } from './nats-wire.js';

export interface NatsLaneOptions extends BrokerLaneOptions {
  readonly url: string;
  /** Credentials and TLS files (option `nats`). */
  readonly nats?: ResolvedNatsOptions;
  /** The cluster's name (`CLUSTER_NAME`): it names the subjects. */
  readonly name: string;
  /** Delay between reconnection attempts. @default 500 */
  readonly retryMs?: number;
}

/**
 * A process's lane on NATS: one connection of its own, hearing the cluster's publish subject and the
 * subject of this one process. A request written to a process nobody hears any more comes back as the
 * server's "no responders" status, so it fails at once.
 */
export class NatsLane extends BrokerLane<NatsWire> {
  constructor(options: NatsLaneOptions, logger?: Logger) {
    const subject = subjects(options.name);
    const { self } = options;
    super(
      options,
      'NATS',
      subject,
      (events) =>
        new NatsWire(
          {
            url: options.url,
            settings: options.nats,
            connectionName: `ncl:${self.node}:${self.slot}:${self.pid}`,
            serialization: options.serialization,
            subjects: [subject.published, subject.worker(self)],
            noResponders: subject.noResponders(self),
            retryMs: options.retryMs,
          },
          events,
        ),
      logger,
    );
  }
}
