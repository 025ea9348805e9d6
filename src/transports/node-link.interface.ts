import type { ClusterEvent, WorkerAddress } from '../interfaces/cluster-event.interface.js';
import type { WorkerInfo } from '../interfaces/worker-info.interface.js';
import type { Leader } from '../leadership/leader.interface.js';
import type { LeaderLease } from '../leadership/lease-keeper.js';
import type { MessageEnvelope } from '../messaging/envelope.js';

/**
 * The link between the nodes of a cluster (Redis pub/sub, NATS): the one place where other hosts plug
 * in. Each node's primary (or a standalone process) holds one; same-node messages never touch it.
 *
 * What every link does (the cases of `nodeLinkConformance` in `nestjs-cluster/testing`):
 * - Membership from heartbeats: each node tells the others its `LocalNode`'s workers, topics and
 *   leader, often enough that a change shows within a heartbeat; a node is known from its first
 *   heartbeat until its goodbye (`close`) or until it has been silent too long.
 * - `changed` hears every change of that membership: `node-joined`, `node-left` (`bye` or `expired`),
 *   the events other nodes `announce`, a `transport` event (`node`: this node) each time the link
 *   goes `up` or `down` (leadership waits for `up` before it takes the lease), and no event for a
 *   change seen in a heartbeat. An announced event comes with the announcing node's workers as they
 *   are after it: when `changed(event)` hears a worker `ready` (or gone), `workers()` and `serves()`
 *   already say so, not a heartbeat later.
 * - Messages: delivery at most once, in order from one sender to one receiver (`publish` and `sendTo`
 *   mixed). What arrives is checked with `readMessage` and must come from a worker of the sending node;
 *   a node not heard yet is not a member, and what it sends is dropped.
 * - Down: nothing is queued; calls that need the link return `false` at once, `gone` is called for
 *   every other node (what waits on them fails now), and their membership stays as last heard until
 *   the link is back (their silence counts from then).
 */
export interface NodeLink {
  /** The link works: messages to other nodes can be sent. */
  readonly up: boolean;
  /** Connects and starts the heartbeats; `node` tells the link about this node and hears from the others. */
  start(node: LocalNode): void;
  /** To every other node (a `publish`), never back to this one. `false` when the link is down. */
  publish(message: MessageEnvelope): boolean;
  /** To one node (`send`, `request`, `reply`). `false` when the link is down or the node unknown. */
  sendTo(node: string, message: MessageEnvelope): boolean;
  /** A lifecycle event of this node, for the other nodes' `changed` (and so their `events$`). */
  announce(event: ClusterEvent): void;
  /** Whether `node` is a live member. */
  knows(node: string): boolean;
  /** Whether a ready worker serves that address on another node, as its last heartbeat said. */
  serves(address: WorkerAddress): boolean;
  /** The other nodes that handle `topic`, as their last heartbeats said (in any order: a link may rotate them). */
  handlersOf(topic: string): readonly string[];
  /** The workers of every other node, never this node's. */
  workers(): readonly WorkerInfo[];
  /**
   * The leader another node announced, in its heartbeat or a `leader` event (the latest epoch among
   * the live nodes), or `null`.
   */
  leader(): Leader | null;
  /**
   * The leadership lease the nodes share, when the link's backend can hold one (one holder at a time,
   * epochs that only grow). Without one, each node appoints a leader of its own.
   */
  readonly lease?: LeaderLease;
  /**
   * The processes of this link's clusters carry their own publishes and the messages they address to
   * workers of other nodes, on lanes of their own: the primary leaves them out of `publish`, and
   * `sendTo` carries requests routed by topic and their replies. Without it, every message between
   * nodes passes through the primaries' links.
   */
  readonly lanes?: boolean;
  /** Says goodbye (the others call `gone` and forget this node at once, without waiting for its silence) and disconnects. */
  close(): Promise<void>;
}

/** This node, as its link sees it. None of these may throw. */
export interface LocalNode {
  /** Its workers, for the heartbeat. */
  workers(): readonly WorkerInfo[];
  /** The request topics its ready workers handle, for the heartbeat. */
  topics(): readonly string[];
  /** The leader it appointed, if any, for the heartbeat. */
  leader(): Leader | null;
  /** A checked message from another node. */
  message(from: string, message: MessageEnvelope): void;
  /** The membership of the other nodes (or the link to them) changed; `event` says how, when there is one to tell. */
  changed(event?: ClusterEvent): void;
  /** `node` left or expired, or the link went down: what was waiting on it must fail now. */
  gone(node: string): void;
}
