export { ClusterMetricsModule } from './cluster-metrics.module.js';
export { ClusterMetricsService, type ScrapeResult } from './cluster-metrics.service.js';
export {
  CLUSTER_METRICS_MODULE_OPTIONS,
  METRICS_DEFAULTS,
  METRICS_SCRAPE_TOPIC,
  METRICS_TOPIC,
  PROMETHEUS_CONTENT_TYPE,
} from './cluster-metrics.constants.js';
export type { ASYNC_OPTIONS_TYPE, ClusterMetricsModuleExtras, ConfigurableModuleClass, OPTIONS_TYPE } from './cluster-metrics.module-definition.js';
export type {
  ClusterMetricsMode,
  ClusterMetricsModuleOptions,
  ClusterMetricsOptionsFactory,
  ResolvedClusterMetricsOptions,
} from './cluster-metrics-options.interface.js';
export { resolveMetricsOptions } from './cluster-metrics-options.js';
export {
  mergeAggregate,
  mergePerWorker,
  type AggregateResult,
  type Contribution,
  type MergeError,
  type MergeErrorReason,
  type MergeResult,
  type RetiredFamily,
} from './metrics-merge.js';
export {
  toWorkerMetrics,
  type FamilySnapshot,
  type MetricFamilyJson,
  type MetricKind,
  type SampleValue,
  type SlotLabel,
  type WorkerMetrics,
} from './worker-metrics.js';
