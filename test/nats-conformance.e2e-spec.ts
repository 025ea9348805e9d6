/**
 * The NATS link passes the transport conformance suite: the members are real forked workers spread over
 * two nodes, each a primary of the library, joined by a nats-server of the test's own.
 */
import { transportConformance } from 'nestjs-cluster/testing';
import { startIpcConformanceCluster } from './helpers/ipc-conformance.js';
import { NatsServer } from './helpers/nats-server.js';

let nats: NatsServer;

beforeAll(async () => {
  nats = await NatsServer.start();
});

afterAll(async () => {
  await nats?.remove();
});

transportConformance('two nodes over NATS (forked workers)', {
  maxMembers: 3,
  shareCluster: true,
  create: (size) => startIpcConformanceCluster(size, { nats }),
});
