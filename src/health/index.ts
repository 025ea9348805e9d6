export { ClusterHealthModule } from './cluster-health.module.js';
export { ClusterHealthIndicator, type CheckWorkersOptions, type ClusterHealthOptions, type WorkerVitals } from './cluster.health.js';
