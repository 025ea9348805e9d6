import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { LeaderLease } from '../../leadership/lease-keeper.js';

/**
 * Takes the lease if it is free (`SET NX PX`) or still this node's (a renewal that came late), and
 * returns the new epoch from an `INCR` done in the same step; 0 if another node holds it. A counter
 * at or below ARGV[3] (the highest epoch the node has seen: Redis lost its data) is raised past it.
 */
const ACQUIRE = `
local function nextEpoch()
  local epoch = redis.call('INCR', KEYS[2])
  if epoch <= tonumber(ARGV[3]) then
    redis.call('SET', KEYS[2], ARGV[3])
    epoch = redis.call('INCR', KEYS[2])
  end
  return epoch
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return nextEpoch()
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return nextEpoch()
end
return 0`;

/** Extends the lease only if this node still holds it. */
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`;

/** A new epoch only while this node holds the lease. */
const BUMP = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('INCR', KEYS[2])
end
return 0`;

/** Deletes the lease only if this node holds it: a late release never frees another node's lease. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

/** How long a release may take before the node stops without it (the lease then expires on its own). */
const RELEASE_WAIT_MS = 1_000;

/**
 * The leadership lease of a cluster on Redis: key `ncl:{<name>}:leader` holds the holder's token
 * (its node and a random part, new at each start), `ncl:{<name>}:leader:epoch` the epoch counter. The
 * braces keep both in one Redis Cluster hash slot, as the scripts need.
 */
export class RedisLease implements LeaderLease {
  private readonly keys: [string, string];
  readonly token: string;

  constructor(
    private readonly redis: Redis,
    name: string,
    node: string,
  ) {
    this.keys = [`ncl:{${name}}:leader`, `ncl:{${name}}:leader:epoch`];
    this.token = `${node}:${randomBytes(8).toString('hex')}`;
  }

  async acquire(ttlMs: number, after: number): Promise<number | null> {
    const epoch = Number(await this.redis.eval(ACQUIRE, 2, ...this.keys, this.token, ttlMs, after));
    return epoch > 0 ? epoch : null;
  }

  async renew(ttlMs: number): Promise<boolean> {
    return Number(await this.redis.eval(RENEW, 1, this.keys[0], this.token, ttlMs)) === 1;
  }

  async bump(): Promise<number | null> {
    const epoch = Number(await this.redis.eval(BUMP, 2, ...this.keys, this.token));
    return epoch > 0 ? epoch : null;
  }

  async release(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, RELEASE_WAIT_MS)));
    await Promise.race([this.redis.eval(RELEASE, 1, this.keys[0], this.token).then(() => undefined), late]);
    clearTimeout(timer);
  }
}
