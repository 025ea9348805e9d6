export { bootstrapClustered } from './bootstrap-clustered.js';
export { ClusterModule } from './cluster.module.js';
export { CLUSTER_MODULE_OPTIONS, type ConfigurableModuleClass, type OPTIONS_TYPE } from './cluster.module-definition.js';
export { ClusterService } from './cluster.service.js';
export { EXIT_CODES } from './cluster.constants.js';
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
  ScaleUnavailableError,
  SerializationError,
  TransportUnavailableError,
  WorkerUnavailableError,
} from './cluster.errors.js';
export { ClusterRequestHandler, OnClusterMessage } from './messaging/cluster-message.decorators.js';
export { LeaderOnly } from './leadership/leader-only.decorator.js';
export type { Leader } from './leadership/leader.interface.js';
export type { ClusterEnvelope, MessageEnvelope, MessageKind, RemoteErrorInfo } from './messaging/envelope.js';
export type { Payload, Serialization } from './messaging/payload-codec.js';
export { availableCpus, type CpuBudget, type ReadText } from './primary/available-cpus.js';
export { ClusterTransport, type ClusterRole, type MessageLimits } from './transports/cluster-transport.interface.js';
export type {
  BootLogMode,
  ClusterBootstrapOptions,
  ConnectionDistribution,
  ClusterLeadershipOptions,
  ClusterMessagingOptions,
  ClusterNatsOptions,
  ClusterNatsTlsOptions,
  ClusterRestartOptions,
  ClusterShutdownOptions,
  ClusteredApp,
  ConfigureAppHook,
  CreateAppContext,
  CreateAppHook,
  ListenAppHook,
  PrimaryEventHook,
  ResolvedClusterOptions,
  ResolvedNatsOptions,
  StickyMode,
  WorkerLogMode,
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
export type {
  ClusterState,
  NodeInfo,
  RollingRestartCounts,
  ScaleArgument,
  ScaleResult,
  WorkerInfo,
  WorkerState,
} from './interfaces/worker-info.interface.js';
