import type { Leader } from '../leadership/leader.interface.js';

/**
 * Where a worker serves: its node and its slot there. A message addressed to a slot reaches the worker
 * serving it now, whichever process that is.
 */
export interface WorkerAddress {
  /**
   * The node: one primary and its workers (one host, VM or pod). Option `nodeId` / env
   * `CLUSTER_NODE_ID`, else a fresh `hostname-pid-random` each time the node starts.
   */
  readonly node: string;
  /**
   * Stable position 0..N-1 on its node, inherited by the replacement of a worker (env `CLUSTER_WORKER_SLOT`).
   * `-1` for a warm standby (`standby` option) until it takes a slot, and in the events of its life until then.
   */
  readonly slot: number;
}

/** Who a worker is: `node` and `slot` are stable across its restarts, `id` (node:cluster's worker id) and `pid` are not. */
export interface WorkerIdentity extends WorkerAddress {
  /** node:cluster's worker id; new on every fork. 0 in a standalone process. */
  readonly id: number;
  readonly pid: number;
}

/** What every event about one worker carries: the worker, and when. */
export interface WorkerEventBase extends WorkerIdentity {
  /** Milliseconds since the epoch, taken where the event happened. */
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
  /** Milliseconds from fork to ready; for a warm standby that took the slot, from its promotion to ready. */
  readonly bootMs: number;
}
/**
 * A warm standby (`standby` option). `ready`: it has booted (its app created and initialized) and
 * waits in no slot (`slot` -1; `bootMs` from fork). `promoted`: it takes the slot of a worker that
 * exited unexpectedly (`slot` is that slot); its `ready` event follows once it listens.
 */
export interface WorkerStandbyEvent extends WorkerEventBase {
  readonly type: 'standby';
  /** `ready`: booted, it waits in no slot; `promoted`: it takes the slot named by `slot`. */
  readonly phase: 'ready' | 'promoted';
  /** For `ready`: milliseconds from fork. */
  readonly bootMs?: number;
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
   * Why: `shutdown`, `replaced` or `scaled-down` (asked by the primary), `ready-timeout` (killed for not getting
   * ready), `unresponsive` (killed after its event loop stopped answering), `failed-to-start`,
   * `exited-unasked` (code 0 on its own) or `crashed`.
   */
  readonly reason: string;
}
export interface RestartScheduledEvent extends WorkerEventBase {
  readonly type: 'restart-scheduled';
  readonly delayMs: number;
  /** Consecutive failures of this slot, 1 for the first. */
  readonly attempt: number;
}

/**
 * The worker's event loop gave no sign of life for `unresponsiveMs`: the primary stops routing to it,
 * forks its replacement and SIGKILLs it once the replacement is ready (a hung process cannot drain).
 */
export interface WorkerUnresponsiveEvent extends WorkerEventBase {
  readonly type: 'unresponsive';
  /** How long the primary had not heard from it. */
  readonly silentMs: number;
}

/**
 * Why the primary dropped messages:
 * - `malformed`: the worker sent envelopes that are not valid (a bug or foreign code writing to the
 *   IPC channel with the library's namespace), or over `messaging.maxMessageBytes`;
 * - `unexpected-reply`: the worker replied to a request that was not sent to it;
 * - `queue-full`: messages *to* the worker were dropped because its queue was full.
 */
export type DropReason = 'malformed' | 'unexpected-reply' | 'queue-full';

/**
 * The primary dropped messages from or to this worker. Reported at once, then at most every few
 * seconds per worker and reason, with the count since the previous report.
 */
export interface MessagesDroppedEvent extends WorkerEventBase {
  readonly type: 'messages-dropped';
  readonly reason: DropReason;
  /** Messages dropped since the previous report of this worker and reason. */
  readonly count: number;
  /** What was wrong with the first of them. */
  readonly detail: string;
}

