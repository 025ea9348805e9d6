import type { WorkerIdentity } from './cluster-event.interface.js';

/**
 * Where a worker is in its life:
 * `starting` (forked, booting Nest), `ready` (its `listen` resolved), `draining` (asked to stop,
 * finishing in-flight work).
 */
export type WorkerState = 'starting' | 'ready' | 'draining';

/** The cluster as a whole, as the primary sees it. */
export interface ClusterState {
  /** Slots the primary keeps filled (the configured number of workers). */
  readonly expectedWorkers: number;
  /** The crash-loop cap was reached: the cluster is stopping. */
  readonly crashLoop: boolean;
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
}
