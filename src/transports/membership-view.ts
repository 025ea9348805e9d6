import { BehaviorSubject, Subject, type Observable } from 'rxjs';
import type { ClusterEvent } from '../interfaces/cluster-event.interface.js';
import type { ClusterState, WorkerInfo } from '../interfaces/worker-info.interface.js';

/** No message dropped. */
export const NO_DROPS: ClusterState['dropped'] = Object.freeze({ malformed: 0, 'unexpected-reply': 0, 'queue-full': 0 });

/**
 * The cluster as one process sees it: a hot stream of events and the latest membership snapshot.
 * Transports feed it; `ClusterService` reads it.
 */
export class MembershipView {
  private readonly events = new Subject<ClusterEvent>();
  private readonly snapshot: BehaviorSubject<readonly WorkerInfo[]>;
  private current: ClusterState;

  constructor(
    initial: readonly WorkerInfo[] = [],
    state: ClusterState = { expectedWorkers: initial.length, crashLoop: false, dropped: NO_DROPS },
  ) {
    this.snapshot = new BehaviorSubject(initial);
    this.current = state;
  }

  state(): ClusterState {
    return this.current;
  }

  get events$(): Observable<ClusterEvent> {
    return this.events.asObservable();
  }

  get workers$(): Observable<readonly WorkerInfo[]> {
    return this.snapshot.asObservable();
  }

  workers(): readonly WorkerInfo[] {
    return this.snapshot.value;
  }

  /** Applies the snapshot first, so a subscriber reacting to the event reads the matching membership. */
  apply(workers: readonly WorkerInfo[], event?: ClusterEvent, state?: ClusterState): void {
    if (state) this.current = state;
    this.snapshot.next(workers);
    if (event) this.events.next(event);
  }
}
