import { Logger } from '@nestjs/common';
import { describeError } from '../../common/describe-error.js';
import { ThrottledReport } from '../../common/throttled-report.js';
import type { ClusterEvent, WorkerAddress } from '../../interfaces/cluster-event.interface.js';
import type { WorkerInfo } from '../../interfaces/worker-info.interface.js';
import type { Leader } from '../../leadership/leader.interface.js';
import type { MessageEnvelope } from '../../messaging/envelope.js';
import type { Serialization } from '../../messaging/payload-codec.js';
import type { WireLimits } from '../message-validation.js';
import type { LocalNode, NodeLink } from '../node-link.interface.js';
import { channels, decodeFrames, encodeFrames, type Frame } from './redis-protocol.js';
import { atMost, RedisPair } from './redis-pair.js';
import { RedisLease } from './redis-lease.js';
import { RemoteNodes } from './remote-nodes.js';

export interface RedisLinkOptions {
  readonly url: string;
  /** The cluster's name (`CLUSTER_NAME`): it names the channels. */
  readonly name: string;
  /** This node. */
  readonly node: string;
  readonly serialization: Serialization;
  readonly maxMessageBytes: number;
  /** @default 2000 */
  readonly heartbeatMs?: number;
  /** A node silent this long has left. @default 6000 */
  readonly expiryMs?: number;
  /** Delay between reconnection attempts. @default 500 */
  readonly retryMs?: number;
}

const WARN_EVERY_MS = 5_000;
const EXPIRY_CHECK_MS = 250;
/** How long a draining node waits for Redis to take its goodbye. */
const BYE_WAIT_MS = 1_000;

/**
 * The Redis link of a node's primary: one publisher and one subscriber connection, for membership,
 * lifecycle events, the lease and requests routed by topic (workers carry the rest on their lanes,
 * `RedisLane`). Heartbeats say
 * which workers are ready and which topics they handle; a node that says `bye` or stays silent
 * `expiryMs` leaves. While Redis is unreachable the link is down: nothing is queued (a message for
 * another node fails at once), the other nodes stay as they were last heard, and their silence
 * counts again from the moment the link is back.
 */
export class RedisLink implements NodeLink {
  private readonly redis: RedisPair;
  private readonly remote: RemoteNodes;
  readonly lease: RedisLease;
  /** Workers write publishes and addressed messages on lanes of their own (`RedisLane`). */
  readonly lanes = true;
  private readonly channel: ReturnType<typeof channels>;
  private readonly wire: WireLimits;
  private readonly warnings: ThrottledReport<string>;
  private local: LocalNode | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private expiry: NodeJS.Timeout | undefined;
  private wasUp = false;
  private closed = false;

  constructor(
    private readonly options: RedisLinkOptions,
    private readonly logger = new Logger('ClusterRedis'),
  ) {
    this.remote = new RemoteNodes(options.expiryMs ?? 6_000);
    this.channel = channels(options.name);
    this.wire = { serialization: options.serialization, maxMessageBytes: options.maxMessageBytes };
    this.warnings = new ThrottledReport(WARN_EVERY_MS, (count, sample) => logger.warn(`dropped ${count} frame(s) from Redis: ${sample}`));
    this.redis = new RedisPair(
      {
        url: options.url,
        connectionName: `ncl:${options.node}`,
        serialization: options.serialization,
        channels: [this.channel.all, this.channel.node(options.node)],
        retryMs: options.retryMs,
      },
      {
        status: () => this.updateStatus(),
        received: (payload) => this.receive(payload),
        failed: (channel, error) => this.warnings.note('publish', `a publish to ${channel} failed: ${describeError(error)}`),
        silent: (deadlineMs) => logger.warn(`Redis did not answer a PING within ${deadlineMs} ms: reconnecting`),
      },
    );
    this.lease = new RedisLease(this.redis.publisher, options.name, options.node);
  }

  get up(): boolean {
    return this.redis.up;
  }

  start(local: LocalNode): void {
    this.local = local;
    const heartbeatMs = this.options.heartbeatMs ?? 2_000;
    this.heartbeat = setInterval(() => this.beat(), heartbeatMs);
    this.heartbeat.unref();
    // Checked often, so a silent node leaves close to `expiryMs` after its last heartbeat.
    this.expiry = setInterval(() => this.expire(), EXPIRY_CHECK_MS);
    this.expiry.unref();
    this.redis.connect();
  }

  publish(message: MessageEnvelope): boolean {
    return this.enqueue(this.channel.all, { t: 'pub', node: this.options.node, m: message });
  }

