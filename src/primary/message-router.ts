import type { Socket } from 'node:net';
import { NoHandlerError, QueueFullError, RequestLimitError, WorkerUnavailableError } from '../cluster.errors.js';
import type { DropReason, WorkerAddress, WorkerIdentity } from '../interfaces/cluster-event.interface.js';
import type { MessageEnvelope } from '../messaging/envelope.js';
import { addressOf, replyWithError } from '../messaging/remote-error.js';
import { WaitingRequests } from '../messaging/waiting-requests.js';
import { linkDown, nodeFor, noWorkerAt, unreachable } from '../nodes/node-routing.js';
import type { NodeLink } from '../transports/node-link.interface.js';
import { SlotTable, type Member } from './slot-table.js';

/** A worker of another node, waiting here for a reply (its request came through the node link). */
interface RemoteRequester {
  readonly node: string;
  readonly address: WorkerAddress;
}

/** A request a worker here answers, for a worker here or on another node. */
interface Answering {
  readonly requester: Member | RemoteRequester;
  readonly target: Member;
  readonly topic: string;
  /** The id the requester gave it; the router routes under an id of its own. */
  readonly requesterId: string;
  readonly forgetAt: number;
}

/** A request of a worker here that another node answers. */
interface Asked {
  readonly requester: Member;
  readonly node: string;
  readonly topic: string;
  readonly requesterId: string;
  readonly forgetAt: number;
}

/** What the router reports to the primary. Neither may throw. */
export interface RouterReports {
  /** A message from `worker`, or for it, was dropped. */
  dropped(worker: WorkerIdentity, reason: DropReason, detail: string): void;
  /** The router's own failure while routing one message: logged; the next one is routed as usual. */
  failed(error: unknown): void;
}

/**
 * The primary's message path, and nothing else: cluster messages between the workers of this node
 * (read from the slot table) and, through the node link, the other nodes. Payloads stay encoded (the
 * primary never decodes user data); a message was checked once, by the channel it came on. Replies are
 * accepted only from the worker the request went to.
 */
export class MessageRouter {
  /** Speaks for the router in error replies (no slot of its own). */
  private readonly identity: WorkerIdentity;
  private readonly answering = new WaitingRequests<Answering>((entry) => this.forgotten(entry));
  private readonly asked = new WaitingRequests<Asked>((entry) => this.forgotten(entry));
  private readonly nextHandler = new Map<string, number>();
  private sequence = 0;

  constructor(
    private readonly limits: { readonly node: string; readonly maxPendingRequests: number },
    private readonly table: SlotTable,
    private readonly reports: RouterReports,
    /** The other nodes of the cluster, when there are any. */
    private readonly link?: NodeLink,
  ) {
    this.identity = { node: limits.node, id: 0, slot: -1, pid: process.pid };
  }

  /** A checked message a worker of this node sent. Never throws. */
  route(sender: Member, message: MessageEnvelope): void {
    try {
      switch (message.kind) {
        case 'publish':
          return this.publish(sender, message);
        case 'send':
          return this.send(message);
        case 'request':
          return this.request(sender, message);
        case 'reply':
          return this.reply(sender, message);
      }
    } catch (error) {
      this.reports.failed(error);
    }
  }

  /**
   * A message from a worker of another node, checked by the link: delivered to this node's workers, a
   * request routed to one of them, a reply matched with the request it answers. Never throws.
   */
  receiveFromNode(node: string, message: MessageEnvelope): void {
    try {
      switch (message.kind) {
        case 'publish':
          for (const member of this.table.members()) if (SlotTable.reachable(member)) this.deliver(member, message);
          return;
        case 'send': {
          const target = this.memberAt(message.to!);
          if (target) this.deliver(target, message);
          return;
        }
        case 'request':
          return this.requestFromNode(node, message);
        case 'reply': {
          const entry = this.asked.get(message.id!);
          if (entry?.node !== node) return; // given up, or not that node's to answer
          this.settle(message.id!, entry);
          return this.answer(entry.requester, entry.requesterId, { ...message, id: entry.requesterId });
        }
      }
    } catch (error) {
      this.reports.failed(error);
    }
  }

  /**
   * A draining worker passes an open connection on: to the worker now serving its slot (the
   * replacement a rolling restart made ready first), else to any other; with nobody to take it, the
   * connection is closed and its client reconnects.
   */
  handToSuccessor(sender: Member, port: number, connection: Socket): void {
    const successor = this.table.servingAt(sender.identity.slot);
    const target = successor && successor !== sender ? successor : [...this.table.members()].find((m) => m !== sender && SlotTable.reachable(m));
    if (!target?.channel.handConnection(port, connection)) connection.destroy?.();
  }

