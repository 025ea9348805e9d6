import type { ClusterEvent, WorkerAddress } from '../interfaces/cluster-event.interface.js';
import type { WorkerInfo } from '../interfaces/worker-info.interface.js';
import type { Leader } from '../leadership/leader.interface.js';
import type { LeaderLease } from '../leadership/lease-keeper.js';
import type { MessageEnvelope } from '../messaging/envelope.js';

/**
 * What a node's primary needs from the link to the other nodes of its cluster (Redis pub/sub, for
 * one): membership of the other nodes, and messages to and from them. Same-node messages never
 * touch it. Nothing is queued while it is down: what needs it fails at once.
 */
export interface NodeLink {
  /** The link works: messages to other nodes can be sent. */
  readonly up: boolean;
  /** Connects and starts the heartbeats; `node` tells the link about this node and hears from the others. */
  start(node: LocalNode): void;
  /** To every other node (a `publish`). `false` when the link is down. */
  publish(message: MessageEnvelope): boolean;
  /** To one node (`send`, `request`, `reply`). `false` when the link is down or the node unknown. */
  sendTo(node: string, message: MessageEnvelope): boolean;
  /** A lifecycle event of this node, for the other nodes' `events$`. */
  announce(event: ClusterEvent): void;
  /** Whether `node` is a live member. */
  knows(node: string): boolean;
  /** Whether a worker serves that address on another node, as its last heartbeat said. */
  serves(address: WorkerAddress): boolean;
  /** The other nodes that handle `topic`, as their last heartbeats said. */
  handlersOf(topic: string): readonly string[];
  /** The workers of every other node. */
  workers(): readonly WorkerInfo[];
  /** The leader another node announced (the latest epoch among the live nodes), or `null`. */
  leader(): Leader | null;
  /** The leadership lease the nodes share, when the link offers one. */
  readonly lease?: LeaderLease;
  /** Says goodbye (the others forget this node at once) and disconnects. */
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
  /** The membership of the other nodes changed; `event` says how, when there is one to tell. */
  changed(event?: ClusterEvent): void;
  /** `node` left or expired: what was waiting on it must fail now. */
  gone(node: string): void;
}
