export { ClusterHealthModule } from './cluster-health.module.js';
export { ClusterHealthIndicator, VITALS_TOPIC, type CheckWorkersOptions, type ClusterHealthOptions, type WorkerVitals } from './cluster.health.js';
