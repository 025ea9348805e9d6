import { WorkerUnavailableError } from '../cluster.errors.js';
import type { WorkerAddress, WorkerIdentity } from '../interfaces/cluster-event.interface.js';
import type { WorkerInfo } from '../interfaces/worker-info.interface.js';
import type { MessageEnvelope } from '../messaging/envelope.js';
import { errorReply } from '../messaging/remote-error.js';
import { WaitingRequests } from '../messaging/waiting-requests.js';
import type { MessageLane } from '../transports/message-lane.interface.js';
import { linkDown, noWorkerAt } from './node-routing.js';

/** How long a process that booted waits for its lane before it says ready anyway (Redis may be down). */
export const LANE_WAIT_MS = 1_000;

/** The transport of a process that may have a lane of its own to the workers of other nodes (a worker, a linked standalone node). */
export interface LanedTransport {
  /** The routing of its traffic with other nodes' workers on its lane; none without a lane. */
  readonly direct: DirectRouting | undefined;
}

/**
 * What a runtime waits for before it starts the app: what the app sends while it starts can reach
 * other nodes, and once they hear this process is ready, what they write to it on its lane is heard.
 * Resolves once the lane of `transport` is up, or after `timeoutMs` (see `DirectRouting.whenUp`); at
 * once without a lane.
 */
export async function laneUp(transport: LanedTransport | undefined, timeoutMs = LANE_WAIT_MS): Promise<void> {
  await transport?.direct?.whenUp(timeoutMs);
}

/** A request of this process to a worker of another node, waiting for its reply. */
interface Asked {
  readonly target: WorkerIdentity;
  readonly request: MessageEnvelope;
  readonly forgetAt: number;
}

/** A request of a worker of another node that this process answers, under an id of its own. */
interface Answering {
  readonly requester: WorkerIdentity;
  /** The id the requester gave it, which its reply must carry back. */
  readonly requesterId: string;
  readonly forgetAt: number;
}

/**
 * The routing of one process's traffic with the workers of other nodes over its own lane: a publish
 * goes out on the lane (this node's workers still hear it through the primary), a `send` or `request`
 * addressed to a worker of another node goes to the process serving that address, and its reply comes
 * back the same way. What a request waits on is watched: it fails at once when the worker it went to
 * exits, its node leaves, nobody listens at its address, or the lane goes down. Requests routed by
 * topic stay with the node's link, whose primary picks the worker.
 */
export class DirectRouting {
  private readonly asked = new WaitingRequests<Asked>();
  private readonly answering = new WaitingRequests<Answering>();
  private sequence = 0;
  private upWaiters: Array<() => void> = [];

  constructor(
    private readonly self: WorkerIdentity,
    private readonly lane: MessageLane,
    /** The membership this process knows: this node's workers and the other nodes'. */
    private readonly members: () => readonly WorkerInfo[],
    /** Hands a message to this process's message bus. */
    private readonly deliver: (message: MessageEnvelope) => void,
  ) {}

  start(): void {
    this.lane.start({
      message: (message) => this.arrived(message),
      unheard: (messages) => this.unheard(messages),
      changed: (up) => (up ? this.laneUp() : this.laneDown()),
    });
  }

