import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { randomBytes } from 'node:crypto';
import { LeaseUnsupportedError, type LeaderLease } from '../../leadership/lease-keeper.js';
import { atMost } from '../broker/broker-wire.js';
import type { NatsWire } from './nats-wire.js';

const KEY = 'leader';
/** How long a release may take before the node stops without it (the lease then expires on its own). */
const RELEASE_WAIT_MS = 1_000;

/**
 * The leadership lease of a cluster on NATS: a JetStream key-value bucket per cluster (`ncl-<name>`,
 * TTL `ttlMs`, one value of history) whose key `leader` holds the holder's token (its node and a random
 * part, new at each start). Taken with `create` (only if absent) or, still this node's, an update on
 * its revision; renewed by an update on the revision it read (compare-and-set), which also restarts the
 * key's age; gone when the holder deletes it or stops renewing it for `ttlMs`. The revision that took
 * it is the epoch: it only grows. Without JetStream on the server there is no lease: `acquire` rejects
 * with a `LeaseUnsupportedError` (the node then leads itself) and `unsupported` says so; a bucket that
 * cannot be made for another reason (a permission) is tried again, and `refused` says why once.
 */
export class NatsLease implements LeaderLease {
  readonly token: string;
  private readonly bucketName: string;
  private kv: Promise<KV> | undefined;
  private kvTtlMs: number | undefined;
  /** The connection `kv` was made on: a new one (the client gave up and the wire connected again) needs a new handle. */
  private kvConnection: NatsConnection | undefined;
  private refusedOnce = false;

  constructor(
    private readonly wire: NatsWire,
    name: string,
    node: string,
    private readonly report: { unsupported(bucket: string): void; refused(reason: string): void },
  ) {
    this.token = `${node}:${randomBytes(8).toString('hex')}`;
    this.bucketName = `ncl-${name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  }

  async acquire(ttlMs: number, after: number): Promise<number | null> {
    const kv = await this.bucket(ttlMs).catch((error: unknown) => {
      if (!isJetStreamMissing(error)) throw error;
      this.report.unsupported(this.bucketName);
      throw new LeaseUnsupportedError(`JetStream is not enabled on the NATS server: no key-value bucket ${this.bucketName}`);
    });
    let revision: number;
    try {
      revision = await kv.create(KEY, this.token);
    } catch {
      const held = await this.ours(kv);
      if (held === undefined) return null;
      revision = await kv.update(KEY, this.token, held);
    }
    // A bucket made anew (the server lost its store) counts from 1 again: the epoch still grows.
    return Math.max(revision, after + 1);
  }

  async renew(ttlMs: number): Promise<boolean> {
    return (await this.rewrite(await this.bucket(ttlMs))) !== null;
  }

  async bump(): Promise<number | null> {
    if (!this.kv) return null;
    return this.rewrite(await this.kv);
  }

  async release(): Promise<void> {
    if (!this.kv) return;
    const release = async () => {
      const kv = await this.kv!;
      const held = await this.ours(kv);
      if (held !== undefined) await kv.delete(KEY, { previousSeq: held });
    };
    await atMost(release(), RELEASE_WAIT_MS);
  }

  /** The lease's revision if this node holds it. */
  private async ours(kv: KV): Promise<number | undefined> {
    const entry = await kv.get(KEY);
    return entry?.operation === 'PUT' && entry.string() === this.token ? entry.revision : undefined;
  }

  /** A new revision of the lease if this node still holds it (compare-and-set on the one it read), else `null`. */
  private async rewrite(kv: KV): Promise<number | null> {
    const held = await this.ours(kv);
    if (held === undefined) return null;
    try {
      return await kv.update(KEY, this.token, held);
    } catch {
      return null; // another node took it in between
    }
  }

  private bucket(ttlMs: number): Promise<KV> {
    const nc = this.wire.connection;
    if (!nc) return Promise.reject(new Error('NATS is not connected'));
    if (!this.kv || this.kvTtlMs !== ttlMs || this.kvConnection !== nc) {
      this.kvTtlMs = ttlMs;
      this.kvConnection = nc;
      const kv = new Kvm(nc).create(this.bucketName, { ttl: ttlMs, history: 1 });
      this.kv = kv;
      kv.catch((error: unknown) => {
        if (this.kv === kv) this.kv = undefined;
        if (!this.refusedOnce && !isJetStreamMissing(error)) {
          this.refusedOnce = true;
          this.report.refused(`no JetStream key-value bucket ${this.bucketName} (${error instanceof Error ? error.message : String(error)})`);
        }
      });
    }
    return this.kv;
  }
}

/** The server runs without JetStream (or not for this account): no key-value bucket can ever be made there. */
function isJetStreamMissing(error: unknown): boolean {
  return error instanceof Error && error.name === 'JetStreamNotEnabled';
}
