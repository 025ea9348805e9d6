import type { ClusterEvent, WorkerAddress, WorkerIdentity } from '../interfaces/cluster-event.interface.js';
import type { ScaleResult, WorkerInfo } from '../interfaces/worker-info.interface.js';
import type { MessageEnvelope } from '../messaging/envelope.js';
import { errorReply } from '../messaging/remote-error.js';
import type { Serialization } from '../messaging/payload-codec.js';
import { NoHandlerError, ScaleUnavailableError, WorkerUnavailableError } from '../cluster.errors.js';
import { CLUSTER_DEFAULTS, processNodeId } from '../cluster-options.js';
import type { MessageLimits } from './cluster-transport.interface.js';
import { MembershipView, NO_DROPS } from './membership-view.js';
import { MembershipTransport } from './membership.transport.js';

/**
 * The transport of a standalone process (clustering off, or the app built outside
 * `bootstrapClustered`, as in tests): the cluster is this one process, and messages addressed to it
 * loop back, still serialized, so behaviour matches a real cluster.
 */
export class LocalTransport extends MembershipTransport {
  readonly role = 'standalone' as const;
  protected handled: ReadonlySet<string> = new Set();

  constructor(
    self: WorkerIdentity = { node: processNodeId(), id: 0, slot: 0, pid: process.pid },
    serialization: Serialization = 'json',
    limits: MessageLimits = CLUSTER_DEFAULTS.messaging,
  ) {
    // Until a runtime says otherwise, this process is the cluster's one ready member, and its leader.
    const now = Date.now();
    const member: WorkerInfo = { ...self, state: 'ready', startedAt: now, readyAt: now, restarts: 0, congested: false };
    const leader = { node: self.node, slot: self.slot, pid: self.pid, epoch: 1 };
    super(self, serialization, limits, new MembershipView(self.node, [member], { expectedWorkers: 1, crashLoop: false, dropped: NO_DROPS, leader }));
  }

  /** One process cannot be restarted without downtime: says so through `events$`. */
  requestRollingRestart(): void {
    const reason = 'clustering is off: a standalone process has no other worker to take over';
    const node = this.self.node;
    queueMicrotask(() => this.view.apply(this.view.workers(), { type: 'rolling-restart', phase: 'aborted', reason, node, at: Date.now() }));
  }

  /** A standalone process is the whole of its node: it has no workers to add or remove. */
  override scale(workers: string): Promise<ScaleResult> {
    return Promise.reject(new ScaleUnavailableError(workers, 'clustering is off: a standalone process has no workers to add or remove'));
  }

  send(message: MessageEnvelope): void {
    // Delivered asynchronously, as over a wire, so callers never re-enter themselves.
    queueMicrotask(() => this.route(message));
  }

  announce(topics: readonly string[]): void {
    this.handled = new Set(topics);
  }

  /** Records a lifecycle change of this process (the standalone runtime calls it). */
  apply(workers: readonly WorkerInfo[], event?: ClusterEvent): void {
    this.view.apply(workers, event);
  }

  private isSelf(to: WorkerAddress | undefined): boolean {
    return to !== undefined && to.node === this.self.node && to.slot === this.self.slot;
  }

  protected route(message: MessageEnvelope): void {
    switch (message.kind) {
      case 'publish':
        return; // no other member
      case 'reply':
        return this.messages.next(message);
      case 'send':
        if (this.isSelf(message.to)) this.messages.next(message);
        return;
      case 'request': {
        const { to } = message;
        if (to !== undefined && !this.isSelf(to)) {
          const error =
            to.node === this.self.node
              ? new WorkerUnavailableError(message.topic, to.slot, 'no such slot in a standalone process')
              : new WorkerUnavailableError(message.topic, to.slot, 'no such node: a standalone process is a cluster of one', to.node);
          return this.messages.next(errorReply(message, this.self, error));
        }
        if (message.to === undefined && !this.handled.has(message.topic)) {
          return this.messages.next(errorReply(message, this.self, new NoHandlerError(message.topic)));
        }
        return this.messages.next(message);
      }
    }
  }
}
