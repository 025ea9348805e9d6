import type { Observable } from 'rxjs';
import type { ClusterEvent, WorkerIdentity } from '../interfaces/cluster-event.interface.js';
import type { WorkerInfo } from '../interfaces/worker-info.interface.js';

/** `worker`: one of N forked processes; `standalone`: clustering is off, the app runs in one process. */
export type ClusterRole = 'worker' | 'standalone';

/**
 * What `ClusterService` stands on. The embedded default talks to the primary over node:cluster's IPC;
 * nothing above this interface may assume node:cluster, so a transport spanning several hosts
 * (Redis pub/sub, heartbeats for membership) can take its place.
 */
export interface ClusterTransport {
  readonly role: ClusterRole;
  /** This process's identity in the cluster. */
  readonly self: WorkerIdentity;
  /** Lifecycle of every worker, cluster-wide. Hot: events before subscription are not replayed. */
  readonly events$: Observable<ClusterEvent>;
  /** Membership snapshots; replays the latest one to each new subscriber. */
  readonly workers$: Observable<readonly WorkerInfo[]>;
  /** The latest membership snapshot. */
  workers(): readonly WorkerInfo[];
}

/** Injection token of the `ClusterTransport` (interface and token share the name, as `ThrottlerStorage`). */
export const ClusterTransport = Symbol('ClusterTransport');
