import { Logger } from '@nestjs/common';
import type { ChannelToPrimary, ClusterTraffic, LifecycleData } from '../../channel/channel-to-primary.js';
import { ClusterArgumentError, ScaleUnavailableError } from '../../cluster.errors.js';
import { ThrottledReport } from '../../common/throttled-report.js';
import type { WorkerIdentity } from '../../interfaces/cluster-event.interface.js';
import type { ScaleResult } from '../../interfaces/worker-info.interface.js';
import { isLeaderOf } from '../../leadership/leader.interface.js';
import type { MessageEnvelope } from '../../messaging/envelope.js';
import type { Serialization } from '../../messaging/payload-codec.js';
import type { MessageLimits } from '../cluster-transport.interface.js';
import { MembershipTransport } from '../membership.transport.js';
import type { MessageLane } from '../message-lane.interface.js';
import { DirectRouting, type LanedTransport } from '../../nodes/direct-routing.js';

const WARN_EVERY_MS = 5_000;

/**
 * The embedded transport of a worker: everything goes through the primary over the worker's control
 * channel. The primary relays lifecycle events and membership, and routes messages (`MessageRouter`).
 * With a lane to other nodes, publishes and the messages addressed to workers of other nodes go on the
 * lane as well (`DirectRouting`): no primary on their way.
 */
export class IpcWorkerTransport extends MembershipTransport implements LanedTransport {
  readonly role = 'worker' as const;
  private readonly warnings: ThrottledReport<string>;
  private routing: DirectRouting | undefined;

  constructor(
    self: WorkerIdentity,
    serialization: Serialization,
    limits: MessageLimits,
    private readonly channel: ChannelToPrimary,
    lane?: MessageLane,
  ) {
    super(self, serialization, limits);
    // Named when it speaks: a standby takes its slot after this is built.
    this.warnings = new ThrottledReport(WARN_EVERY_MS, (count, sample) =>
      Logger.warn(`dropped ${count} message(s) on arrival: ${sample}`, `ClusterWorker#${this.self.slot}`),
    );
    const traffic: ClusterTraffic = {
      lifecycle: (data) => this.applyLifecycle(data),
      message: (message) => this.messages.next(message),
      dropped: (reason, detail) => this.warnings.note(reason, detail),
    };
    channel.attach(traffic);
    if (lane) this.useLane(lane);
  }

  /** Set once the lane is joined (a standby joins once it has its slot). */
  get direct(): DirectRouting | undefined {
    return this.routing;
  }

  /** Joins the lane to other nodes: at once, or for a standby once it has its slot (the lane's address names it). */
  useLane(lane: MessageLane): void {
    this.routing = new DirectRouting(
      this.self,
      lane,
      () => this.view.workers(),
      (message) => this.messages.next(message),
    );
    this.routing.start();
  }

  /** Closes the lane, once what this worker wrote on it went out. */
  async close(): Promise<void> {
    await this.direct?.close();
  }

  requestRollingRestart(): void {
    this.channel.requestRollingRestart();
  }

  /** Asked of this node's primary, over the channel: it runs the same change as `nestjs-cluster scale`. */
  override async scale(workers: string): Promise<ScaleResult> {
    const reply = await this.channel.scale(workers);
    if ('result' in reply) return reply.result;
    if ('allowed' in reply) throw new ClusterArgumentError('workers', workers, reply.allowed);
    throw new ScaleUnavailableError(workers, reply.unavailable);
  }

  send(message: MessageEnvelope): void {
    if (this.direct?.outgoing(message)) return;
    this.channel.send(message);
  }

  announce(topics: readonly string[]): void {
    this.channel.handlers(topics);
  }

  private applyLifecycle({ workers, event, state }: LifecycleData): void {
    const wasLeader = isLeaderOf(this.view.leader(), this.self);
    // Whoever reacts to leader$ (the scheduler stopping its jobs) does so inside this call.
    this.view.apply(workers, event, state);
    this.direct?.membersChanged(workers);
    if (wasLeader && !isLeaderOf(this.view.leader(), this.self)) this.channel.released();
  }
}
