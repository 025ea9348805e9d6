import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { BehaviorSubject, Subject, type Observable, type Subscription } from 'rxjs';
import { CLUSTER_MODULE_OPTIONS } from './cluster.module-definition.js';
import type { ClusterEvent, WorkerIdentity } from './interfaces/cluster-event.interface.js';
import type {
  ClusterMessage,
  PublishOptions,
  RequestHandler,
  RequestOptions,
  ScatterOptions,
  ScatterResult,
  WorkerTarget,
} from './interfaces/cluster-message.interface.js';
import type { ClusterModuleOptions } from './interfaces/cluster-module-options.interface.js';
import type { ClusterState, NodeInfo, ScaleArgument, ScaleResult, WorkerInfo } from './interfaces/worker-info.interface.js';
import { ClusterArgumentError, ScaleUnavailableError } from './cluster.errors.js';
import { readScaleArgument, SCALE_ALLOWED } from './common/scale-argument.js';
import { isLeaderOf, type Leader } from './leadership/leader.interface.js';
import { DEFAULT_REQUEST_TIMEOUT_MS } from './cluster.constants.js';
import type { MessageBus } from './messaging/message-bus.js';
import { acquireBus, releaseBus } from './messaging/shared-bus.js';
import { ClusterTransport, type ClusterRole } from './transports/cluster-transport.interface.js';

export { DEFAULT_REQUEST_TIMEOUT_MS };

/**
 * The application's view of the cluster: who this worker is, every worker's lifecycle, and messages
 * between workers.
 *
 * @example
 * ```ts
 * constructor(private readonly cluster: ClusterService) {}
 *
 * this.cluster.publish('cache.invalidate', { key });
 * this.cluster.on<{ key: string }>('cache.invalidate').subscribe(({ data }) => cache.delete(data.key));
 * const n = await this.cluster.request<number>('sessions.count', null, { to: 0, timeoutMs: 500 });
 * ```
 */
@Injectable()
export class ClusterService implements OnApplicationShutdown {
  private readonly events = new Subject<ClusterEvent>();
  private readonly membership: BehaviorSubject<readonly WorkerInfo[]>;
  private readonly nodeList: BehaviorSubject<readonly NodeInfo[]>;
  private readonly leading: BehaviorSubject<Leader | null>;
  private readonly subscriptions: Subscription[] = [];
  /** Shared by every `ClusterService` of this process (see `acquireBus`). */
  private readonly bus: MessageBus;
  private readonly timeoutMs: number;
  private closed = false;

  constructor(
    @Inject(ClusterTransport) private readonly transport: ClusterTransport,
    @Inject(CLUSTER_MODULE_OPTIONS) options: ClusterModuleOptions,
  ) {
    this.membership = new BehaviorSubject(transport.workers());
    this.nodeList = new BehaviorSubject(transport.nodes());
    this.leading = new BehaviorSubject(transport.leader());
    this.subscriptions.push(
      transport.events$.subscribe(this.events),
      transport.workers$.subscribe((workers) => this.membership.next(workers)),
      transport.nodes$.subscribe((nodes) => this.nodeList.next(nodes)),
      transport.leader$.subscribe((leader) => this.leading.next(leader)),
    );
    this.timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.bus = acquireBus(transport);
  }

  /** `worker` in a forked worker, `standalone` when the app runs without a cluster. */
  get role(): ClusterRole {
    return this.transport.role;
  }

  /** This process: `{ node, id, slot, pid }`. */
  get self(): WorkerIdentity {
    return this.transport.self;
  }

  /**
   * Lifecycle of every worker of the cluster (`fork`, `online`, `listening`, `ready`, `disconnect`,
   * `exit`, `restart-scheduled`, `crash-loop`, `shutdown`, `rolling-restart`). Hot: only events after
   * subscription. Completes when the app shuts down.
   */
  get events$(): Observable<ClusterEvent> {
    return this.events.asObservable();
  }

  /** Live workers; replays the latest snapshot to each subscriber. Completes when the app shuts down. */
  get workers$(): Observable<readonly WorkerInfo[]> {
    return this.membership.asObservable();
  }

  /** The latest snapshot of live workers, ordered by node, then slot. */
  workers(): readonly WorkerInfo[] {
    return this.membership.value;
  }

  /**
   * The nodes of the cluster (a node is one primary and its workers: a host, VM or pod), this one
   * first; replays the latest list. One entry unless a transport spans several nodes. Completes when
   * the app shuts down.
   */
  get nodes$(): Observable<readonly NodeInfo[]> {
    return this.nodeList.asObservable();
  }

  /** The latest list of nodes. */
  nodes(): readonly NodeInfo[] {
    return this.nodeList.value;
  }

  /** Expected number of workers and whether the crash-loop cap was reached. */
  state(): ClusterState {
    return this.transport.state();
  }

  /**
   * The one worker of the cluster that runs what must run once: `{ node, slot, pid, epoch }`, or
   * `null` while there is none (during a handover, or while the nodes cannot reach Redis). Replays the
   * current leader to each subscriber. Completes when the app shuts down.
   *
   * On one node the primary appoints the lowest ready slot and keeps it until that worker exits or
   * begins to drain; across nodes, the node holding the Redis lease appoints. `epoch` grows with every
   * appointment: stamp side effects with it to refuse a former leader's late writes.
   */
  get leader$(): Observable<Leader | null> {
    return this.leading.asObservable();
  }

  /** The current leader, or `null`. */
  leader(): Leader | null {
    return this.leading.value;
  }

  /** Whether this worker is the cluster's leader now. */
  isLeader(): boolean {
    return isLeaderOf(this.leading.value, this.transport.self);
  }

