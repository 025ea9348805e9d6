import { AsyncSubject, Subject, type Observable } from 'rxjs';
import type { ClusterEvent, WorkerIdentity } from '../interfaces/cluster-event.interface.js';
import { ScaleUnavailableError } from '../cluster.errors.js';
import type { ClusterState, NodeInfo, ScaleResult, WorkerInfo } from '../interfaces/worker-info.interface.js';
import type { Leader } from '../leadership/leader.interface.js';
import type { MessageEnvelope } from '../messaging/envelope.js';
import type { Serialization } from '../messaging/payload-codec.js';
import type { ClusterRole, ClusterTransport, MessageLimits } from './cluster-transport.interface.js';
import { MembershipView } from './membership-view.js';

/**
 * What every transport shares: a membership view its wire keeps up to date, a stream of the messages
 * it delivers, and the draining flag the runtime sets. Subclasses decide how messages and restart
 * requests travel.
 */
export abstract class MembershipTransport implements ClusterTransport {
  abstract readonly role: ClusterRole;
  protected readonly messages = new Subject<MessageEnvelope>();
  private drainingSince: number | undefined;
  /** Emits when the drain begins and completes: an `AsyncSubject` gives it to late subscribers too. */
  private readonly drainBegun = new AsyncSubject<void>();

  protected constructor(
    readonly self: WorkerIdentity,
    readonly serialization: Serialization,
    readonly limits: MessageLimits,
    protected readonly view: MembershipView = new MembershipView(self.node),
  ) {}

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  /** This process begins to drain: it should no longer be sent traffic. Idempotent. */
  beginDraining(): void {
    if (this.drainingSince !== undefined) return;
    this.drainingSince = Date.now();
    this.drainBegun.next();
    this.drainBegun.complete();
  }

  /** Emits once when `beginDraining` is first called, then completes (see `ClusterTransport.draining$`). */
  get draining$(): Observable<void> {
    return this.drainBegun.asObservable();
  }

  get events$(): Observable<ClusterEvent> {
    return this.view.events$;
  }

  get workers$(): Observable<readonly WorkerInfo[]> {
    return this.view.workers$;
  }

  workers(): readonly WorkerInfo[] {
    return this.view.workers();
  }

  get nodes$(): Observable<readonly NodeInfo[]> {
    return this.view.nodes$;
  }

  nodes(): readonly NodeInfo[] {
    return this.view.nodes();
  }

  state(): ClusterState {
    return this.view.state();
  }

  get leader$(): Observable<Leader | null> {
    return this.view.leader$;
  }

  leader(): Leader | null {
    return this.view.leader();
  }

  get messages$(): Observable<MessageEnvelope> {
    return this.messages.asObservable();
  }

  abstract send(message: MessageEnvelope): void;
  abstract announce(topics: readonly string[]): void;
  abstract requestRollingRestart(): void;

  /** A transport without a primary to ask refuses; the IPC transport asks the node's primary. */
  scale(workers: string): Promise<ScaleResult> {
    return Promise.reject(new ScaleUnavailableError(workers, 'this transport has no primary to ask'));
  }
}
