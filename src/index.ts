export { bootstrapClustered } from './bootstrap-clustered.js';
export { ClusterModule } from './cluster.module.js';
export { CLUSTER_MODULE_OPTIONS, type ConfigurableModuleClass, type OPTIONS_TYPE } from './cluster.module-definition.js';
export { ClusterService, DEFAULT_REQUEST_TIMEOUT_MS } from './cluster.service.js';
export { CLUSTER_NAMESPACE, ENVELOPE_VERSION, EXIT_CODES, WORKER_SLOT_ENV } from './cluster.constants.js';
export {
  ClusterArgumentError,
  ClusterConfigError,
  ClusterError,
  DuplicateHandlerError,
  MessageTooLargeError,
  NoHandlerError,
  QueueFullError,
  RemoteHandlerError,
  RequestLimitError,
  RequestTimeoutError,
  SerializationError,
  TransportUnavailableError,
  WorkerUnavailableError,
} from './cluster.errors.js';
export { ClusterRequestHandler, OnClusterMessage } from './messaging/cluster-message.decorators.js';
export { LeaderOnly } from './leadership/leader-only.decorator.js';
export { isLeaderOf, type Leader } from './leadership/leader.interface.js';
export type { ClusterEnvelope, MessageEnvelope, MessageKind, RemoteErrorInfo } from './messaging/envelope.js';
export type { Payload, Serialization } from './messaging/payload-codec.js';
export { CLUSTER_DEFAULTS, CLUSTER_ENV, resolveClusterOptions } from './cluster-options.js';
export type { Resolved, Setting } from './options/option-schema.js';
export type { Env, Parser } from './options/option-parsers.js';
export { availableCpus, type CpuBudget, type ReadText } from './primary/available-cpus.js';
export { ClusterTransport, type ClusterRole, type MessageLimits } from './transports/cluster-transport.interface.js';
export { LocalTransport } from './transports/local.transport.js';
export type { MembershipTransport } from './transports/membership.transport.js';
export type { MembershipView } from './transports/membership-view.js';
export type {
  ClusterBootstrapOptions,
  ClusterLeadershipOptions,
  ClusterMessagingOptions,
  ClusterRestartOptions,
  ClusterShutdownOptions,
  ClusteredApp,
  ConfigureAppHook,
  CreateAppContext,
  CreateAppHook,
  ListenAppHook,
  ResolvedClusterOptions,
  StickyMode,
} from './interfaces/bootstrap-options.interface.js';
export type * from './interfaces/cluster-event.interface.js';
export type { ClusterModuleOptions, ClusterOptionsFactory } from './interfaces/cluster-module-options.interface.js';
export type {
  ClusterMessage,
  PublishOptions,
  RequestHandler,
  RequestOptions,
  ScatterFailure,
  ScatterOptions,
  ScatterReply,
  ScatterResult,
  ScatterScope,
  WorkerTarget,
} from './interfaces/cluster-message.interface.js';
export type { ClusterState, NodeInfo, RollingRestartCounts, WorkerInfo, WorkerState } from './interfaces/worker-info.interface.js';