  sendTo(node: string, message: MessageEnvelope): boolean {
    if (!this.remote.knows(node)) return false;
    return this.enqueue(this.channel.node(node), { t: 'msg', node: this.options.node, m: message });
  }

  announce(event: ClusterEvent): void {
    this.enqueue(this.channel.all, { t: 'ev', node: this.options.node, e: event });
  }

  knows(node: string): boolean {
    return this.remote.knows(node);
  }

  serves(address: WorkerAddress): boolean {
    return this.remote.serves(address);
  }

  handlersOf(topic: string): readonly string[] {
    return this.remote.handlersOf(topic);
  }

  workers(): readonly WorkerInfo[] {
    return this.remote.workers();
  }

  leader(): Leader | null {
    return this.remote.leader();
  }

  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    clearInterval(this.expiry);
    if (this.up) {
      // What this node said last (its shutdown event) goes out before its goodbye.
      this.redis.flush();
      const bye = this.redis.publisher.publish(this.channel.all, encodeFrames([{ t: 'bye', node: this.options.node }], this.options.serialization));
      // Cut off without knowing it (a partition), Redis would never answer: the node stops anyway.
      await atMost(bye, BYE_WAIT_MS);
    }
    this.closed = true;
    this.warnings.flush();
    this.redis.disconnect();
  }

  private updateStatus(): void {
    const up = this.up;
    if (up === this.wasUp || this.closed) return;
    this.wasUp = up;
    const now = Date.now();
    if (up) {
      // Nobody could be heard while the link was down: their silence counts from now.
      this.remote.restartClocks(now);
      this.logger.log(`connected to Redis as node ${this.options.node} of cluster ${this.options.name}`);
      this.beat();
    } else {
      this.redis.drop();
      // Whoever led elsewhere may have stepped down meanwhile: no leader counts until heard again.
      this.remote.forgetLeaders();
      // Their replies could not reach us now: what waits on another node fails at once.
      for (const node of this.remote.nodes()) this.local?.gone(node);
      this.logger.warn(`lost Redis: messages to other nodes fail until it is back; this node serves on its own`);
    }
    this.local?.changed({ type: 'transport', node: this.options.node, status: up ? 'up' : 'down', at: now });
  }

  private beat(): void {
    if (!this.up || !this.local) return;
    // Called on the node, not detached: a LocalNode may be a class whose methods use `this`.
    const local = this.local;
    this.enqueue(this.channel.all, { t: 'hb', node: this.options.node, workers: local.workers(), topics: local.topics(), leader: local.leader() });
    // A partition closes no connection: a PING unanswered in time takes the link down.
    this.redis.probe();
  }

  /** Nodes gone silent leave; not while the link is down (nobody can be heard then). */
  private expire(): void {
    if (!this.up) return;
    for (const node of this.remote.expire(Date.now())) this.left(node, 'expired');
  }

  private left(node: string, reason: 'bye' | 'expired'): void {
    this.logger.warn(`node ${node} left the cluster (${reason})`);
    this.local?.gone(node);
    this.local?.changed({ type: 'node-left', node, reason, at: Date.now() });
  }

  private enqueue(channel: string, frame: Frame): boolean {
    return this.redis.write(channel, frame);
  }

  private receive(payload: Buffer): void {
    const local = this.local;
    if (!local) return;
    for (const frame of decodeFrames(payload, this.wire, (reason) => this.warnings.note('malformed', reason))) {
      if (frame.node === this.options.node) continue; // our own publishes come back on the shared channel
      try {
        this.handle(local, frame);
      } catch (error) {
        this.warnings.note('failed', `a frame of ${frame.node} could not be handled: ${describeError(error)}`);
      }
    }
  }

  private handle(local: LocalNode, frame: Frame): void {
    switch (frame.t) {
      case 'hb': {
        const change = this.remote.heard(frame, Date.now());
        if (change === 'joined') {
          this.logger.log(`node ${frame.node} joined the cluster (${frame.workers.length} worker(s))`);
          local.changed({ type: 'node-joined', node: frame.node, at: Date.now() });
          // It learns about this node at once, not at the next heartbeat.
          this.beat();
        } else if (change === 'changed') local.changed();
        return;
      }
      case 'bye':
        if (this.remote.forget(frame.node)) this.left(frame.node, 'bye');
        return;
      case 'ev':
        if (!this.remote.knows(frame.node)) return;
        if (frame.e.type === 'leader') this.remote.claimed(frame.node, frame.e.leader);
        local.changed(frame.e);
        return;
      case 'pub':
      case 'msg':
        // A node not heard yet is not a member: what it sends now could not be answered.
        if (this.remote.knows(frame.node)) local.message(frame.node, frame.m);
        return;
    }
  }
}
