import { Logger } from '@nestjs/common';
import { describeError } from '../../common/describe-error.js';
import { ThrottledReport } from '../../common/throttled-report.js';
import type { WorkerIdentity } from '../../interfaces/cluster-event.interface.js';
import type { MessageEnvelope } from '../../messaging/envelope.js';
import type { Serialization } from '../../messaging/payload-codec.js';
import type { LaneReceiver, MessageLane } from '../message-lane.interface.js';
import type { WireLimits } from '../message-validation.js';
import { channels, decodeFrames, type Frame } from './redis-protocol.js';
import { atMost, RedisPair } from './redis-pair.js';

export interface RedisLaneOptions {
  readonly url: string;
  /** The cluster's name (`CLUSTER_NAME`): it names the channels. */
  readonly name: string;
  /** The process the lane belongs to. */
  readonly self: WorkerIdentity;
  readonly serialization: Serialization;
  readonly maxMessageBytes: number;
  /** Delay between reconnection attempts. @default 500 */
  readonly retryMs?: number;
}

const WARN_EVERY_MS = 5_000;
/** As often as a node's heartbeat: a partition is noticed before the other nodes expire this one. */
const PROBE_EVERY_MS = 2_000;
/** How long a closing process waits for Redis to take what it wrote last. */
const CLOSE_WAIT_MS = 1_000;

/**
 * A process's lane on Redis: a publisher and a subscriber connection of its own, listening on the
 * cluster's publish channel and on the channel of this one process. Both kinds are written on one
 * connection and heard on one, so Redis keeps each sender's order.
 */
export class RedisLane implements MessageLane {
  private readonly redis: RedisPair;
  private readonly channel: ReturnType<typeof channels>;
  private readonly wire: WireLimits;
  private readonly warnings: ThrottledReport<string>;
  private receiver: LaneReceiver | undefined;
  private probe: NodeJS.Timeout | undefined;
  private wasUp = false;

  constructor(
    private readonly options: RedisLaneOptions,
    private readonly logger = new Logger(`ClusterRedis#${options.self.slot}`),
  ) {
    this.channel = channels(options.name);
    this.wire = { serialization: options.serialization, maxMessageBytes: options.maxMessageBytes };
    this.warnings = new ThrottledReport(WARN_EVERY_MS, (count, sample) => logger.warn(`dropped ${count} frame(s) from Redis: ${sample}`));
    const { self } = options;
    this.redis = new RedisPair(
      {
        url: options.url,
        connectionName: `ncl:${self.node}:${self.slot}:${self.pid}`,
        serialization: options.serialization,
        channels: [this.channel.published, this.channel.worker(self)],
        retryMs: options.retryMs,
      },
      {
        status: (up) => this.statusChanged(up),
        received: (payload) => this.receive(payload),
        failed: (channel, error) => this.warnings.note('publish', `a publish to ${channel} failed: ${describeError(error)}`),
        unheard: (_channel, frames) => this.receiver?.unheard(frames.flatMap((f) => (f.t === 'msg' ? [f.m] : []))),
        silent: (deadlineMs) => logger.warn(`Redis did not answer a PING within ${deadlineMs} ms: reconnecting`),
      },
    );
  }

  get up(): boolean {
    return this.redis.up;
  }

  start(receiver: LaneReceiver): void {
    this.receiver = receiver;
    this.redis.connect();
    this.probe = setInterval(() => this.redis.probe(), PROBE_EVERY_MS);
    this.probe.unref();
  }

  publish(message: MessageEnvelope): boolean {
    return this.redis.write(this.channel.published, { t: 'pub', node: this.options.self.node, m: message });
  }

  sendTo(worker: WorkerIdentity, message: MessageEnvelope): boolean {
    return this.redis.write(this.channel.worker(worker), { t: 'msg', node: this.options.self.node, m: message });
  }

  async close(): Promise<void> {
    clearInterval(this.probe);
    // What this process wrote last (replies of its drain) goes out before it disconnects.
    this.redis.flush();
    this.warnings.flush();
    if (this.up) {
      // Redis answers in order: once the PING is back, every PUBLISH before it was taken.
      await atMost(this.redis.publisher.ping(), CLOSE_WAIT_MS);
    }
    this.redis.disconnect();
  }

  private statusChanged(up: boolean): void {
    if (up === this.wasUp) return;
    this.wasUp = up;
    if (!up) this.redis.drop();
    this.receiver?.changed(up);
  }

  private receive(payload: Buffer): void {
    const receiver = this.receiver;
    if (!receiver) return;
    for (const frame of decodeFrames(payload, this.wire, (reason) => this.warnings.note('malformed', reason)) as Frame[]) {
      if (frame.t !== 'pub' && frame.t !== 'msg') {
        this.warnings.note('unexpected', `a "${frame.t}" frame of ${frame.node} on a worker's channel`);
        continue;
      }
      try {
        receiver.message(frame.m);
      } catch (error) {
        this.warnings.note('failed', `a message of ${frame.node} could not be handled: ${describeError(error)}`);
      }
    }
  }
}
