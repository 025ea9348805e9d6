import { Logger } from '@nestjs/common';
import { describeError } from '../../common/describe-error.js';
import { ThrottledReport } from '../../common/throttled-report.js';
import type { WorkerIdentity } from '../../interfaces/cluster-event.interface.js';
import type { MessageEnvelope } from '../../messaging/envelope.js';
import type { Serialization } from '../../messaging/payload-codec.js';
import type { LaneReceiver, MessageLane } from '../message-lane.interface.js';
import type { WireLimits } from '../message-validation.js';
import type { BrokerWire, BrokerWireEvents } from './broker-wire.js';
import { decodeFrames } from './node-frames.js';

export interface BrokerLaneOptions {
  /** The process the lane belongs to. */
  readonly self: WorkerIdentity;
  readonly serialization: Serialization;
  readonly maxMessageBytes: number;
}

/** The channels of a lane on its broker. */
export interface LaneChannels {
  /** Heard by every lane: publishes. */
  readonly published: string;
  /** Heard by the lane of that one process: messages addressed to it. */
  worker(worker: WorkerIdentity): string;
}

const WARN_EVERY_MS = 5_000;
/** As often as a node's heartbeat: a partition is noticed before the other nodes expire this one. */
const PROBE_EVERY_MS = 2_000;
/** How long a closing process waits for the broker to take what it wrote last. */
const CLOSE_WAIT_MS = 1_000;

/**
 * A process's lane over a pub/sub broker, whatever the broker (its `BrokerWire`): it listens on the
 * cluster's publish channel and on the channel of this one process. Both kinds are written on one
 * connection and heard on one, so the broker keeps each sender's order.
 */
export class BrokerLane<Wire extends BrokerWire = BrokerWire> implements MessageLane {
  protected readonly wire: Wire;
  private readonly limits: WireLimits;
  private readonly warnings: ThrottledReport<string>;
  /** The channel of each process written to, by its identity (an object the membership keeps). */
  private readonly workerChannels = new WeakMap<WorkerIdentity, string>();
  private receiver: LaneReceiver | undefined;
  private probe: NodeJS.Timeout | undefined;
  private wasUp = false;
  /** When the lane went down, once it had been up: its return is told with how long it was away. */
  private downSince: number | undefined;
  private closing = false;

  constructor(
    private readonly options: BrokerLaneOptions,
    private readonly broker: string,
    private readonly channel: LaneChannels,
    wire: (events: BrokerWireEvents) => Wire,
    private readonly logger = new Logger(`Cluster${broker}#${options.self.slot}`),
  ) {
    this.limits = { serialization: options.serialization, maxMessageBytes: options.maxMessageBytes };
    this.warnings = new ThrottledReport(WARN_EVERY_MS, (count, sample) => logger.warn(`dropped ${count} frame(s) from ${broker}: ${sample}`));
    this.wire = wire({
      status: (up) => this.statusChanged(up),
      received: (payload) => this.receive(payload),
      failed: (channel, error) => this.warnings.note('publish', `a publish to ${channel} failed: ${describeError(error)}`),
      unheard: (_channel, frames) => this.receiver?.unheard(frames.flatMap((f) => (f.t === 'msg' ? [f.m] : []))),
      silent: (deadlineMs) => logger.warn(`${broker} did not answer within ${deadlineMs} ms: reconnecting`),
      refused: (reason) => logger.error(`${broker} refused this process's lane: ${reason}; trying again`),
    });
  }

  get up(): boolean {
    return this.wire.up;
  }

  start(receiver: LaneReceiver): void {
    this.receiver = receiver;
    this.wire.connect();
    this.probe = setInterval(() => this.wire.probe(), PROBE_EVERY_MS);
    this.probe.unref();
  }

  publish(message: MessageEnvelope): boolean {
    return this.wire.write(this.channel.published, { t: 'pub', node: this.options.self.node, m: message });
  }

  sendTo(worker: WorkerIdentity, message: MessageEnvelope): boolean {
    let channel = this.workerChannels.get(worker);
    if (channel === undefined) this.workerChannels.set(worker, (channel = this.channel.worker(worker)));
    return this.wire.write(channel, { t: 'msg', node: this.options.self.node, m: message });
  }

  async close(): Promise<void> {
    clearInterval(this.probe);
    this.closing = true;
    this.warnings.flush();
    // What this process wrote last (replies of its drain) goes out before it disconnects.
    if (this.up) {
      this.wire.flush();
      await this.wire.sendNow(this.channel.published, [], CLOSE_WAIT_MS);
    }
    await this.wire.disconnect();
  }

  private statusChanged(up: boolean): void {
    if (up === this.wasUp) return;
    this.wasUp = up;
    if (!up) this.wire.drop();
    if (!up && !this.closing) {
      this.downSince = Date.now();
      // The broker went away, or cut this process off (it read too slowly): the same for the process.
      this.logger.warn(`lost ${this.broker}: this process's messages to other nodes fail until its lane is back; reconnecting`);
    } else if (up && this.downSince !== undefined) {
      this.logger.log(`lane back on ${this.broker} after ${Date.now() - this.downSince} ms`);
      this.downSince = undefined;
    }
    this.receiver?.changed(up);
  }

  private receive(payload: Uint8Array): void {
    const receiver = this.receiver;
    if (!receiver) return;
    for (const frame of decodeFrames(payload, this.limits, (reason) => this.warnings.note('malformed', reason))) {
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
