import { Logger } from '@nestjs/common';
import { describeError } from '../../common/describe-error.js';
import { ThrottledReport } from '../../common/throttled-report.js';
import type { ClusterEvent, WorkerAddress } from '../../interfaces/cluster-event.interface.js';
import type { WorkerInfo } from '../../interfaces/worker-info.interface.js';
import type { Leader } from '../../leadership/leader.interface.js';
import type { LeaderLease } from '../../leadership/lease-keeper.js';
import type { MessageEnvelope } from '../../messaging/envelope.js';
import type { Serialization } from '../../messaging/payload-codec.js';
import type { WireLimits } from '../message-validation.js';
import type { LocalNode, NodeLink } from '../node-link.interface.js';
import type { BrokerWire, BrokerWireEvents } from './broker-wire.js';
import { decodeFrames, type Frame } from './node-frames.js';
import { RemoteNodes } from './remote-nodes.js';

export interface BrokerLinkOptions {
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
}

/** The channels of a node's link on its broker. */
export interface LinkChannels {
  /** Heard by every node: heartbeats, goodbyes, lifecycle events. */
  readonly all: string;
  /** Heard by one node's link: requests routed by topic to it, and their replies. */
  node(node: string): string;
}

const WARN_EVERY_MS = 5_000;
const EXPIRY_CHECK_MS = 250;
/** How long a draining node waits for the broker to take its goodbye. */
const BYE_WAIT_MS = 1_000;

/**
 * A node's link over a pub/sub broker, whatever the broker (its `BrokerWire`): heartbeats say which
 * workers are ready and which topics they handle; a node that says `bye` or stays silent `expiryMs`
 * leaves. While the broker is unreachable the link is down: nothing is queued (a message for another
 * node fails at once), the other nodes stay as they were last heard, and their silence counts again
 * from the moment the link is back. The workers carry publishes and addressed messages on lanes of
 * their own (`BrokerLane`).
 */
export class BrokerLink<Wire extends BrokerWire = BrokerWire> implements NodeLink {
  readonly lanes = true;
  readonly lease?: LeaderLease;
  protected readonly wire: Wire;
  private readonly remote: RemoteNodes;
  private readonly limits: WireLimits;
  private readonly warnings: ThrottledReport<string>;
  private local: LocalNode | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private expiry: NodeJS.Timeout | undefined;
  private wasUp = false;
  private closed = false;

  constructor(
    private readonly options: BrokerLinkOptions,
    /** The broker's name in log lines (`Redis`, `NATS`). */
    private readonly broker: string,
    private readonly channel: LinkChannels,
    wire: (events: BrokerWireEvents) => Wire,
    /** The leadership lease the nodes share, when the broker can hold one. */
    lease?: (wire: Wire) => LeaderLease,
    private readonly logger = new Logger(`Cluster${broker}`),
  ) {
    this.remote = new RemoteNodes(options.expiryMs ?? 6_000);
    this.limits = { serialization: options.serialization, maxMessageBytes: options.maxMessageBytes };
    this.warnings = new ThrottledReport(WARN_EVERY_MS, (count, sample) => logger.warn(`dropped ${count} frame(s) from ${broker}: ${sample}`));
    this.wire = wire({
      status: () => this.updateStatus(),
      received: (payload) => this.receive(payload),
      failed: (channel, error) => this.warnings.note('publish', `a publish to ${channel} failed: ${describeError(error)}`),
      silent: (deadlineMs) => logger.warn(`${broker} did not answer within ${deadlineMs} ms: reconnecting`),
      refused: (reason) => logger.error(`${broker} refused node ${options.node}'s link: ${reason}; trying again`),
    });
    this.lease = lease?.(this.wire);
  }

  get up(): boolean {
    return this.wire.up;
  }

  start(local: LocalNode): void {
    this.local = local;
    const heartbeatMs = this.options.heartbeatMs ?? 2_000;
    this.heartbeat = setInterval(() => this.beat(), heartbeatMs);
    this.heartbeat.unref();
    // Checked often, so a silent node leaves close to `expiryMs` after its last heartbeat.
    this.expiry = setInterval(() => this.expire(), EXPIRY_CHECK_MS);
    this.expiry.unref();
    this.wire.connect();
  }

  publish(message: MessageEnvelope): boolean {
    return this.wire.write(this.channel.all, { t: 'pub', node: this.options.node, m: message });
  }

  sendTo(node: string, message: MessageEnvelope): boolean {
    if (!this.remote.knows(node)) return false;
    return this.wire.write(this.channel.node(node), { t: 'msg', node: this.options.node, m: message });
  }

  /**
   * The event goes after a heartbeat, in the same broker message: the other nodes list this node's
   * workers as they are after it (a worker ready, one gone) when they hear it, not a heartbeat later.
   */
  announce(event: ClusterEvent): void {
    if (this.up && this.local) this.wire.write(this.channel.all, this.heartbeatOf(this.local));
    this.wire.write(this.channel.all, { t: 'ev', node: this.options.node, e: event });
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
      this.wire.flush();
      await this.wire.sendNow(this.channel.all, [{ t: 'bye', node: this.options.node }], BYE_WAIT_MS);
    }
    this.closed = true;
    this.warnings.flush();
    await this.wire.disconnect();
  }

  private updateStatus(): void {
    const up = this.up;
    if (up === this.wasUp || this.closed) return;
    this.wasUp = up;
    const now = Date.now();
    if (up) {
      // Nobody could be heard while the link was down: their silence counts from now.
      this.remote.restartClocks(now);
      this.logger.log(`connected to ${this.broker} as node ${this.options.node} of cluster ${this.options.name}`);
      this.beat();
    } else {
      this.wire.drop();
      // Whoever led elsewhere may have stepped down meanwhile: no leader counts until heard again.
      this.remote.forgetLeaders();
      // Their replies could not reach us now: what waits on another node fails at once.
      for (const node of this.remote.nodes()) this.local?.gone(node);
      this.logger.warn(`lost ${this.broker}: messages to other nodes fail until it is back; this node serves on its own`);
    }
    this.local?.changed({ type: 'transport', node: this.options.node, status: up ? 'up' : 'down', at: now });
  }

  private beat(): void {
    if (!this.up || !this.local) return;
    this.wire.write(this.channel.all, this.heartbeatOf(this.local));
    this.wire.probe();
  }

  private heartbeatOf(local: LocalNode): Frame {
    // Called on the node, not detached: a LocalNode may be a class whose methods use `this`.
    return { t: 'hb', node: this.options.node, workers: local.workers(), topics: local.topics(), leader: local.leader() };
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

  private receive(payload: Uint8Array): void {
    const local = this.local;
    if (!local) return;
    for (const frame of decodeFrames(payload, this.limits, (reason) => this.warnings.note('malformed', reason))) {
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
