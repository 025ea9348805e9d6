/**
 * `nestjs-cluster/transport`: what an author of a `ClusterTransport` needs (Redis, NATS, a test
 * double). The conformance suite that proves one is in `nestjs-cluster/testing`.
 *
 * A transport carries `MessageEnvelope`s between the members of a cluster and keeps a membership
 * view; `ClusterService` does the rest (serialization, request ids, timeouts, handlers). Extend
 * `MembershipTransport`, feed its `view` with what the wire says, push what arrives for this member
 * into `messages` after checking it with `readMessage`, and answer what cannot be routed with
 * `errorReply`. Then run `transportConformance` (from `nestjs-cluster/testing`) against it.
 */
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
export type { ClusterState, NodeInfo, WorkerInfo, WorkerState } from '../interfaces/worker-info.interface.js';
