import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { BehaviorSubject, Subject, type Observable, type Subscription } from 'rxjs';
import type { ClusterEvent, WorkerIdentity } from './interfaces/cluster-event.interface.js';
import type { WorkerInfo } from './interfaces/worker-info.interface.js';
import { ClusterTransport, type ClusterRole } from './transports/cluster-transport.interface.js';

/**
 * The application's view of the cluster.
 *
 * @example
 * ```ts
 * constructor(private readonly cluster: ClusterService) {
 *   cluster.events$.pipe(filter((e) => e.type === 'exit')).subscribe((e) => log(e));
 * }
 * ```
 */
@Injectable()
export class ClusterService implements OnApplicationShutdown {
  private readonly events = new Subject<ClusterEvent>();
  private readonly membership: BehaviorSubject<readonly WorkerInfo[]>;
  private readonly subscriptions: Subscription[] = [];

  constructor(@Inject(ClusterTransport) private readonly transport: ClusterTransport) {
    this.membership = new BehaviorSubject(transport.workers());
    this.subscriptions.push(
      transport.events$.subscribe(this.events),
      transport.workers$.subscribe((workers) => this.membership.next(workers)),
    );
  }

  /** `worker` in a forked worker, `standalone` when the app runs without a cluster. */
  get role(): ClusterRole {
    return this.transport.role;
  }

  /** This process: `{ id, slot, pid }`. */
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

  /** The latest snapshot of live workers, ordered by slot. */
  workers(): readonly WorkerInfo[] {
    return this.membership.value;
  }

  onApplicationShutdown(): void {
    for (const subscription of this.subscriptions) subscription.unsubscribe();
    this.events.complete();
    this.membership.complete();
  }
}
