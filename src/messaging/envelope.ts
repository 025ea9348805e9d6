import { CLUSTER_NAMESPACE, ENVELOPE_VERSION } from '../cluster.constants.js';
import type { ClusterEvent, WorkerIdentity } from '../interfaces/cluster-event.interface.js';
import type { WorkerInfo } from '../interfaces/worker-info.interface.js';

/**
 * What an envelope carries:
 * - `hello`: a worker's transport is listening; the primary answers with a `lifecycle` snapshot.
 * - `lifecycle`: primary -> workers, an event (if any) and the membership snapshot after it.
 * - `ready`: worker -> primary, the app's `listen` resolved.
 * - `shutdown`: primary -> worker, drain and exit.
 */
export type EnvelopeKind = 'hello' | 'lifecycle' | 'ready' | 'shutdown';

/** The one message format the library puts on the wire. */
export interface ClusterEnvelope<K extends EnvelopeKind = EnvelopeKind, D = unknown> {
  readonly ns: typeof CLUSTER_NAMESPACE;
  readonly v: typeof ENVELOPE_VERSION;
  readonly kind: K;
  readonly topic?: string;
  readonly id?: string;
  readonly from?: WorkerIdentity;
  readonly to?: number;
  readonly data?: D;
}

export interface LifecycleData {
  readonly event?: ClusterEvent;
  readonly workers: readonly WorkerInfo[];
}

export type LifecycleEnvelope = ClusterEnvelope<'lifecycle', LifecycleData>;

/** Builds an envelope of the current version. */
export function envelope<K extends EnvelopeKind, D>(
  kind: K,
  fields: Omit<ClusterEnvelope<K, D>, 'ns' | 'v' | 'kind'> = {},
): ClusterEnvelope<K, D> {
  return { ns: CLUSTER_NAMESPACE, v: ENVELOPE_VERSION, kind, ...fields };
}

/** `true` for the library's own envelopes; anything else is the application's IPC and is left alone. */
export function isClusterEnvelope(message: unknown): message is ClusterEnvelope {
  return (
    typeof message === 'object' &&
    message !== null &&
    (message as { ns?: unknown }).ns === CLUSTER_NAMESPACE &&
    (message as { v?: unknown }).v === ENVELOPE_VERSION
  );
}
