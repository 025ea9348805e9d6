import type { WorkerIdentity } from '../interfaces/cluster-event.interface.js';
import type { MessageEnvelope } from '../messaging/envelope.js';

/**
 * A process's own way to the workers of other nodes, beside its node's link: the process (a worker,
 * or a standalone node) writes its publishes and the messages it addresses to one worker on it, and
 * hears the publishes of other nodes and the messages addressed to it. No primary is on the way, so
 * a request to a worker of another node takes two broker hops instead of two broker hops and four IPC
 * hops. The link keeps the rest: membership, lifecycle events, the lease, and requests routed by topic.
 *
 * Delivery is at most once, in order from one sender to one receiver (publishes and addressed
 * messages mixed). What arrives is checked with `readMessage`. Down, nothing is queued: writes return
 * `false` at once.
 */
export interface MessageLane {
  /** Writes can go out now. */
  readonly up: boolean;
  /** Connects; `receiver` hears what arrives and how the lane fares. */
  start(receiver: LaneReceiver): void;
  /** To every worker of the other nodes. `false` while the lane is down. */
  publish(message: MessageEnvelope): boolean;
  /** To the one process `worker` (a `send`, `request` or `reply`). `false` while the lane is down. */
  sendTo(worker: WorkerIdentity, message: MessageEnvelope): boolean;
  close(): Promise<void>;
}

/** What a lane tells its process. None of these may throw. */
export interface LaneReceiver {
  /** A checked message from a process of another node (or of this node, for a publish: the receiver filters). */
  message(message: MessageEnvelope): void;
  /** Messages written to a process nobody hears any more (it exited): their requests can fail now. */
  unheard(messages: readonly MessageEnvelope[]): void;
  /** The lane went up or down. */
  changed(up: boolean): void;
}
