// Kept on globalThis, like the process transport: the runtime sets it, ClusterService reads it.
const KEY = Symbol.for('nestjs-cluster.draining');
type Holder = { [KEY]?: boolean };

/** `true` from the moment this process begins to drain (readiness probes turn down). */
export function isDraining(): boolean {
  return (globalThis as Holder)[KEY] === true;
}

export function markDraining(): void {
  (globalThis as Holder)[KEY] = true;
}
