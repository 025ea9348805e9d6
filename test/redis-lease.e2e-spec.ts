/**
 * The leadership lease on a real Redis: two nodes' leases on one redis-server of the test's own, the
 * scripts run as Redis runs them (TTLs on Redis's clock, the epoch from INCR).
 */
import { Redis } from 'ioredis';
import { RedisLease } from '../src/transports/redis/redis-lease.js';
import { RedisServer } from './helpers/redis-server.js';

const NAME = 'lease-test';
const KEY = `ncl:{${NAME}}:leader`;
const EPOCH_KEY = `ncl:{${NAME}}:leader:epoch`;

let redis: RedisServer;
/** The test's own look at Redis; each lease has a connection of its own, as each node's primary does. */
let client: Redis;
let connections: [Redis, Redis];
let a: RedisLease;
let b: RedisLease;

beforeAll(async () => {
  redis = await RedisServer.start();
  client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  connections = [new Redis(redis.url, { maxRetriesPerRequest: 1 }), new Redis(redis.url, { maxRetriesPerRequest: 1 })];
});

afterAll(async () => {
  for (const connection of [client, ...(connections ?? [])]) connection?.disconnect();
  await redis?.kill();
});

beforeEach(async () => {
  await client.flushall();
  a = new RedisLease(connections[0], NAME, 'node-a');
  b = new RedisLease(connections[1], NAME, 'node-b');
});

/** Resolves once Redis no longer holds `key` (its TTL ran out on Redis's own clock). */
async function expired(key: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while ((await client.exists(key)) === 1) {
    if (Date.now() - started > timeoutMs) throw new Error(`${key} still exists after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return Date.now() - started;
}

describe('RedisLease on a real Redis', () => {
  it('names the holder in the key: its node, then a random part new with each lease', () => {
    expect(a.token).toMatch(/^node-a:[0-9a-f]{16}$/);
    expect(new RedisLease(connections[0], NAME, 'node-a').token).not.toBe(a.token);
  });

  it('lets only one of two nodes acquire, and keeps the holder token with the TTL asked for', async () => {
    const [first, second] = await Promise.all([a.acquire(5_000, 0), b.acquire(5_000, 0)]);
    expect([first, second].filter((epoch) => epoch !== null)).toEqual([1]);
    const holder = first !== null ? a : b;
    expect(await client.get(KEY)).toBe(holder.token);
    const ttl = await client.pttl(KEY);
    expect(ttl).toBeGreaterThan(4_000);
    expect(ttl).toBeLessThanOrEqual(5_000);
    // The loser keeps losing while the holder holds it.
    expect(await (holder === a ? b : a).acquire(5_000, 0)).toBeNull();
  });

  it('takes the epoch from INCR: it only grows, across release and acquire by either node', async () => {
    const epochs: number[] = [];
    epochs.push((await a.acquire(5_000, 0))!);
    epochs.push((await a.bump())!);
    await a.release();
    epochs.push((await b.acquire(5_000, 0))!);
    epochs.push((await b.bump())!);
    await b.release();
    epochs.push((await a.acquire(5_000, 0))!);
    expect(epochs).toEqual([1, 2, 3, 4, 5]);
    expect(await client.get(EPOCH_KEY)).toBe('5');
    // The counter has no TTL: an expired or released lease never resets it.
    expect(await client.pttl(EPOCH_KEY)).toBe(-1);
  });

  it('takes the epoch past the highest the node has seen when Redis lost its counter, and never lowers it', async () => {
    expect(await a.acquire(5_000, 0)).toBe(1);
    expect(await a.bump()).toBe(2);
    await client.flushall(); // Redis restarted empty
    expect(await b.acquire(5_000, 2)).toBe(3);
    await b.release();
    // A node that saw less than the counter holds does not take it back.
    expect(await a.acquire(5_000, 1)).toBe(4);
    expect(await client.get(EPOCH_KEY)).toBe('4');
  });

  it('gives the non-holder nothing: its renew, bump and release leave the holder lease as it was', async () => {
    expect(await a.acquire(5_000, 0)).toBe(1);
    expect(await b.renew(60_000)).toBe(false);
    expect(await b.bump()).toBeNull();
    await b.release();
    expect(await client.get(KEY)).toBe(a.token);
    expect(await client.pttl(KEY)).toBeLessThanOrEqual(5_000);
    expect(await client.get(EPOCH_KEY)).toBe('1');
    // Nothing held: renew and bump by anybody do nothing, and create nothing.
    await a.release();
    expect(await client.exists(KEY)).toBe(0);
    expect(await a.renew(5_000)).toBe(false);
    expect(await a.bump()).toBeNull();
    expect(await client.exists(KEY)).toBe(0);
    expect(await client.get(EPOCH_KEY)).toBe('1');
  });

  it('lets the holder renew (a fresh TTL) and bump (a new epoch) while it holds the lease', async () => {
    expect(await a.acquire(1_000, 0)).toBe(1);
    expect(await a.renew(5_000)).toBe(true);
    expect(await client.pttl(KEY)).toBeGreaterThan(4_000);
    expect(await a.bump()).toBe(2);
    expect(await client.get(KEY)).toBe(a.token);
  });

  it('never lets a late release delete the lease another node took after it expired', async () => {
    expect(await a.acquire(300, 0)).toBe(1);
    await expired(KEY, 5_000);
    expect(await b.acquire(5_000, 0)).toBe(2);
    await a.release(); // the former holder's release arrives late
    expect(await client.get(KEY)).toBe(b.token);
    expect(await a.renew(5_000)).toBe(false);
    expect(await a.bump()).toBeNull();
    expect(await client.get(KEY)).toBe(b.token);
  });

  it('lets the other node acquire once the TTL has passed without renewal, not before', async () => {
    expect(await a.acquire(1_000, 0)).toBe(1);
    expect(await b.acquire(1_000, 0)).toBeNull();
    const waited = await expired(KEY, 5_000);
    expect(waited).toBeGreaterThan(500);
    expect(await b.acquire(1_000, 0)).toBe(2);
    expect(await client.get(KEY)).toBe(b.token);
  });

  it('re-takes a key its own token still holds (a renewal that came late), with a fresh TTL and a new epoch', async () => {
    expect(await a.acquire(5_000, 0)).toBe(1);
    // The node gave up waiting for the answer and asks again: the key is still its own.
    await client.pexpire(KEY, 200);
    expect(await a.acquire(5_000, 0)).toBe(2);
    expect(await client.get(KEY)).toBe(a.token);
    expect(await client.pttl(KEY)).toBeGreaterThan(4_000);
    // Another lease of the same node (a restarted primary) is another holder.
    const restarted = new RedisLease(connections[1], NAME, 'node-a');
    expect(await restarted.acquire(5_000, 0)).toBeNull();
  });

  it('gives up a release that Redis does not answer within a second, rather than hang the shutdown', async () => {
    expect(await a.acquire(5_000, 0)).toBe(1);
    const paused = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    try {
      // CLIENT PAUSE holds every write command (EVAL included) for the time given.
      await paused.client('PAUSE', 3_000, 'WRITE');
      const started = Date.now();
      await a.release();
      const ms = Date.now() - started;
      expect(ms).toBeGreaterThanOrEqual(900);
      expect(ms).toBeLessThan(2_500);
    } finally {
      await paused.client('UNPAUSE');
      paused.disconnect();
    }
  });
});
