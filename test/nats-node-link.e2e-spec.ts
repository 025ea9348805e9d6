/**
 * The NATS link passes the NodeLink conformance suite, link against link: each case's nodes share a
 * nats-server of the test's own (a cluster name of their own per case), which the outage case kills
 * and starts again on the same port. The same suite as the Redis link's: a second broker through the
 * same contract.
 */
import type { Logger } from '@nestjs/common';
import { nodeLinkConformance } from 'nestjs-cluster/testing';
import { natsNodeLink } from 'nestjs-cluster/nats';
import { NatsServer } from './helpers/nats-server.js';

let nats: NatsServer;

beforeAll(async () => {
  nats = await NatsServer.start();
});

afterAll(async () => {
  await nats?.remove();
});

/** The links' connection and departure lines would only clutter the test output. */
const quiet = { log: () => undefined, warn: () => undefined, error: () => undefined } as unknown as Logger;
let clusters = 0;

nodeLinkConformance('NatsLink (nestjs-cluster/nats)', {
  outage: true,
  lease: true,
  settleMs: 5_000,
  async create(nodes) {
    const name = `link-conformance-${++clusters}`;
    const options = { url: nats.url, name, serialization: 'json', maxMessageBytes: 1_048_576, heartbeatMs: 200, retryMs: 100 } as const;
    let down = false;
    return {
      links: nodes.map((node) => natsNodeLink({ ...options, node, logger: quiet })),
      cut: async () => {
        down = true;
        await nats.kill();
      },
      restore: async () => {
        await nats.restart();
        down = false;
      },
      // A case that failed during the outage leaves NATS down: the next one needs it.
      close: async () => {
        if (down) await nats.restart();
      },
    };
  },
});
