import type { Observable } from 'rxjs';
import type { ClusterEvent, WorkerIdentity } from '../interfaces/cluster-event.interface.js';
import type { WorkerInfo } from '../interfaces/worker-info.interface.js';
import type { ClusterTransport } from './cluster-transport.interface.js';
import { MembershipView } from './membership-view.js';

/**
 * The transport of a standalone process (clustering off, or the app built outside
 * `bootstrapClustered`, as in tests): the cluster is this one process.
 */
export class LocalTransport implements ClusterTransport {
  readonly role = 'standalone' as const;
  private readonly view = new MembershipView();

  constructor(readonly self: WorkerIdentity = { id: 0, slot: 0, pid: process.pid }) {}

  get events$(): Observable<ClusterEvent> {
    return this.view.events$;
  }

  get workers$(): Observable<readonly WorkerInfo[]> {
    return this.view.workers$;
  }

  workers(): readonly WorkerInfo[] {
    return this.view.workers();
  }

  /** Records a lifecycle change of this process (the standalone runtime calls it). */
  apply(workers: readonly WorkerInfo[], event?: ClusterEvent): void {
    this.view.apply(workers, event);
  }
}
