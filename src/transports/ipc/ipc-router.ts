import type { Worker } from 'node:cluster';
import type { Socket } from 'node:net';
import { NoHandlerError, QueueFullError, RequestLimitError, TransportUnavailableError, WorkerUnavailableError } from '../../cluster.errors.js';
import type { DropReason, WorkerAddress, WorkerIdentity } from '../../interfaces/cluster-event.interface.js';
import { hasClusterNamespace, type ClusterEnvelope, type MessageEnvelope } from '../../messaging/envelope.js';
import { addressOf, replyWithError } from '../../messaging/remote-error.js';
import type { Unchecked, WireLimits } from '../message-validation.js';
import type { NodeLink } from '../node-link.interface.js';
import { stopReading } from '../../channel/connection-handle.js';
import { controlEnvelope, readFromWorker, unpack, type ReadyNotes } from '../../channel/channel-protocol.js';
import { WorkerOutbox } from '../../channel/worker-outbox.js';

/** A worker as the router sees it. */
interface Member {
  readonly worker: Worker;
  readonly identity: WorkerIdentity;
  /** Where replies to it go. */
  readonly address: WorkerAddress;
  /** Its transport listens (sent `hello`): messages sent earlier would be lost. */
  listening: boolean;
  /** `false` once the primary found it unresponsive: nothing more is routed to it. */
  available: boolean;
  /** Request topics it announced. */
  topics: ReadonlySet<string>;
  readonly outbox: WorkerOutbox;
  /** Requests it sent that wait for a reply here. */
  pending: number;
  /** Handlers of what it writes, made once (a message is read on the hot path). */
  readonly read: (item: Unchecked) => void;
  readonly malformed: (reason: string) => void;
}

/** A worker of another node, waiting here for a reply (its request came through the node link). */
interface RemoteRequester {
  readonly node: string;
  readonly address: WorkerAddress;
}

/**
 * A request routed to `target` (a worker here, or another node), waiting for its reply. Holds no
 * payload: the table stays small.
 */
interface InFlight {
  readonly requester: Member | RemoteRequester;
  readonly target: Member | string;
  readonly topic: string;
  /** The id the requester gave it; the router routes under an id of its own. */
  readonly requesterId: string;
  readonly forgetAt: number;
}

export interface RouterLimits extends WireLimits {
  /** This node: messages addressed to another one cannot be delivered here. */
  readonly node: string;
  /** Bytes of messages the primary holds for one worker. */
  readonly maxQueueBytes: number;
  /** Requests one worker may have waiting for a reply. */
  readonly maxPendingRequests: number;
}

/** What the router hands to the primary. None of these may throw into the message path. */
export interface RouterCallbacks {
  /** The slot's current worker id. */
  currentOfSlot(slot: number): number | undefined;
  /** The worker's transport listens (it said `hello`). */
  hello(workerId: number): void;
  /** The worker's app is ready; `notes`: what it found while starting, for the primary to report. */
  ready(workerId: number, notes: ReadyNotes): void;
  /** The worker asked for a rolling restart. */
  restart(workerId: number): void;
  /** The worker, told it no longer leads, has stopped acting as leader. */
  released(workerId: number): void;
  /** A message from `worker`, or for it, was dropped. */
  dropped(worker: WorkerIdentity, reason: DropReason, detail: string): void;
  /** The worker's queue filled up, or is down to half again. */
  congestion(workerId: number, congested: boolean): void;
  /** The router's own failure while handling one envelope: logged; the next envelope is handled as usual. */
  failed(error: unknown): void;
}

/** A reply later than the requester's own timeout is dropped there anyway; keep entries a bit longer. */
const FORGET_MARGIN_MS = 1_000;
const SWEEP_EVERY_MS = 1_000;

/**
 * The primary's half of the IPC transport. Every envelope a worker writes is checked here before
 * anything reads it; `from` is always the identity of the worker whose channel it came on, never what
 * the envelope claims. Messages are relayed worker to worker with their payloads still encoded
 * (the primary never decodes user data); replies are accepted only from the worker the request went
 * to. Control kinds go to the primary's callbacks.
 */