  /** The request topics this node's reachable workers handle, for the other nodes' routing. */
  topics(): string[] {
    const topics = new Set<string>();
    for (const member of this.table.members()) if (SlotTable.reachable(member)) for (const topic of member.topics) topics.add(topic);
    return [...topics];
  }

  /** A worker exited: requests it was answering fail at once instead of waiting for their timeout. */
  workerGone(gone: Member): void {
    const reason = `slot ${gone.identity.slot} (pid ${gone.identity.pid}) exited before replying`;
    for (const entry of this.answering.takeWhere((e) => e.target === gone || e.requester === gone)) {
      if (entry.target === gone) this.fail(entry, new WorkerUnavailableError(entry.topic, gone.identity.slot, reason));
    }
    this.asked.takeWhere((e) => e.requester === gone);
  }

  /** A worker stopped answering (it is out of the routing): requests it was answering fail now. */
  unavailable(member: Member, reason: string): void {
    for (const entry of this.answering.takeWhere((e) => e.target === member)) {
      this.fail(entry, new WorkerUnavailableError(entry.topic, member.identity.slot, reason));
    }
  }

  /**
   * Another node left, expired or cannot be reached any more: requests it was answering fail now,
   * and the ones it asked here are forgotten (their replies could not reach it).
   */
  nodeGone(node: string, reason: string): void {
    for (const entry of this.asked.takeWhere((e) => e.node === node)) {
      entry.requester.pending -= 1;
      entry.requester.channel.deliver(this.errorReply(entry, new WorkerUnavailableError(entry.topic, undefined, reason, node)), false);
    }
    this.answering.takeWhere((e) => !isMember(e.requester) && e.requester.node === node);
  }

  close(): void {
    this.answering.close();
    this.asked.close();
  }

  private publish(sender: Member, message: MessageEnvelope): void {
    for (const member of this.table.members()) if (member !== sender && SlotTable.reachable(member)) this.deliver(member, message);
    // The link being down is the sender's to know (its snapshot says so): same-node delivery went on.
    // With lanes, the sender wrote it on its own lane already.
    if (!this.link?.lanes) this.link?.publish(message);
  }

  private send(message: MessageEnvelope): void {
    const to = message.to!;
    if (to.node !== this.limits.node) return void this.link?.sendTo(to.node, message);
    // No worker in the slot: the sender checked its snapshot, which was already stale.
    const target = this.memberAt(to);
    if (target) this.deliver(target, message);
  }

  private request(sender: Member, request: MessageEnvelope): void {
    const { topic, to } = request;
    if (sender.pending >= this.limits.maxPendingRequests) {
      return this.refuse(sender, request, new RequestLimitError(topic, this.limits.maxPendingRequests));
    }
    const here = to === undefined ? this.pickHandler(topic) : this.memberAt(to);
    if (here) return void this.toWorker(sender, here, request);
    if (to?.node === this.limits.node)
      return this.refuse(
        sender,
        request,
        noWorkerAt(topic, to, this.limits.node, () => true),
      );
    const node = nodeFor(this.link, request);
    if (node === undefined) {
      return this.refuse(sender, request, to === undefined ? new NoHandlerError(topic) : unreachable(this.link, topic, to, this.limits.node));
    }
    const id = String(++this.sequence);
    if (!this.link!.sendTo(node, { ...request, id })) return this.refuse(sender, request, linkDown(topic, node));
    sender.pending += 1;
    this.asked.track(id, { requester: sender, node, topic, requesterId: request.id!, forgetAt: WaitingRequests.deadline(request.timeoutMs) });
  }

  private toWorker(requester: Member | RemoteRequester, target: Member, request: MessageEnvelope): boolean {
    const id = String(++this.sequence);
    if (!target.channel.deliver({ ...request, id })) {
      const from = isMember(requester) ? `slot ${requester.identity.slot}` : `node ${requester.node}`;
      this.reports.dropped(target.identity, 'queue-full', `request "${request.topic}" from ${from}`);
      const error = new QueueFullError(request.topic, target.identity.slot);
      if (isMember(requester)) this.refuse(requester, request, error);
      else this.link!.sendTo(requester.node, replyWithError(request.topic, request.id, requester.address, this.identity, error));
      return false;
    }
    if (isMember(requester)) requester.pending += 1;
    const forgetAt = WaitingRequests.deadline(request.timeoutMs);
    this.answering.track(id, { requester, target, topic: request.topic, requesterId: request.id!, forgetAt });
    return true;
  }

