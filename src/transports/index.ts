/**
 * `nestjs-cluster/transport`: what an author needs to carry a cluster's messages, at either of its
 * two seams. The conformance suites that prove each one are in `nestjs-cluster/testing`.
 *
 * **`NodeLink`: the extension point for other hosts.** A node is one primary and its workers; the
 * nodes of a cluster meet through a `NodeLink` held by each node's primary (Redis today, NATS next:
 * any broker that can carry a heartbeat and a message). It keeps the membership of the other nodes
 * from their heartbeats and carries messages and lifecycle events between nodes (the Redis link leaves
 * publishes and messages addressed to a worker to each worker's own lane: `lanes`); the library keeps
 * routing, request ids, timeouts and leadership, and its `LocalNode` is what the link hears from and
 * tells. Implement `NodeLink` (a `LeaderLease` too, if the broker can hold one; its `acquire` rejects with a
 * `LeaseUnsupportedError` where the broker never can), check each message
 * from another node with `readMessage`, and run `nodeLinkConformance` (from `nestjs-cluster/testing`)
 * against it.
 *
 * **`ClusterTransport`: what runs inside a process.** `ClusterService` stands on one: the embedded
 * default talks to the primary over node:cluster's IPC, `LocalTransport` is a standalone process. A
 * transport carries `MessageEnvelope`s between the members of a cluster and keeps a membership view;
 * `ClusterService` does the rest (serialization, request ids, timeouts, handlers). Extend
 * `MembershipTransport`, feed its `view` with what the wire says, push what arrives for this member
 * into `messages` after checking it with `readMessage`, and answer what cannot be routed with
 * `errorReply`. Then run `transportConformance` (from `nestjs-cluster/testing`) against it.
 */
export type { LocalNode, NodeLink } from './node-link.interface.js';
export type { Leader } from '../leadership/leader.interface.js';
export { LeaseUnsupportedError, type LeaderLease } from '../leadership/lease-keeper.js';
export { ClusterTransport, type ClusterRole, type MessageLimits } from './cluster-transport.interface.js';
export { MembershipTransport } from './membership.transport.js';
export { MembershipView } from './membership-view.js';
export { LocalTransport } from './local.transport.js';
export { readMessage, type Unchecked, type WireLimits } from './message-validation.js';
export {
  envelope,
  messageEnvelope,
  type ClusterEnvelope,
  type MessageEnvelope,
  type MessageKind,
  type RemoteErrorInfo,
} from '../messaging/envelope.js';
export { errorReply } from '../messaging/remote-error.js';
export type { Payload, Serialization } from '../messaging/payload-codec.js';
export type { ClusterEvent, WorkerAddress, WorkerIdentity } from '../interfaces/cluster-event.interface.js';
export type { ClusterState, NodeInfo, ScaleResult, WorkerInfo, WorkerState } from '../interfaces/worker-info.interface.js';
