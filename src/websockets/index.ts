export { ClusterIoAdapter } from './cluster-io.adapter.js';
export { ClusterSocketAdapter, createClusterAdapter, type AdapterCluster, type AdapterNamespace } from './cluster-socket.adapter.js';
export { slotSessionId } from './session-id.js';
