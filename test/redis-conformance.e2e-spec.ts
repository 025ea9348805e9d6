/**
 * The Redis link passes the conformance suite: the members are real forked workers spread over two
 * nodes, each a primary of the library, joined by a redis-server of the test's own.
 */
import { transportConformance } from 'nestjs-cluster/testing';
import { startIpcConformanceCluster } from './helpers/ipc-conformance.js';
import { RedisServer } from './helpers/redis-server.js';

let redis: RedisServer;

beforeAll(async () => {
  redis = await RedisServer.start();
});

afterAll(async () => {
  await redis?.kill();
});

transportConformance('two nodes over Redis (forked workers)', {
  maxMembers: 3,
  shareCluster: true,
  create: (size) => startIpcConformanceCluster(size, { redis }),
});
