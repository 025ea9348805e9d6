import type { Logger } from '@nestjs/common';
import { firstValueFrom, isObservable, Observable, type Subscriber, type Subscription } from 'rxjs';
import { DEFAULT_REQUEST_TIMEOUT_MS, MAX_TIMER_MS, MAX_TOPIC_LENGTH } from '../cluster.constants.js';
import {
  ClusterArgumentError,
  DuplicateHandlerError,
  MessageTooLargeError,
  NoHandlerError,
  RequestLimitError,
  RequestTimeoutError,
  TransportUnavailableError,
  WorkerUnavailableError,
  type ClusterError,
} from '../cluster.errors.js';
import { ThrottledReport } from '../common/throttled-report.js';
import type {
  ClusterMessage,
  PublishOptions,
  RequestHandler,
  RequestOptions,
  ScatterOptions,
  ScatterResult,
  WorkerTarget,
} from '../interfaces/cluster-message.interface.js';
import type { WorkerAddress } from '../interfaces/cluster-event.interface.js';
import { isNodeId } from '../transports/message-validation.js';
import type { ClusterTransport } from '../transports/cluster-transport.interface.js';
import { messageEnvelope, type MessageEnvelope } from './envelope.js';
import { payloadCodec, type Payload, type PayloadCodec } from './payload-codec.js';
import { linkDown, noWorkerAt } from '../nodes/node-routing.js';
import { addressOf, errorReply, fromRemoteError } from './remote-error.js';

interface PendingRequest {
  readonly topic: string;
  readonly to: WorkerAddress | undefined;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: ClusterError) => void;
  readonly timer: NodeJS.Timeout;
}

const WARN_EVERY_MS = 5_000;

/**
 * Publish/subscribe, direct send, request/reply and scatter-gather on top of any `ClusterTransport`.
 * Payloads are serialized once, at the call, so bad data fails there and nothing is sent.
 */
export class MessageBus {
  private readonly codec: PayloadCodec;
  private readonly listeners = new Map<string, Set<Subscriber<ClusterMessage<unknown>>>>();
  private readonly handlers = new Map<string, RequestHandler<unknown, unknown>>();
  private readonly pending = new Map<string, PendingRequest>();
  private readonly subscription: Subscription;
  private readonly undecodable: ThrottledReport<string>;
  /** Methods of providers already wired to this bus, so a second explorer of the same process skips them. */
  private readonly bound = new WeakMap<object, Set<string>>();
  private sequence = 0;

  constructor(
    private readonly transport: ClusterTransport,
    logger: Logger,
    private readonly defaultTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS,
  ) {
    this.codec = payloadCodec(transport.serialization);
    this.undecodable = new ThrottledReport(WARN_EVERY_MS, (count, sample) => logger.error(`dropped ${count} undecodable message(s): ${sample}`));
    this.subscription = transport.messages$.subscribe((message) => this.receive(message));
  }

  /**
   * `true` the first time `instance.method` is claimed: the caller wires it. Later claims of the same
   * method (a second `ClusterModule` import) get `false`.
   */
  claim(instance: object, method: string): boolean {
    let methods = this.bound.get(instance);
    if (!methods) this.bound.set(instance, (methods = new Set()));
    if (methods.has(method)) return false;
    methods.add(method);
    return true;
  }

  /** Requests waiting for a reply (bounded: each one leaves on reply, error or timeout). */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** `false` when a receiver is known to be dropping messages (its queue is full): this one may not reach it. */
  publish(topic: string, data: unknown, options: PublishOptions = {}): boolean {
    checkTopic(topic);
    const payload = this.encode(topic, data);
    const message = messageEnvelope('publish', { topic, from: this.transport.self, data: payload });
    this.transport.send(message);
    if (options.includeSelf) queueMicrotask(() => this.deliver(message));
    const { id, node } = this.transport.self;
    const elsewhere = this.transport.state().transport === 'down' && this.transport.workers().some((w) => w.node !== node);
    return !elsewhere && !this.transport.workers().some((w) => w.congested && !(w.id === id && w.node === node));
  }

  on<T>(topic: string): Observable<ClusterMessage<T>> {
    checkTopic(topic);
    return new Observable<ClusterMessage<T>>((subscriber) => {
      let subscribers = this.listeners.get(topic);
      if (!subscribers) this.listeners.set(topic, (subscribers = new Set()));
      subscribers.add(subscriber as Subscriber<ClusterMessage<unknown>>);
      return () => {
        subscribers.delete(subscriber as Subscriber<ClusterMessage<unknown>>);
        if (subscribers.size === 0) this.listeners.delete(topic);
      };
    });
  }