/** What every event about a node or the whole cluster carries: the node, and when. */
export interface ClusterEventBase {
  /** The node the event is about. */
  readonly node: string;
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
/**
 * Every slot of this node has a ready worker, for the first time since its primary started: the node
 * serves at full strength (the primary logs `cluster ready`). Later restarts do not repeat it.
 */
export interface ClusterReadyEvent extends ClusterEventBase {
  readonly type: 'cluster-ready';
  /** The slots, every one with a ready worker. */
  readonly workers: number;
}

/**
 * The drain is over: no worker of this node is left, and its primary exits with `code` (see the exit
 * codes in docs/supervision.md). The primary's last event, seen by `onPrimaryEvent` only: no worker is left to
 * hear it, and the other nodes learn of it as `node-left`.
 */
export interface StoppedEvent extends ClusterEventBase {
  readonly type: 'stopped';
  /** The primary's exit code: 0 clean, 1 some worker had to be killed or cut requests, 70 crash loop or a primary error. */
  readonly code: number;
}

export interface RollingRestartEvent extends ClusterEventBase {
  readonly type: 'rolling-restart';
  readonly phase: 'start' | 'step' | 'done' | 'aborted';
  readonly slot?: number;
  readonly reason?: string;
}

/** A node was seen for the first time (its first heartbeat reached this one). */
export interface NodeJoinedEvent extends ClusterEventBase {
  readonly type: 'node-joined';
}

/** A node left the cluster: it said goodbye as it drained (`bye`), or went silent too long (`expired`). */
export interface NodeLeftEvent extends ClusterEventBase {
  readonly type: 'node-left';
  readonly reason: 'bye' | 'expired';
}

/**
 * The link between this node and the other nodes went down or came back (`node` is this node). While
 * it is down, calls that need another node fail at once and this node keeps serving on its own.
 */
export interface TransportEvent extends ClusterEventBase {
  readonly type: 'transport';
  readonly status: 'up' | 'down';
  /** Why it went down, when known. */
  readonly reason?: string;
}

/**
 * Leadership changed hands (`node` is the node that appointed or dismissed). `leader` is the new
 * leader, or `null` while there is none: the old one exited, began to drain or stopped answering, its
 * node lost the lease, or the link to Redis went down. A handover shows as `null`, then the next.
 */
export interface LeaderEvent extends ClusterEventBase {
  readonly type: 'leader';
  readonly leader: Leader | null;
  /** The leader before, if any. */
  readonly previous: Leader | null;
  readonly reason: LeaderChangeReason;
}

/**
 * Why leadership changed: `appointed` (a worker was made leader), `exited`, `draining`,
 * `unresponsive` (the leader's own state), `lease-lost` (its node could not renew the Redis lease in
 * time, or another node holds it), `transport-down` (its node lost Redis), `shutdown` (its node stops).
 */
export type LeaderChangeReason = 'appointed' | 'exited' | 'draining' | 'unresponsive' | 'lease-lost' | 'transport-down' | 'shutdown';

/**
 * Lifecycle of every worker and node of the cluster, relayed by the primary; discriminated on `type`.
 * The primary of each node hands its own node's events to `onPrimaryEvent` as it emits them.
 */
export type ClusterEvent =
  | WorkerForkEvent
  | WorkerOnlineEvent
  | WorkerListeningEvent
  | WorkerReadyEvent
  | WorkerStandbyEvent
  | WorkerDisconnectEvent
  | WorkerExitEvent
  | RestartScheduledEvent
  | WorkerUnresponsiveEvent
  | MessagesDroppedEvent
  | CrashLoopEvent
  | ClusterReadyEvent
  | ShutdownEvent
  | StoppedEvent
  | RollingRestartEvent
  | NodeJoinedEvent
  | NodeLeftEvent
  | TransportEvent
  | LeaderEvent;

/** Names of `ClusterEvent` types. */
export type ClusterEventType = ClusterEvent['type'];
