export { ClusterMetricsModule } from './cluster-metrics.module.js';
export { ClusterMetricsService, type ScrapeResult } from './cluster-metrics.service.js';
export {
  CLUSTER_METRICS_MODULE_OPTIONS,
  METRICS_DEFAULTS,
  METRICS_SCRAPE_TOPIC,
  METRICS_TOPIC,
  PROMETHEUS_CONTENT_TYPE,
} from './cluster-metrics.constants.js';
export type { ClusterMetricsModuleExtras } from './cluster-metrics.module-definition.js';
export type {
  ClusterMetricsMode,
  ClusterMetricsModuleOptions,
  ClusterMetricsOptionsFactory,
  ResolvedClusterMetricsOptions,
} from './cluster-metrics-options.interface.js';
export { resolveMetricsOptions } from './cluster-metrics-options.js';
export { mergeAggregate, mergePerWorker, type Contribution, type MergeError, type MergeErrorReason, type MergeResult } from './metrics-merge.js';
export { toWorkerMetrics, type FamilySnapshot, type MetricKind, type SampleValue, type WorkerMetrics } from './worker-metrics.js';
