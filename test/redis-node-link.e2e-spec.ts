/**
 * The Redis link passes the NodeLink conformance suite, link against link: each case's nodes share a
 * redis-server of the test's own (a cluster name of their own per case), which the outage case kills
 * and starts again on the same port.
 */
import type { Logger } from '@nestjs/common';
import { nodeLinkConformance } from 'nestjs-cluster/testing';
import { redisNodeLink } from 'nestjs-cluster/redis';
import { RedisServer } from './helpers/redis-server.js';

let redis: RedisServer;

beforeAll(async () => {
  redis = await RedisServer.start();
});

afterAll(async () => {
  await redis?.kill();
});

/** The links' connection and departure lines would only clutter the test output. */
const quiet = { log: () => undefined, warn: () => undefined, error: () => undefined } as unknown as Logger;
let clusters = 0;

nodeLinkConformance('RedisLink (nestjs-cluster/redis)', {
  outage: true,
  lease: true,
  settleMs: 5_000,
  async create(nodes) {
    const name = `link-conformance-${++clusters}`;
    const options = { url: redis.url, name, serialization: 'json', maxMessageBytes: 1_048_576, heartbeatMs: 200, retryMs: 100 } as const;
    let down = false;
    return {
      links: nodes.map((node) => redisNodeLink({ ...options, node, logger: quiet })),
      cut: async () => {
        down = true;
        await redis.kill();
      },
      restore: async () => {
        await redis.restart();
        down = false;
      },
      // A case that failed during the outage leaves Redis down: the next one needs it.
      close: async () => {
        if (down) await redis.restart();
      },
    };
  },
});