  /** A request of another node's worker, for a worker here. */
  private requestFromNode(node: string, request: MessageEnvelope): void {
    const { topic, to } = request;
    const requester: RemoteRequester = { node, address: addressOf(request.from) };
    const target = to === undefined ? this.pickHandler(topic) : this.memberAt(to);
    if (target) return void this.toWorker(requester, target, request);
    const error = to === undefined ? new NoHandlerError(topic) : noWorkerAt(topic, to, this.limits.node, () => true);
    this.link!.sendTo(node, replyWithError(topic, request.id, requester.address, this.identity, error));
  }

  private reply(sender: Member, reply: MessageEnvelope): void {
    const entry = this.answering.get(reply.id!);
    if (entry?.target !== sender) {
      const sentTo = entry ? `slot ${entry.target.identity.slot}` : this.asked.get(reply.id!) && `node ${this.asked.get(reply.id!)!.node}`;
      // No entry at all: its requester gave up or is gone.
      if (sentTo) this.reports.dropped(sender.identity, 'unexpected-reply', `reply "${reply.topic}" to a request sent to ${sentTo}, not to it`);
      return;
    }
    this.settle(reply.id!, entry);
    const { requester } = entry;
    if (!isMember(requester)) return void this.link!.sendTo(requester.node, { ...reply, id: entry.requesterId, to: requester.address });
    this.answer(requester, entry.requesterId, { ...reply, id: entry.requesterId, to: addressOf(requester.identity) });
  }

  /** Hands a reply (already under the requester's own id) to a worker here that waits for it. */
  private answer(requester: Member, requesterId: string, reply: MessageEnvelope): void {
    if (requester.channel.deliver(reply)) return;
    this.reports.dropped(requester.identity, 'queue-full', `reply "${reply.topic}" from slot ${reply.from.slot}`);
    const error = new QueueFullError(reply.topic, requester.identity.slot);
    requester.channel.deliver(replyWithError(reply.topic, requesterId, addressOf(requester.identity), this.identity, error), false);
  }

  /** Answers a request the router could not route. Droppable: a flood of refused requests must not queue a flood of answers to a sender that does not read. */
  private refuse(sender: Member, request: MessageEnvelope, error: Error): void {
    this.deliver(sender, replyWithError(request.topic, request.id, addressOf(sender.identity), this.identity, error));
  }

  /** Queues a message that may be dropped; reports it when the receiver's queue is full. */
  private deliver(member: Member, message: MessageEnvelope): void {
    if (!member.channel.deliver(message)) {
      this.reports.dropped(member.identity, 'queue-full', `${message.kind} "${message.topic}" from slot ${message.from.slot}`);
    }
  }

  /** Ends a request a worker here was answering with an error reply to its requester. */
  private fail(entry: Answering, error: Error): void {
    const { requester } = entry;
    if (!isMember(requester)) {
      return void this.link!.sendTo(requester.node, replyWithError(entry.topic, entry.requesterId, requester.address, this.identity, error));
    }
    requester.pending -= 1;
    requester.channel.deliver(this.errorReply(entry, error), false);
  }

  private errorReply(entry: Answering | Asked, error: Error): MessageEnvelope {
    const requester = entry.requester as Member;
    return replyWithError(entry.topic, entry.requesterId, addressOf(requester.identity), this.identity, error);
  }

  private settle(id: string, entry: Answering | Asked): void {
    if ('node' in entry) this.asked.take(id);
    else this.answering.take(id);
    if (isMember(entry.requester)) entry.requester.pending -= 1;
  }

  /** A request whose requester has given up. */
  private forgotten(entry: Answering | Asked): void {
    if (isMember(entry.requester)) entry.requester.pending -= 1;
  }

  /** The worker serving `to`, when it is on this node and can take messages. */
  private memberAt(to: WorkerAddress): Member | undefined {
    return to.node === this.limits.node ? this.table.servingAt(to.slot) : undefined;
  }

  /** Round-robin among the workers that announced the topic, in slot order. */
  private pickHandler(topic: string): Member | undefined {
    const handlers = [...this.table.members()]
      .filter((m) => SlotTable.reachable(m) && m.topics.has(topic))
      .sort((a, b) => a.identity.slot - b.identity.slot || a.identity.id - b.identity.id);
    if (handlers.length === 0) return undefined;
    const turn = this.nextHandler.get(topic) ?? 0;
    this.nextHandler.set(topic, (turn + 1) % handlers.length);
    return handlers[turn % handlers.length];
  }
}

function isMember(requester: Member | RemoteRequester): requester is Member {
  return 'channel' in requester;
}
