import type { Leader } from '../leadership/leader.interface.js';
import type { DropReason, WorkerIdentity } from './cluster-event.interface.js';

/**
 * Where a worker is in its life:
 * `starting` (forked, booting Nest), `ready` (its `listen` resolved), `draining` (asked to stop,
 * finishing in-flight work), `unresponsive` (its event loop stopped answering; being replaced),
 * `standby` (a warm standby, booted and waiting to take the slot of a worker that dies: listed by the
 * control socket only, never in `workers()`).
 */
export type WorkerState = 'starting' | 'ready' | 'draining' | 'unresponsive' | 'standby';

/** The cluster as a whole, as the primary sees it. */
export interface ClusterState {
  /** Slots the primary keeps filled (the configured number of workers). */
  readonly expectedWorkers: number;
  /** The crash-loop cap was reached: the cluster is stopping. */
  readonly crashLoop: boolean;
  /**
   * This node is stopping (SIGTERM or SIGINT to its primary, a crash loop): its workers should no
   * longer be sent traffic, though they may still serve for `shutdown.delayMs` before they drain.
   */
  readonly stopping?: boolean;
  /** Messages the primary dropped since it started, by reason (see `messages-dropped` events). */
  readonly dropped: Readonly<Record<DropReason, number>>;
  /**
   * The link to the other nodes: `up`, `down` (messages to other nodes fail at once; this node serves
   * on its own), or `none` when the cluster is this node.
   */
  readonly transport?: 'up' | 'down' | 'none';
  /** The cluster's leader as this node knows it, or `null` while there is none. */
  readonly leader?: Leader | null;
  /**
   * Rolling restarts of this node since its primary started, by outcome (`started` counts each run,
   * `done` and `aborted` how it ended; a run still going counts in `started` only). Kept by the primary,
   * as a worker replaced by the restart could not count it.
   */
  readonly rollingRestarts?: Readonly<RollingRestartCounts>;
}

/** How many rolling restarts a node ran, by outcome. */
export interface RollingRestartCounts {
  readonly started: number;
  readonly done: number;
  readonly aborted: number;
}

/** One live worker, as the primary sees it. */
export interface WorkerInfo extends WorkerIdentity {
  readonly state: WorkerState;
  /** When this process was forked (ms since the epoch). */
  readonly startedAt: number;
  /** When it became ready, if it did. */
  readonly readyAt: number | null;
  /** How many times this slot was restarted after an unexpected exit. */
  readonly restarts: number;
  /**
   * Its message queue in the primary is full: messages to it are being dropped (it reads slower than
   * it is sent to, or it hangs). Clears once the queue is down to half.
   */
  readonly congested: boolean;
}

/** One node of the cluster (one primary and its workers), as this process sees it. */
export interface NodeInfo {
  readonly node: string;
  /** The node this process belongs to. */
  readonly self: boolean;
  /** Its live workers, and how many of them are ready. */
  readonly workers: number;
  readonly readyWorkers: number;
  /** When this process first saw it (ms since the epoch). */
  readonly seenAt: number;
}

/**
 * What `ClusterService.scale` (and `nestjs-cluster scale`) takes: a worker count (`4`), or a change of
 * the current one (`'+2'`, `'-1'`).
 */
export type ScaleArgument = number | `+${number}` | `-${number}`;

/** The worker count of a node before and after a change of it (`ClusterService.scale`). */
export interface ScaleResult {
  /** The worker count the change started from. */
  readonly from: number;
  /** The worker count now. */
  readonly to: number;
}
