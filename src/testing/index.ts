/**
 * `nestjs-cluster/testing`: the conformance suites that the transports of this package pass, for an
 * author building on `nestjs-cluster/transport` to prove theirs the same way: `nodeLinkConformance`
 * for a `NodeLink` (the link between the nodes of a cluster: Redis, NATS), `transportConformance` for
 * a `ClusterTransport` (what `ClusterService` stands on inside a process). Runs under jest, vitest or
 * mocha; needs no test runner as a dependency.
 */
export type { ConformanceRunner, ConformanceTest } from './conformance-runner.js';
// What the factories' signatures name, the same as in `nestjs-cluster/transport`.
export type { LocalNode, NodeLink } from '../transports/node-link.interface.js';
export type { LeaderLease } from '../leadership/lease-keeper.js';
export { nodeLinkConformance, type NodeLinkCluster, type NodeLinkFactory } from './node-link-conformance.js';
export { transportConformance, type ConformanceCluster, type ConformanceFactory } from './transport-conformance.js';
