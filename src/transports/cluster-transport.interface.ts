import type { Observable } from 'rxjs';
import type { ClusterEvent, WorkerIdentity } from '../interfaces/cluster-event.interface.js';
import type { ClusterState, NodeInfo, ScaleResult, WorkerInfo } from '../interfaces/worker-info.interface.js';
import type { Leader } from '../leadership/leader.interface.js';
import type { MessageEnvelope } from '../messaging/envelope.js';
import type { Serialization } from '../messaging/payload-codec.js';

/** `worker`: one of N forked processes; `standalone`: clustering is off, the app runs in one process. */
export type ClusterRole = 'worker' | 'standalone';

/** The bounds a transport enforces; the messaging layer checks them at the call, before sending. */
export interface MessageLimits {
  /** Largest serialized `data` of one message, in bytes. */
  readonly maxMessageBytes: number;
  /** Requests this process may have waiting for a reply at once. */
  readonly maxPendingRequests: number;
}

/**
 * What `ClusterService` stands on. The embedded default talks to the primary over node:cluster's IPC;
 * nothing above this interface may assume node:cluster, so a transport spanning several hosts
 * (Redis pub/sub, heartbeats for membership) can take its place.
 *
 * Routing is the transport's: `publish` reaches every other member, `send`/`request` with `to` reach
 * the worker serving that address (`{ node, slot }`), a `request` without `to` reaches one member that
 * announced the topic (round-robin), and a request that cannot be delivered (unknown node or slot,
 * no handler) is answered at once with a `reply` carrying the error. A `reply` goes to its `to`.
 * Every message that enters a process from the wire is checked with `readMessage` first.
 *
 * `nestjs-cluster/transport` exports what an author of another transport needs, and
 * `nestjs-cluster/testing` the conformance suite every transport must pass.
 */
export interface ClusterTransport {
  readonly role: ClusterRole;
  /** This process's identity in the cluster. */
  readonly self: WorkerIdentity;
  /** How message payloads are encoded; every member of a cluster uses the same. */
  readonly serialization: Serialization;
  /** Bounds of messages; a message past them fails at the call with a typed error. */
  readonly limits: MessageLimits;
  /**
   * `true` from the moment this process begins to drain (readiness probes turn down). The runtime that
   * drains the app tells the transport; a transport may also report it on its own.
   */
  readonly draining: boolean;
  /**
   * Emits once, the moment this process begins to drain, and completes; a subscriber that comes later
   * gets it at once. For what holds connections open for good (a WebSocket server closes its clients,
   * which reconnect to another worker) before the HTTP server and the microservices drain.
   */
  readonly draining$: Observable<void>;
  /** Lifecycle of every worker, cluster-wide. Hot: events before subscription are not replayed. */
  readonly events$: Observable<ClusterEvent>;
  /**
   * Membership snapshots; replays the latest one to each new subscriber. A worker flagged `congested`
   * is dropping messages sent to it.
   */
  readonly workers$: Observable<readonly WorkerInfo[]>;
  /** The latest membership snapshot. */
  workers(): readonly WorkerInfo[];
  /** The nodes seen (this one first); replays the latest list to each new subscriber. */
  readonly nodes$: Observable<readonly NodeInfo[]>;
  /** The latest list of nodes. */
  nodes(): readonly NodeInfo[];
  /** Expected size and crash-loop flag of the cluster, as of the latest snapshot. */
  state(): ClusterState;
  /**
   * The cluster's leader, or `null` while there is none; replays the current one to each new
   * subscriber and emits on every change, the same value as `state().leader`.
   */
  readonly leader$: Observable<Leader | null>;
  /** The current leader. */
  leader(): Leader | null;
  /** Asks for a rolling restart of the whole cluster; progress shows as `rolling-restart` events. */
  requestRollingRestart(): void;
  /**
   * Asks this node's primary to change its worker count: `workers` is a count or a change of it
   * (`'4'`, `'+2'`, `'-1'`), already checked by the caller. Resolves with the counts before and after,
   * once the new workers are ready or the removed ones exited; rejects with `ClusterArgumentError`
   * (the count would be out of bounds) or `ScaleUnavailableError` (no primary, or it shuts down).
   */
  scale(workers: string): Promise<ScaleResult>;
  /** Messages addressed to this process, in the order each sender sent them. */
  readonly messages$: Observable<MessageEnvelope>;
  /** Puts a message on the wire. */
  send(message: MessageEnvelope): void;
  /** Tells the cluster which request topics this process handles (replaces the previous list). */
  announce(topics: readonly string[]): void;
}

/** Injection token of the `ClusterTransport` (interface and token share the name, as `ThrottlerStorage`). */
export const ClusterTransport = Symbol('ClusterTransport');
