import { BehaviorSubject, Subject, distinctUntilChanged, map, type Observable } from 'rxjs';
import type { ClusterEvent } from '../interfaces/cluster-event.interface.js';
import { sameLeader, type Leader } from '../leadership/leader.interface.js';
import type { ClusterState, NodeInfo, WorkerInfo } from '../interfaces/worker-info.interface.js';

/** No message dropped. */
export const NO_DROPS: ClusterState['dropped'] = Object.freeze({ malformed: 0, 'unexpected-reply': 0, 'queue-full': 0 });

/**
 * The cluster as one process sees it: a hot stream of events and the latest membership snapshot.
 * Transports feed it; `ClusterService` reads it. The nodes are those of the workers listed, and
 * always this process's own node, first.
 */
export class MembershipView {
  private readonly events = new Subject<ClusterEvent>();
  private readonly snapshot: BehaviorSubject<readonly WorkerInfo[]>;
  private readonly seenAt = new Map<string, number>();
  private readonly leading: BehaviorSubject<Leader | null>;
  private current: ClusterState;

  constructor(
    /** This process's node. */
    readonly node: string,
    initial: readonly WorkerInfo[] = [],
    state: ClusterState = { expectedWorkers: initial.length, crashLoop: false, dropped: NO_DROPS },
  ) {
    this.snapshot = new BehaviorSubject(initial);
    this.current = state;
    this.leading = new BehaviorSubject(state.leader ?? null);
    this.seenAt.set(node, Date.now());
  }

  get leader$(): Observable<Leader | null> {
    return this.leading.asObservable();
  }

  leader(): Leader | null {
    return this.leading.value;
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

  get nodes$(): Observable<readonly NodeInfo[]> {
    return this.snapshot.pipe(
      map(() => this.nodes()),
      distinctUntilChanged((a, b) => a.length === b.length && a.every((n, i) => sameNode(n, b[i]!))),
    );
  }

  nodes(): readonly NodeInfo[] {
    const byNode = new Map<string, { workers: number; readyWorkers: number }>([[this.node, { workers: 0, readyWorkers: 0 }]]);
    for (const worker of this.snapshot.value) {
      let counts = byNode.get(worker.node);
      if (!counts) byNode.set(worker.node, (counts = { workers: 0, readyWorkers: 0 }));
      counts.workers += 1;
      if (worker.state === 'ready') counts.readyWorkers += 1;
    }
    return [...byNode].map(([node, counts]) => ({ node, self: node === this.node, ...counts, seenAt: this.seen(node) }));
  }

  /**
   * Applies the snapshot first, so a subscriber reacting to the event reads the matching membership;
   * then the leader, so one reacting to it reads the state that made it leader.
   */
  apply(workers: readonly WorkerInfo[], event?: ClusterEvent, state?: ClusterState): void {
    if (state) this.current = state;
    // A node with no worker left is forgotten: seen again, it is a new sighting.
    const present = new Set(workers.map((w) => w.node));
    for (const node of this.seenAt.keys()) if (node !== this.node && !present.has(node)) this.seenAt.delete(node);
    this.snapshot.next(workers);
    const leader = this.current.leader ?? null;
    if (!sameLeader(leader, this.leading.value)) this.leading.next(leader);
    if (event) this.events.next(event);
  }

  private seen(node: string): number {
    let at = this.seenAt.get(node);
    if (at === undefined) this.seenAt.set(node, (at = Date.now()));
    return at;
  }
}

function sameNode(a: NodeInfo, b: NodeInfo): boolean {
  return a.node === b.node && a.workers === b.workers && a.readyWorkers === b.readyWorkers;
}