  /**
   * Resolves once the lane is up (its process hears what others write to it), or after `timeoutMs`
   * with Redis unreachable: a process serves without it, and its lane joins when Redis is back.
   */
  whenUp(timeoutMs: number): Promise<void> {
    if (this.lane.up) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.upWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /**
   * A message this process sends. `true` when the lane took it (sent, or refused with an error reply);
   * `false` when it goes the node's way: a publish does both, for this node's workers.
   */
  outgoing(message: MessageEnvelope): boolean {
    switch (message.kind) {
      case 'publish':
        this.lane.publish(message);
        return false;
      case 'reply': {
        const entry = message.id === undefined ? undefined : this.answering.take(message.id);
        if (!entry) return false;
        this.lane.sendTo(entry.requester, { ...message, id: entry.requesterId });
        return true;
      }
      case 'send':
      case 'request':
        return this.addressed(message);
    }
  }

  /** The membership changed: requests waiting on a worker that is not in it any more fail now. */
  membersChanged(workers: readonly WorkerInfo[]): void {
    if (this.asked.size === 0 && this.answering.size === 0) return;
    const live = new Set(workers.map(key));
    const nodes = new Set(workers.map((w) => w.node));
    for (const { target, request } of this.asked.takeWhere((entry) => !live.has(key(entry.target)))) {
      const reason = nodes.has(target.node)
        ? `slot ${target.slot} (pid ${target.pid}) exited before replying`
        : `node ${target.node} left the cluster or cannot be reached`;
      this.fail(request, new WorkerUnavailableError(request.topic, target.slot, reason, target.node));
    }
    // Their replies could not be heard any more.
    this.answering.takeWhere((entry) => !live.has(key(entry.requester)));
  }

  async close(): Promise<void> {
    this.asked.close();
    this.answering.close();
    await this.lane.close();
  }

  private addressed(message: MessageEnvelope): boolean {
    const { to, topic } = message;
    if (to === undefined || to.node === this.self.node) return false;
    const target = this.servingAt(to);
    if (message.kind === 'send') {
      // Fire and forget: the caller checked the membership it knew, which may be stale by now.
      if (target) this.lane.sendTo(target, message);
      return true;
    }
    if (!this.lane.up) return this.refuse(message, linkDown(topic, to.node));
    if (!target)
      return this.refuse(
        message,
        noWorkerAt(topic, to, this.self.node, (node) => this.members().some((w) => w.node === node)),
      );
    this.asked.track(message.id!, { target, request: message, forgetAt: WaitingRequests.deadline(message.timeoutMs) });
    this.lane.sendTo(target, message);
    return true;
  }

  /** The ready worker serving `to`; the newest one while a rolling restart has two. */
  private servingAt({ node, slot }: WorkerAddress): WorkerInfo | undefined {
    let serving: WorkerInfo | undefined;
    for (const w of this.members()) {
      if (w.node === node && w.slot === slot && w.state === 'ready' && (!serving || w.startedAt > serving.startedAt)) serving = w;
    }
    return serving;
  }

  private arrived(message: MessageEnvelope): void {
    const { from } = message;
    // This node's own publishes reach its workers through the primary.
    if (from.node === this.self.node) return;
    // A node not heard yet is not a member: what it sends now could not be answered.
    if (!this.members().some((w) => w.node === from.node)) return;
    switch (message.kind) {
      case 'publish':
      case 'send':
        return this.deliver(message);
      case 'request': {
        const id = `d${++this.sequence}`;
        this.answering.track(id, { requester: from, requesterId: message.id!, forgetAt: WaitingRequests.deadline(message.timeoutMs) });
        return this.deliver({ ...message, id });
      }
      case 'reply': {
        const entry = this.asked.get(message.id!);
        // Given up already, or not the worker it was sent to.
        if (!entry || !sameWorker(entry.target, from)) return;
        this.asked.take(message.id!);
        return this.deliver(message);
      }
    }
  }

  /** Requests written to a process that nobody hears any more: they fail now. */
  private unheard(messages: readonly MessageEnvelope[]): void {
    for (const message of messages) {
      if (message.kind !== 'request') continue;
      const entry = this.asked.take(message.id!);
      if (!entry) continue;
      const { target } = entry;
      this.fail(
        entry.request,
        new WorkerUnavailableError(message.topic, target.slot, `slot ${target.slot} (pid ${target.pid}) is gone`, target.node),
      );
    }
  }

  private laneUp(): void {
    const waiters = this.upWaiters;
    this.upWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** The replies of the requests in flight cannot come back: they fail now. */
  private laneDown(): void {
    for (const { request } of this.asked.takeWhere(() => true)) this.fail(request, linkDown(request.topic, request.to?.node));
    this.answering.takeWhere(() => true);
  }

  private refuse(request: MessageEnvelope, error: Error): true {
    // Answered asynchronously, as over a wire, so the caller is never re-entered.
    queueMicrotask(() => this.fail(request, error));
    return true;
  }

  private fail(request: MessageEnvelope, error: Error): void {
    this.deliver(errorReply(request, this.self, error));
  }
}

function key({ node, id, pid }: WorkerIdentity): string {
  return `${node}/${id}/${pid}`;
}

function sameWorker(a: WorkerIdentity, b: WorkerIdentity): boolean {
  return a.node === b.node && a.id === b.id && a.pid === b.pid;
}
