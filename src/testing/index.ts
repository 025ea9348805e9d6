/**
 * `nestjs-cluster/testing`: the conformance suite that every transport of this package passes, for
 * the author of a `ClusterTransport` (built on `nestjs-cluster/transport`) to prove theirs the same
 * way. Runs under jest, vitest or mocha; needs no test runner as a dependency.
 */
export type { ConformanceRunner, ConformanceTest } from './conformance-runner.js';
export { transportConformance, type ConformanceCluster, type ConformanceFactory } from './transport-conformance.js';
