import { NoHandlerError, WorkerUnavailableError } from '../cluster.errors.js';
import type { ClusterEvent, LeaderEvent, WorkerAddress, WorkerIdentity } from '../interfaces/cluster-event.interface.js';
import { LeaderAppointment } from '../leadership/leader-appointment.js';
import { DEFAULT_LEASE_TIMING, type LeaseTiming } from '../leadership/lease-keeper.js';
import type { WorkerInfo } from '../interfaces/worker-info.interface.js';
import type { MessageEnvelope } from '../messaging/envelope.js';
import type { Serialization } from '../messaging/payload-codec.js';
import { errorReply } from '../messaging/remote-error.js';
import { WaitingRequests } from '../messaging/waiting-requests.js';
import { followNodes, nodeFor, unreachable } from '../nodes/node-routing.js';
import type { MessageLimits } from './cluster-transport.interface.js';
import { LocalTransport } from './local.transport.js';
import type { NodeLink } from './node-link.interface.js';
import type { MessageLane } from './message-lane.interface.js';
import { DirectRouting, type LanedTransport } from '../nodes/direct-routing.js';

/**
 * A standalone process (`enabled: false`, one pod = one process) that is a node of a cluster of
 * several: a node of one worker, which talks to the other nodes itself through its own link (and its
 * lane, when the link has lanes). What is for this process loops back as in `LocalTransport`; the rest
 * goes over the lane or the link.
 */
export class LinkedLocalTransport extends LocalTransport implements LanedTransport {
  private local: readonly WorkerInfo[];
  /** Requests of this process waiting on another node: they fail when it leaves. */
  private readonly waiting = new WaitingRequests<{ readonly node: string; readonly request: MessageEnvelope; readonly forgetAt: number }>();
  /** This process leads only while its node holds the lease the nodes share. */
  private readonly leadership: LeaderAppointment;
  readonly direct: DirectRouting | undefined;

  constructor(
    self: WorkerIdentity,
    serialization: Serialization,
    limits: MessageLimits,
    private readonly link: NodeLink,
    timing: LeaseTiming = DEFAULT_LEASE_TIMING,
    lane?: MessageLane,
  ) {
    super(self, serialization, limits);
    this.direct =
      lane &&
      new DirectRouting(
        self,
        lane,
        () => this.view.workers(),
        (message) => this.messages.next(message),
      );
    this.local = this.workers();
    this.leadership = new LeaderAppointment(
      self.node,
      {
        candidates: () => this.local.filter((w) => w.state === 'ready'),
        standing: () => this.local[0]?.state ?? 'exited',
        changed: (event) => this.onLeaderChange(event),
      },
      link.lease && { lease: link.lease, timing },
    );
    this.refresh();
  }

  /** Connects the link; until it is up this node is a cluster of one. */
  start(): void {
    this.direct?.start();
    this.link.start({
      workers: () => this.local,
      topics: () => [...this.handled],
      leader: () => this.leadership.own(),
      message: (_node, message) => this.fromNode(message),
      changed: (event) => this.onNodesChange(event),
      gone: (node) => this.gone(node),
    });
  }

  async close(): Promise<void> {
    this.waiting.close();
    await this.leadership.close();
    await this.direct?.close();
    await this.link.close();
  }

  /** This process's own lifecycle (the standalone runtime calls it), with the other nodes' workers after it. */
  override apply(workers: readonly WorkerInfo[], event?: ClusterEvent): void {
    this.local = workers;
    this.refresh(event);
    if (event) this.link.announce(event);
    this.leadership.update();
  }

  private onLeaderChange(event?: LeaderEvent): void {
    this.refresh(event);
    if (!event) return;
    this.link.announce(event);
    // Whoever reacts to leader$ in this process did so inside refresh: the post is free at once.
    if (event.leader === null) queueMicrotask(() => this.leadership.released(this.self.id));
  }

  private onNodesChange(event?: ClusterEvent): void {
    followNodes(this.leadership, this.link, event);
    this.refresh(event);
  }

  protected override route(message: MessageEnvelope): void {
    const { to } = message;
    if (this.direct?.outgoing(message)) return;
    if (message.kind === 'publish') {
      // With a lane, it went out on it above; this node has no other worker to reach.
      if (!this.direct) this.link.publish(message);
      return;
    }
    if (to !== undefined && to.node !== this.self.node) return this.toNode(to.node, message);
    if (message.kind === 'request' && to === undefined && !this.handled.has(message.topic)) {
      const node = nodeFor(this.link, message);
      if (node !== undefined) return this.toNode(node, message);
      return this.messages.next(errorReply(message, this.self, new NoHandlerError(message.topic)));
    }
    super.route(message);
  }

  private toNode(node: string, message: MessageEnvelope): void {
    const sent = (message.kind !== 'request' || message.to === undefined || this.link.serves(message.to)) && this.link.sendTo(node, message);
    if (message.kind !== 'request') return;
    if (sent) return void this.waiting.track(message.id!, { node, request: message, forgetAt: WaitingRequests.deadline(message.timeoutMs) });
    const to = message.to ?? { node };
    this.messages.next(errorReply(message, this.self, unreachable(this.link, message.topic, to, this.self.node)));
  }

  private fromNode(message: MessageEnvelope): void {
    if (message.kind === 'reply') this.waiting.take(message.id!);
    if (message.kind === 'request' && (message.to === undefined || isAt(message.to, this.self)) && !this.handled.has(message.topic)) {
      return void this.link.sendTo(message.from.node, errorReply(message, this.self, new NoHandlerError(message.topic, this.self.slot)));
    }
    if (message.kind !== 'send' || isAt(message.to!, this.self)) this.messages.next(message);
  }

  private gone(node: string): void {
    for (const { request } of this.waiting.takeWhere((entry) => entry.node === node)) {
      this.messages.next(
        errorReply(
          request,
          this.self,
          new WorkerUnavailableError(request.topic, request.to?.slot, `node ${node} left the cluster or cannot be reached`, node),
        ),
      );
    }
  }

  private refresh(event?: ClusterEvent): void {
    const transport = this.link.up ? 'up' : 'down';
    const leader = this.leadership.leader();
    this.view.apply([...this.local, ...this.link.workers()], event, { ...this.view.state(), transport, leader });
    this.direct?.membersChanged(this.view.workers());
  }
}

function isAt(to: WorkerAddress, self: WorkerAddress): boolean {
  return to.node === self.node && to.slot === self.slot;
}
