/** Who a worker is: `slot` is stable across restarts, `id` (node's worker id) and `pid` are not. */
export interface WorkerIdentity {
  /** node:cluster's worker id; new on every fork. 0 in a standalone process. */
  readonly id: number;
  /** Stable position 0..N-1, inherited by the replacement of a worker (env `CLUSTER_WORKER_SLOT`). */
  readonly slot: number;
  readonly pid: number;
}

interface WorkerEventBase extends WorkerIdentity {
  /** Milliseconds since the epoch, taken in the primary. */
  readonly at: number;
}

export interface WorkerForkEvent extends WorkerEventBase {
  readonly type: 'fork';
}
export interface WorkerOnlineEvent extends WorkerEventBase {
  readonly type: 'online';
}
export interface WorkerListeningEvent extends WorkerEventBase {
  readonly type: 'listening';
  readonly address: string | null;
  readonly port: number | null;
}
/** The worker's `listen` resolved: it serves traffic. */
export interface WorkerReadyEvent extends WorkerEventBase {
  readonly type: 'ready';
  /** Milliseconds from fork to ready. */
  readonly bootMs: number;
}
export interface WorkerDisconnectEvent extends WorkerEventBase {
  readonly type: 'disconnect';
}
export interface WorkerExitEvent extends WorkerEventBase {
  readonly type: 'exit';
  readonly code: number | null;
  readonly signal: string | null;
  /** `true` when the primary asked the worker to stop (shutdown, replacement); `false` for a crash. */
  readonly expected: boolean;
  /**
   * Why: `shutdown` or `replaced` (asked by the primary), `ready-timeout` (killed for not getting
   * ready), `failed-to-start`, `exited-unasked` (code 0 on its own) or `crashed`.
   */
  readonly reason: string;
}
export interface RestartScheduledEvent extends WorkerEventBase {
  readonly type: 'restart-scheduled';
  readonly delayMs: number;
  /** Consecutive failures of this slot, 1 for the first. */
  readonly attempt: number;
}

interface ClusterEventBase {
  readonly at: number;
}
export interface CrashLoopEvent extends ClusterEventBase {
  readonly type: 'crash-loop';
  /** Unexpected exits counted within the window. */
  readonly exits: number;
  readonly windowMs: number;
}
export interface ShutdownEvent extends ClusterEventBase {
  readonly type: 'shutdown';
  /** The signal or cause, e.g. `SIGTERM`, `crash-loop`. */
  readonly reason: string;
}
export interface RollingRestartEvent extends ClusterEventBase {
  readonly type: 'rolling-restart';
  readonly phase: 'start' | 'step' | 'done' | 'aborted';
  readonly slot?: number;
  readonly reason?: string;
}

/** Lifecycle of every worker of the cluster, relayed by the primary; discriminated on `type`. */
export type ClusterEvent =
  | WorkerForkEvent
  | WorkerOnlineEvent
  | WorkerListeningEvent
  | WorkerReadyEvent
  | WorkerDisconnectEvent
  | WorkerExitEvent
  | RestartScheduledEvent
  | CrashLoopEvent
  | ShutdownEvent
  | RollingRestartEvent;

/** Names of `ClusterEvent` types. */
export type ClusterEventType = ClusterEvent['type'];
