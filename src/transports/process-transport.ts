import type { ClusterTransport } from './cluster-transport.interface.js';
import { LocalTransport } from './local.transport.js';

// Kept on globalThis so two copies of the package in one process (a bundling accident) still agree.
const SLOT = Symbol.for('nestjs-cluster.process-transport');
type Holder = { [SLOT]?: ClusterTransport };

/**
 * The transport of this process: set by `bootstrapClustered` before the Nest app is created; a
 * standalone `LocalTransport` when the app was built some other way (tests, scripts).
 */
export function processTransport(): ClusterTransport {
  const holder = globalThis as Holder;
  return (holder[SLOT] ??= new LocalTransport());
}

export function setProcessTransport(transport: ClusterTransport): void {
  (globalThis as Holder)[SLOT] = transport;
}