export class IpcRouter {
  /** Speaks for the router in error replies (no slot of its own). */
  private readonly identity: WorkerIdentity;
  private readonly members = new Map<number, Member>();
  private readonly inFlight = new Map<string, InFlight>();
  private readonly nextHandler = new Map<string, number>();
  private sequence = 0;
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly limits: RouterLimits,
    private readonly callbacks: RouterCallbacks,
    /** The other nodes of the cluster, when there are any. */
    private readonly link?: NodeLink,
  ) {
    this.identity = { node: limits.node, id: 0, slot: -1, pid: process.pid };
  }

  add(worker: Worker, identity: WorkerIdentity): void {
    const outbox = new WorkerOutbox(
      (message) => write(worker, message),
      this.limits.maxQueueBytes,
      (congested) => this.callbacks.congestion(worker.id, congested),
    );
    const member: Member = {
      worker,
      identity,
      address: addressOf(identity),
      listening: false,
      available: true,
      topics: new Set(),
      outbox,
      pending: 0,
      read: (item) => this.receiveOne(member, item),
      malformed: (reason) => this.callbacks.dropped(identity, 'malformed', reason),
    };
    this.members.set(worker.id, member);
  }

  /** Forgets a worker; requests it was answering fail at once instead of waiting for their timeout. */
  remove(workerId: number): void {
    const gone = this.members.get(workerId);
    if (!gone) return;
    this.members.delete(workerId);
    gone.outbox.close();
    for (const [id, entry] of this.inFlight) {
      if (entry.requester === gone) this.forget(id, entry);
      else if (entry.target === gone) {
        const reason = `slot ${gone.identity.slot} (pid ${gone.identity.pid}) exited before replying`;
        this.fail(id, entry, new WorkerUnavailableError(entry.topic, gone.identity.slot, reason));
      }
    }
  }

  /**
   * Takes a worker out of the routing (it stopped answering): requests addressed to its slot fail at
   * once, it gets no more published messages, and requests it was answering fail now.
   */
  setUnavailable(workerId: number, reason: string): void {
    const member = this.members.get(workerId);
    if (!member || !member.available) return;
    member.available = false;
    for (const [id, entry] of this.inFlight) {
      if (entry.target === member) this.fail(id, entry, new WorkerUnavailableError(entry.topic, member.identity.slot, reason));
    }
  }

  /**
   * Another node left, expired or cannot be reached any more: requests it was answering fail now,
   * and the ones it asked here are forgotten (their replies could not reach it).
   */
  nodeGone(node: string, reason: string): void {
    for (const [id, entry] of this.inFlight) {
      if (entry.target === node) this.fail(id, entry, new WorkerUnavailableError(entry.topic, undefined, reason, node));
      else if (!isMember(entry.requester) && entry.requester.node === node) this.forget(id, entry);
    }
  }

  /**
   * A message from a worker of another node, checked by the link: delivered to this node's workers,
   * a request routed to one of them, a reply matched with the request it answers.
   */
  receiveFromNode(node: string, message: MessageEnvelope): void {
    try {
      switch (message.kind) {
        case 'publish':
          for (const member of this.members.values()) if (member.listening && member.available) this.deliver(member, message);
          return;
        case 'send': {
          const target = this.memberAt(message.to!);
          if (target) this.deliver(target, message);
          return;
        }
        case 'request':
          return this.requestFromNode(node, message);
        case 'reply':
          return this.replyFromNode(node, message);
      }
    } catch (error) {
      this.callbacks.failed(error);
    }
  }

  /** The request topics this node's serving workers handle, for the other nodes' routing. */
  topics(): string[] {
    const topics = new Set<string>();
    for (const member of this.members.values()) if (member.listening && member.available) for (const topic of member.topics) topics.add(topic);
    return [...topics];
  }

  isCongested(workerId: number): boolean {
    return this.members.get(workerId)?.outbox.congested ?? false;
  }

  /** A control envelope to one worker: written at the next flush, ahead of queued messages. */
  sendTo(workerId: number, message: ClusterEnvelope): void {
    this.members.get(workerId)?.outbox.pushControl(message);
  }

  /** A control envelope to every worker whose transport listens. */
  broadcast(message: ClusterEnvelope): void {
    for (const member of this.members.values()) if (member.listening) member.outbox.pushControl(message);
  }

  /**
   * Everything a worker writes on its channel, and the handle that came with it. Never throws: a bad
   * envelope is dropped and reported.
   */
  receive(workerId: number, message: unknown, handle?: unknown): void {
    if (!hasClusterNamespace(message)) return; // the application's own IPC
    const sender = this.members.get(workerId);
    if (!sender) return;
    try {
      if (handle !== undefined) return this.handOff(sender, message as Unchecked, handle);
      unpack(message, sender.read, sender.malformed);
    } catch (error) {
      this.callbacks.failed(error);
    }
  }

  /**
   * A draining worker passes an open connection on: to the worker now serving its slot (the
   * replacement a rolling restart made ready first), else to any other; with nobody to take it, the
   * connection is closed and its client reconnects.
   */
  private handOff(sender: Member, message: Unchecked, handle: unknown): void {
    const connection = handle as Socket;
    // Node started reading it on arrival; what it read now would be lost on the way on.
    stopReading(connection);
    const read = readFromWorker(message, this.limits, sender.identity);
    if (typeof read === 'string' || read.kind !== 'handoff') {
      connection.destroy?.();
      return this.callbacks.dropped(sender.identity, 'malformed', typeof read === 'string' ? read : `${read.kind} with a handle`);
    }
    const successor = this.memberOfSlot(sender.identity.slot);
    const target = successor && successor !== sender ? successor : [...this.members.values()].find((m) => m !== sender && m.listening && m.available);
    if (!target?.worker.isConnected()) return void connection.destroy?.();
    target.worker.send(controlEnvelope.handoff(read.port), connection, (error) => error && connection.destroy?.());
  }

  /**
   * A connection the sticky listener accepted on `port`, with the bytes it read from it, for the
   * worker's HTTP server. `false` if that worker cannot take it now (exiting, or out of the routing).
   */
  handConnection(workerId: number, port: number, connection: Socket, head: Buffer): boolean {
    const member = this.members.get(workerId);
    if (!member?.listening || !member.available || !member.worker.isConnected()) return false;
    try {
      member.worker.send(controlEnvelope.handoff(port, head), connection, (error) => error && connection.destroy());
    } catch {
      return false; // the channel closed between the check and the write
    }
    return true;
  }

  private receiveOne(sender: Member, item: Unchecked): void {
    try {
      const read = readFromWorker(item, this.limits, sender.identity);
      if (typeof read === 'string') return this.callbacks.dropped(sender.identity, 'malformed', read);
      switch (read.kind) {
        case 'publish':
          return this.publish(sender, read);
        case 'send':
          return this.send(read);
        case 'request':
          return this.request(sender, read);
        case 'reply':
          return this.reply(sender, read);
        case 'hello':
          sender.listening = true;
          return this.callbacks.hello(sender.worker.id);
        case 'ready':
          return this.callbacks.ready(sender.worker.id, read.notes);
        case 'restart':
          return this.callbacks.restart(sender.worker.id);
        case 'released':
          return this.callbacks.released(sender.worker.id);
        case 'handlers':
          sender.topics = new Set(read.topics);
          return;
        case 'credit':
          return sender.outbox.credit(read.bytes);
        case 'heartbeat':
          return; // the primary counts every message as a sign of life
        case 'handoff':
          return this.callbacks.dropped(sender.identity, 'malformed', 'handoff: no connection came with it');
      }
    } catch (error) {
      this.callbacks.failed(error);
    }
  }

  private publish(sender: Member, message: MessageEnvelope): void {
    for (const member of this.members.values()) {
      if (member !== sender && member.listening && member.available) this.deliver(member, message);
    }
    // The link being down is the sender's to know (its snapshot says so): same-node delivery went on.
    this.link?.publish(message);
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
    const target =
      to === undefined
        ? (this.pickHandler(topic) ?? this.remoteHandler(topic))
        : to.node === this.limits.node
          ? this.memberAt(to)
          : this.remoteNode(to);
    if (!target) return this.refuse(sender, request, this.undeliverable(topic, to));
    const id = String(++this.sequence);
    if (typeof target === 'string') {
      if (!this.link!.sendTo(target, { ...request, id })) {
        return this.refuse(sender, request, new TransportUnavailableError(topic, target, 'the link to the other nodes is down'));
      }
      return this.track(id, sender, target, request);
    }
    if (!target.outbox.push({ ...request, id })) {
      this.callbacks.dropped(target.identity, 'queue-full', `request "${topic}" from slot ${sender.identity.slot}`);
      return this.refuse(sender, request, new QueueFullError(topic, target.identity.slot));
    }
    this.track(id, sender, target, request);
  }

  /** A request of another node's worker, for a worker here. */
  private requestFromNode(node: string, request: MessageEnvelope): void {
    const { topic, to } = request;
    const requester: RemoteRequester = { node, address: addressOf(request.from) };
    const target = to === undefined ? this.pickHandler(topic) : this.memberAt(to);
    const answer = (error: Error) => this.link!.sendTo(node, replyWithError(topic, request.id, requester.address, this.identity, error));
    if (!target) return void answer(this.undeliverable(topic, to && to.node === this.limits.node ? to : undefined));
    const id = String(++this.sequence);
    if (!target.outbox.push({ ...request, id })) {
      this.callbacks.dropped(target.identity, 'queue-full', `request "${topic}" from node ${node}`);
      return void answer(new QueueFullError(topic, target.identity.slot));
    }
    this.track(id, requester, target, request);
  }

  /** The reply of another node to a request of a worker here. */
  private replyFromNode(node: string, reply: MessageEnvelope): void {
    const entry = this.inFlight.get(reply.id!);
    if (!entry || entry.target !== node) return; // given up, or not that node's to answer
    this.forget(reply.id!, entry);
    this.answer(entry, { ...reply, id: entry.requesterId });
  }

  private track(id: string, requester: Member | RemoteRequester, target: Member | string, request: MessageEnvelope): void {
    const forgetAt = Date.now() + request.timeoutMs! + FORGET_MARGIN_MS;
    this.inFlight.set(id, { requester, target, topic: request.topic, requesterId: request.id!, forgetAt });
    if (isMember(requester)) requester.pending += 1;
    this.sweepTimer ??= setInterval(this.sweep, SWEEP_EVERY_MS).unref();
  }

  private reply(sender: Member, reply: MessageEnvelope): void {
    const entry = this.inFlight.get(reply.id!);
    if (!entry) return; // its requester gave up or is gone
    if (entry.target !== sender) {
      const sentTo = typeof entry.target === 'string' ? `node ${entry.target}` : `slot ${entry.target.identity.slot}`;
      const detail = `reply "${reply.topic}" to a request sent to ${sentTo}, not to it`;
      return this.callbacks.dropped(sender.identity, 'unexpected-reply', detail);
    }
    this.forget(reply.id!, entry);
    this.answer(entry, { ...reply, id: entry.requesterId, to: entry.requester.address });
  }

  /** Hands a reply (already under the requester's own id) to whoever waits for it, here or on another node. */
  private answer(entry: InFlight, reply: MessageEnvelope): void {
    const { requester } = entry;
    if (!isMember(requester)) return void this.link!.sendTo(requester.node, reply);
    if (!requester.outbox.push(reply)) {
      this.callbacks.dropped(requester.identity, 'queue-full', `reply "${reply.topic}" from slot ${reply.from.slot}`);
      const error = new QueueFullError(reply.topic, requester.identity.slot);
      requester.outbox.push(replyWithError(reply.topic, entry.requesterId, requester.address, this.identity, error), false);
    }
  }

  /** Answers a request the router could not route. Droppable: a flood of refused requests must not queue a flood of answers to a sender that does not read. */
  private refuse(sender: Member, request: MessageEnvelope, error: Error): void {
    this.deliver(sender, replyWithError(request.topic, request.id, sender.address, this.identity, error));
  }

  /** Queues a message that may be dropped; reports it when the receiver's queue is full. */
  private deliver(member: Member, message: MessageEnvelope): void {
    if (!member.outbox.push(message)) {
      this.callbacks.dropped(member.identity, 'queue-full', `${message.kind} "${message.topic}" from slot ${message.from.slot}`);
    }
  }

  /** Ends a routed request with an error reply to its requester. */
  private fail(id: string, entry: InFlight, error: Error): void {
    this.forget(id, entry);
    const { requester } = entry;
    const reply = replyWithError(entry.topic, entry.requesterId, requester.address, this.identity, error);
    if (isMember(requester)) requester.outbox.push(reply, false);
    else this.link!.sendTo(requester.node, reply);
  }

  private forget(id: string, entry: InFlight): void {
    this.inFlight.delete(id);
    if (isMember(entry.requester)) entry.requester.pending -= 1;
  }

  /** Another node that runs a worker at `to`, as the link last heard. */
  private remoteNode(to: WorkerAddress): string | undefined {
    return this.link?.serves(to) ? to.node : undefined;
  }

  /** Another node that handles `topic`, in turn. */
  private remoteHandler(topic: string): string | undefined {
    return this.link?.handlersOf(topic)[0];
  }

  /** The worker serving `to`, when it is on this node, listens and answers. */
  private memberAt(to: WorkerAddress): Member | undefined {
    return to.node === this.limits.node ? this.memberOfSlot(to.slot) : undefined;
  }

  /** Why a request to `to` (or to any handler of `topic`) cannot be routed. */
  private undeliverable(topic: string, to: WorkerAddress | undefined): Error {
    if (to === undefined) return new NoHandlerError(topic);
    if (to.node === this.limits.node) return new WorkerUnavailableError(topic, to.slot, 'no live worker in that slot');
    if (this.link && !this.link.up) return new TransportUnavailableError(topic, to.node, 'the link to the other nodes is down');
    if (this.link?.knows(to.node)) return new WorkerUnavailableError(topic, to.slot, 'no ready worker in that slot', to.node);
    return new WorkerUnavailableError(topic, to.slot, 'no such node in the cluster', to.node);
  }

  private memberOfSlot(slot: number): Member | undefined {
    const workerId = this.callbacks.currentOfSlot(slot);
    const member = workerId === undefined ? undefined : this.members.get(workerId);
    return member?.listening && member.available ? member : undefined;
  }

  /** Round-robin among the workers that announced the topic, in slot order. */
  private pickHandler(topic: string): Member | undefined {
    const handlers = [...this.members.values()]
      .filter((m) => m.listening && m.available && m.topics.has(topic))
      .sort((a, b) => a.identity.slot - b.identity.slot || a.identity.id - b.identity.id);
    if (handlers.length === 0) return undefined;
    const turn = this.nextHandler.get(topic) ?? 0;
    this.nextHandler.set(topic, (turn + 1) % handlers.length);
    return handlers[turn % handlers.length];
  }

  /** Forgets requests whose requester has given up, so the table cannot grow without bound. */
  private readonly sweep = (): void => {
    const now = Date.now();
    for (const [id, entry] of this.inFlight) if (entry.forgetAt <= now) this.forget(id, entry);
    if (this.inFlight.size === 0) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = undefined;
    }
  };
}

function write(worker: Worker, message: ClusterEnvelope): void {
  if (!worker.isConnected()) return;
  try {
    worker.send(message);
  } catch {
    // The channel closed between the check and the write: the worker is exiting.
  }
}

function isMember(requester: Member | RemoteRequester): requester is Member {
  return 'outbox' in requester;
}