  /** `false` when the receiver is known to be dropping messages (its queue is full): this one may not reach it. */
  send(target: WorkerTarget, topic: string, data: unknown): boolean {
    checkTopic(topic);
    const to = this.address(target);
    const payload = this.encode(topic, data);
    const worker = this.transport.workers().find((w) => w.slot === to.slot && w.node === to.node);
    if (!worker) throw this.unavailable(topic, to);
    this.checkLink(topic, to);
    this.transport.send(messageEnvelope('send', { topic, from: this.transport.self, to, data: payload }));
    return !worker.congested;
  }

  handle<T, R>(topic: string, handler: RequestHandler<T, R>): () => void {
    checkTopic(topic);
    if (typeof handler !== 'function') throw new ClusterArgumentError('handler', handler, 'a function');
    if (this.handlers.has(topic)) throw new DuplicateHandlerError(topic);
    this.handlers.set(topic, handler as RequestHandler<unknown, unknown>);
    this.announce();
    return () => {
      if (this.handlers.get(topic) !== handler) return;
      this.handlers.delete(topic);
      this.announce();
    };
  }

  /** `defaultTimeoutMs`: when `options` names none (a `ClusterService` passes its own). */
  request<R>(topic: string, data: unknown, options: RequestOptions = {}, defaultTimeoutMs = this.defaultTimeoutMs): Promise<R> {
    try {
      checkTopic(topic);
      const to = options.to === undefined ? undefined : this.address(options.to);
      const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
      checkTimeout(timeoutMs);
      const payload = this.encode(topic, data);
      if (to !== undefined && !this.transport.workers().some((w) => w.slot === to.slot && w.node === to.node)) {
        throw this.unavailable(topic, to);
      }
      if (to !== undefined) this.checkLink(topic, to);
      const limit = this.transport.limits.maxPendingRequests;
      if (this.pending.size >= limit) throw new RequestLimitError(topic, limit);
      const id = `${this.transport.self.pid}.${++this.sequence}`;
      return new Promise<R>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.pending.delete(id);
          reject(new RequestTimeoutError(topic, to?.slot, timeoutMs, this.otherNode(to)));
        }, timeoutMs);
        this.pending.set(id, { topic, to, resolve: resolve as (value: unknown) => void, reject, timer });
        this.transport.send(messageEnvelope('request', { topic, id, from: this.transport.self, to, data: payload, timeoutMs }));
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async requestAll<R>(topic: string, data: unknown, options: ScatterOptions = {}): Promise<ScatterResult<R>> {
    const { scope = 'cluster', timeoutMs } = options;
    if (scope !== 'cluster' && scope !== 'node') throw new ClusterArgumentError('scope', scope, "'cluster' or 'node'");
    const self = this.transport.self.node;
    // A slot lists two workers during a replacement: it is asked once, and the router picks who answers.
    const targets = new Map<string, WorkerAddress>();
    for (const worker of this.transport.workers()) {
      if (scope === 'node' && worker.node !== self) continue;
      targets.set(`${worker.node}\u0000${worker.slot}`, addressOf(worker));
    }
    const addresses = [...targets.values()].sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : a.slot - b.slot));
    const settled = await Promise.allSettled(addresses.map((to) => this.request<R>(topic, data, { to, timeoutMs })));
    const result: ScatterResult<R> = { replies: [], errors: [], missing: [] };
    settled.forEach((outcome, i) => {
      const address = addresses[i]!;
      if (outcome.status === 'fulfilled') result.replies.push({ ...address, data: outcome.value });
      else if (isMissing(outcome.reason)) {
        result.missing.push(address);
      } else result.errors.push({ ...address, error: outcome.reason as ClusterError });
    });
    return result;
  }

  /** Rejects what is still pending and completes every `on()` stream. */
  close(reason = 'the application is shutting down'): void {
    this.subscription.unsubscribe();
    this.undecodable.flush();
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(new WorkerUnavailableError(pending.topic, pending.to?.slot, reason, this.otherNode(pending.to)));
      this.pending.delete(id);
    }
    for (const subscribers of this.listeners.values()) for (const subscriber of subscribers) subscriber.complete();
    this.listeners.clear();
  }

  private receive(message: MessageEnvelope): void {
    switch (message.kind) {
      case 'publish':
      case 'send':
        return this.deliver(message);
      case 'request':
        return this.answer(message);
      case 'reply':
        return this.settle(message);
    }
  }

  private deliver(message: MessageEnvelope): void {
    const subscribers = this.listeners.get(message.topic);
    if (!subscribers) return; // nobody listens: skip decoding
    let data: unknown;
    try {
      data = this.codec.decode(message.data);
    } catch (error) {
      const sample = `"${message.topic}" from slot ${message.from.slot} (${(error as Error).message})`;
      return this.undecodable.note(`${message.from.id}`, sample);
    }
    const delivered: ClusterMessage<unknown> = { topic: message.topic, data, from: message.from };
    for (const subscriber of [...subscribers]) subscriber.next(delivered);
  }

  private answer(request: MessageEnvelope): void {
    const self = this.transport.self;
    const handler = this.handlers.get(request.topic);
    if (!handler) return this.transport.send(errorReply(request, self, new NoHandlerError(request.topic, self.slot)));
    const fail = (error: unknown) => this.transport.send(errorReply(request, self, error));
    const succeed = (value: unknown) => {
      let data;
      try {
        data = this.encode(request.topic, value);
      } catch (error) {
        return fail(error);
      }
      this.transport.send(messageEnvelope('reply', { topic: request.topic, id: request.id, from: self, to: addressOf(request.from), data }));
    };
    try {
      const outcome = handler(this.codec.decode(request.data), request.from);
      // A plain value is answered in this same turn; only promises and observables wait.
      if (isObservable(outcome)) firstValueFrom(outcome).then(succeed, fail);
      else if (isPromiseLike(outcome)) outcome.then(succeed, fail);
      else succeed(outcome);
    } catch (error) {
      fail(error);
    }
  }

  private settle(reply: MessageEnvelope): void {
    const pending = reply.id === undefined ? undefined : this.pending.get(reply.id);
    if (!pending) return; // timed out already: late replies are dropped
    this.pending.delete(reply.id!);
    clearTimeout(pending.timer);
    const node = this.transport.self.node;
    if (reply.error) return pending.reject(fromRemoteError(reply.error, pending.topic, pending.to, node));
    try {
      pending.resolve(this.codec.decode(reply.data));
    } catch (error) {
      const info = { code: 'CLUSTER_ERR_SERIALIZATION', message: `undecodable reply: ${(error as Error).message}` };
      pending.reject(fromRemoteError(info, pending.topic, pending.to ?? addressOf(reply.from), node));
    }
  }

  /** Serializes once, at the call: data that cannot be sent fails here and nothing is sent. */
  private encode(topic: string, data: unknown): Payload | undefined {
    const payload = this.codec.encode(topic, data);
    if (payload === undefined) return payload;
    const limit = this.transport.limits.maxMessageBytes;
    // A character is at most 3 UTF-8 bytes: only text that might be over the limit is measured.
    const bytes = typeof payload !== 'string' ? payload.byteLength : payload.length * 3 <= limit ? 0 : Buffer.byteLength(payload);
    if (bytes > limit) throw new MessageTooLargeError(topic, bytes, limit);
    return payload;
  }

  /** A slot of this node, or a checked `{ node, slot }`. */
  private address(target: WorkerTarget): WorkerAddress {
    if (typeof target === 'number') {
      checkSlot(target);
      return { node: this.transport.self.node, slot: target };
    }
    if (typeof target !== 'object' || target === null || !isNodeId(target.node)) {
      throw new ClusterArgumentError('to', target, 'a slot (a whole number >= 0) or { node, slot }');
    }
    checkSlot(target.slot);
    return addressOf(target);
  }

  /** A message for another node cannot go while the link to the other nodes is down. */
  private checkLink(topic: string, to: WorkerAddress): void {
    if (to.node !== this.transport.self.node && this.transport.state().transport === 'down') throw linkDown(topic, to.node);
  }

  /** `to`'s node when it is not this one (errors name a node only then). */
  private otherNode(to: WorkerAddress | undefined): string | undefined {
    return to && to.node !== this.transport.self.node ? to.node : undefined;
  }

  private unavailable(topic: string, to: WorkerAddress): WorkerUnavailableError {
    return noWorkerAt(topic, to, this.transport.self.node, (node) => this.transport.nodes().some((n) => n.node === node));
  }

  private announce(): void {
    this.transport.announce([...this.handlers.keys()]);
  }
}

/** A worker that did not answer: it timed out, went away, or its node cannot be reached now. */
function isMissing(error: unknown): boolean {
  return error instanceof RequestTimeoutError || error instanceof WorkerUnavailableError || error instanceof TransportUnavailableError;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

function checkTopic(topic: unknown): void {
  if (typeof topic !== 'string' || topic.length === 0 || topic.length > MAX_TOPIC_LENGTH) {
    throw new ClusterArgumentError('topic', topic, `a string of 1 to ${MAX_TOPIC_LENGTH} characters`);
  }
}

function checkSlot(slot: unknown): void {
  if (!Number.isInteger(slot) || (slot as number) < 0) throw new ClusterArgumentError('slot', slot, 'a whole number >= 0');
}

function checkTimeout(timeoutMs: unknown): void {
  if (!Number.isInteger(timeoutMs) || (timeoutMs as number) < 1 || (timeoutMs as number) > MAX_TIMER_MS) {
    throw new ClusterArgumentError('timeoutMs', timeoutMs, `a whole number from 1 to ${MAX_TIMER_MS}`);
  }
}