  /** `true` from the moment this process begins to drain: it should no longer be sent traffic. */
  get draining(): boolean {
    return this.transport.draining;
  }

  /**
   * Emits once, the moment this worker begins to drain (a rolling restart, a shutdown), and completes;
   * a later subscriber gets it at once. Close here what holds connections open for good (WebSockets,
   * server-sent events, long polls), so that their clients reconnect to a worker that stays instead of
   * holding the drain until its deadline.
   */
  get draining$(): Observable<void> {
    return this.transport.draining$;
  }

  /**
   * Starts a zero-downtime rolling restart of this node's workers (as SIGHUP to its primary does):
   * one slot at a time, the replacement first. Progress arrives on `events$` as `rolling-restart`
   * (`start`, `step`, `done`, or `aborted` with the reason). A request while one runs joins it if
   * that one has yet to reach every worker; otherwise every worker is replaced again right after it.
   */
  restartWorkers(): void {
    this.transport.requestRollingRestart();
  }

  /**
   * Changes the number of workers of this node, as `nestjs-cluster scale` does: to a count (`4`), or by
   * a change of the current one (`'+2'`, `'-1'`), within 1 to 4096. New workers are forked in new slots
   * after the last; a scale-down drains the highest slots the way a rolling restart drains a replaced
   * worker (no request cut). Resolves with the counts before and after once the new workers are ready
   * and the removed ones exited (a worker the change removes hears it as it begins to drain). Changes
   * run one after the other in the primary, each from the count the one before left.
   *
   * Rejects with `ClusterArgumentError` for a value that is no count or change, or a count out of
   * bounds, and with `ScaleUnavailableError` while the node shuts down or when clustering is off.
   *
   * @example
   * ```ts
   * const { from, to } = await this.cluster.scale('+2');
   * ```
   */
  async scale(workers: ScaleArgument): Promise<ScaleResult> {
    const argument = readScaleArgument(workers);
    if (argument === undefined) throw new ClusterArgumentError('workers', workers, SCALE_ALLOWED);
    try {
      return await this.transport.scale(argument);
    } catch (error) {
      // Named with the value as the caller gave it (4, not "4").
      if (error instanceof ClusterArgumentError) throw new ClusterArgumentError('workers', workers, error.allowed);
      if (error instanceof ScaleUnavailableError) throw new ScaleUnavailableError(workers, error.reason);
      throw error;
    }
  }

  /**
   * Sends `data` on `topic` to every other worker (and to this one with `includeSelf`). Throws at once,
   * sending nothing, if `data` cannot be serialized (`SerializationError`) or is over
   * `messaging.maxMessageBytes` (`MessageTooLargeError`).
   *
   * Returns `false` when a receiver is known to be dropping messages because its queue is full (as
   * the primary last reported; `workers()` shows which one is `congested`): this message may not
   * reach it. Delivery is at most once, in order from one sender to one receiver.
   */
  publish(topic: string, data: unknown, options?: PublishOptions): boolean {
    return this.bus.publish(topic, data, options);
  }

  /** Messages on `topic` that reach this worker (`publish` from others, `send` to this slot). */
  on<T = unknown>(topic: string): Observable<ClusterMessage<T>> {
    return this.bus.on<T>(topic);
  }

  /**
   * Sends `data` on `topic` to the worker in slot `to` of this node, or at `{ node, slot }`; throws
   * `WorkerUnavailableError` if there is none. Returns `false` when that worker is known to be
   * dropping messages because its queue is full.
   */
  send(to: WorkerTarget, topic: string, data: unknown): boolean {
    return this.bus.send(to, topic, data);
  }

  /**
   * Answers requests on `topic` in this worker. One handler per topic and process; returns a function
   * that removes it.
   */
  handle<T = unknown, R = unknown>(topic: string, handler: RequestHandler<T, R>): () => void {
    return this.bus.handle(topic, handler);
  }

  /**
   * Asks the worker at `to` (a slot of this node, or `{ node, slot }`), or one worker that handles
   * `topic` (round-robin), and resolves with its reply.
   * Rejects with `WorkerUnavailableError` (no such worker, or it exited or hung before replying),
   * `NoHandlerError`, `RemoteHandlerError` (the handler threw), `RequestTimeoutError`,
   * `QueueFullError` (the request or its reply met a full queue), `RequestLimitError` (this worker
   * already waits for `messaging.maxPendingRequests` replies) or `MessageTooLargeError`.
   */
  request<R = unknown>(topic: string, data: unknown, options?: RequestOptions): Promise<R> {
    // No copy of `options` per call: this service's default travels beside it.
    return this.bus.request<R>(topic, data, options ?? {}, this.timeoutMs);
  }

  /**
   * Asks every worker (this one too; with `scope: 'node'`, only this node's) and gathers the replies,
   * the errors and the workers that missed, each named by node and slot.
   *
   * @example
   * ```ts
   * const { replies, missing } = await this.cluster.requestAll<number>('sessions.count', null);
   * const total = replies.reduce((sum, r) => sum + r.data, 0);
   * ```
   */
  requestAll<R = unknown>(topic: string, data: unknown, options?: ScatterOptions): Promise<ScatterResult<R>> {
    return this.bus.requestAll<R>(topic, data, { ...options, timeoutMs: options?.timeoutMs ?? this.timeoutMs });
  }

  onApplicationShutdown(): void {
    if (this.closed) return;
    this.closed = true;
    releaseBus(this.transport);
    for (const subscription of this.subscriptions) subscription.unsubscribe();
    this.events.complete();
    this.membership.complete();
    this.nodeList.complete();
    this.leading.complete();
  }
}
