export { ClusterMetricsModule } from './cluster-metrics.module.js';
export { ClusterMetricsService, type ScrapeResult } from './cluster-metrics.service.js';
export { CLUSTER_METRICS_MODULE_OPTIONS, METRICS_DEFAULTS } from './cluster-metrics.constants.js';
export type { ASYNC_OPTIONS_TYPE, ClusterMetricsModuleExtras, ConfigurableModuleClass, OPTIONS_TYPE } from './cluster-metrics.module-definition.js';
export type { ClusterMetricsMode, ClusterMetricsModuleOptions, ClusterMetricsOptionsFactory } from './cluster-metrics-options.interface.js';
export type { FamilySnapshot, MetricKind, SampleValue, WorkerMetrics } from './worker-metrics.js';
