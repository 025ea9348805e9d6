/**
 * `nestjs-cluster/nats`: the link between the nodes of a cluster over NATS. Its client,
 * `@nats-io/transport-node` (with `@nats-io/kv` for the leadership lease, which needs JetStream), is
 * an optional peer that only this folder imports. Setting `natsUrl` (`CLUSTER_NATS_URL`) is all an
 * application needs: the primary loads the link then. Import this entry to hold a node's link
 * yourself, e.g. to run `nodeLinkConformance` (from `nestjs-cluster/testing`) against it.
 */
import type { ClusterNatsOptions } from '../../interfaces/bootstrap-options.interface.js';
import type { NodeLink } from '../node-link.interface.js';
import { brokerLinkOptions, type BrokerNodeLinkOptions } from '../broker/broker-node-link.js';
import { NatsLink } from './nats-link.js';

export type { BrokerNodeLinkOptions } from '../broker/broker-node-link.js';
export type { LocalNode, NodeLink } from '../node-link.interface.js';
export type { LeaderLease } from '../../leadership/lease-keeper.js';
export type { ClusterNatsOptions, ClusterNatsTlsOptions } from '../../interfaces/bootstrap-options.interface.js';

export interface NatsNodeLinkOptions extends BrokerNodeLinkOptions {
  /** Credentials and TLS files, as option `nats` takes them (no environment is read here). */
  readonly nats?: ClusterNatsOptions;
}

/** A node's link to the other nodes of its cluster over NATS: membership, lifecycle events, the leadership lease (JetStream key-value), requests routed by topic. */
export function natsNodeLink(options: NatsNodeLinkOptions): NodeLink {
  const { user, pass, token, credsFile, tls } = options.nats ?? {};
  const nats = { user, pass, token, credsFile, tls: { caFile: tls?.caFile, certFile: tls?.certFile, keyFile: tls?.keyFile } };
  return new NatsLink({ ...brokerLinkOptions(options), nats }, options.logger);
}
