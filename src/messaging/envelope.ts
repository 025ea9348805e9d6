import { CLUSTER_NAMESPACE, ENVELOPE_VERSION } from '../cluster.constants.js';
import type { ClusterEvent, WorkerIdentity } from '../interfaces/cluster-event.interface.js';
import type { ClusterState, WorkerInfo } from '../interfaces/worker-info.interface.js';
import type { Payload } from './payload-codec.js';

/**
 * Control kinds, between a worker and the primary:
 * - `hello`: a worker's transport is listening; the primary answers with a `lifecycle` snapshot.
 * - `lifecycle`: primary -> workers, an event (if any) and the membership snapshot after it.
 * - `ready`: worker -> primary, the app's `listen` resolved.
 * - `shutdown`: primary -> worker, drain and exit.
 * - `handlers`: worker -> primary, the request topics this worker handles.
 * - `restart`: worker -> primary, start a rolling restart.
 * - `batch`: several envelopes written at once (`data` holds them, in order).
 */
export type ControlKind = 'hello' | 'lifecycle' | 'ready' | 'shutdown' | 'handlers' | 'restart' | 'batch';
/** Message kinds, between workers (relayed by the primary). */
export type MessageKind = 'publish' | 'send' | 'request' | 'reply';
export type EnvelopeKind = ControlKind | MessageKind;

/** The one message format the library puts on the wire. */
export interface ClusterEnvelope<K extends EnvelopeKind = EnvelopeKind, D = unknown> {
  readonly ns: typeof CLUSTER_NAMESPACE;
  readonly v: typeof ENVELOPE_VERSION;
  readonly kind: K;
  readonly topic?: string;
  readonly id?: string;
  readonly from?: WorkerIdentity;
  /** Addressed slot (`send`, `request`); absent for `publish` and for a request to any handler. */
  readonly to?: number;
  readonly data?: D;
}

/** What a failed request carries back. */
export interface RemoteErrorInfo {
  readonly code: string;
  readonly message: string;
  /** For `CLUSTER_ERR_REMOTE_HANDLER`: the handler's own error code and class name. */
  readonly remoteCode?: string | number;
  readonly remoteName?: string;
  /** Slot that failed, where known. */
  readonly slot?: number;
}

/**
 * A message between workers. `data` is the payload, serialized once by the sender (so a value that
 * cannot be serialized fails at the call, and the primary relays it without decoding).
 */
export interface MessageEnvelope extends ClusterEnvelope<MessageKind, Payload | undefined> {
  readonly topic: string;
  readonly from: WorkerIdentity;
  /** `request`: how long the requester waits, so the router can forget it afterwards. */
  readonly timeoutMs?: number;
  /** `reply`: set instead of `data` when the request failed. */
  readonly error?: RemoteErrorInfo;
}

export interface LifecycleData {
  readonly event?: ClusterEvent;
  readonly workers: readonly WorkerInfo[];
  readonly state: ClusterState;
}

export type LifecycleEnvelope = ClusterEnvelope<'lifecycle', LifecycleData>;
export type BatchEnvelope = ClusterEnvelope<'batch', readonly ClusterEnvelope[]>;
export type HandlersEnvelope = ClusterEnvelope<'handlers', readonly string[]>;

const MESSAGE_KINDS: ReadonlySet<string> = new Set<MessageKind>(['publish', 'send', 'request', 'reply']);

/** Builds an envelope of the current version. */
export function envelope<K extends EnvelopeKind, D>(
  kind: K,
  fields: Omit<ClusterEnvelope<K, D>, 'ns' | 'v' | 'kind'> = {},
): ClusterEnvelope<K, D> {
  return { ns: CLUSTER_NAMESPACE, v: ENVELOPE_VERSION, kind, ...fields };
}

/** Builds a message envelope. */
export function messageEnvelope(kind: MessageKind, fields: Omit<MessageEnvelope, 'ns' | 'v' | 'kind'>): MessageEnvelope {
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

export function isMessageEnvelope(message: ClusterEnvelope): message is MessageEnvelope {
  return MESSAGE_KINDS.has(message.kind);
}

/** Calls `visit` for each envelope a wire message carries: itself, or each one of a batch. */
export function forEachEnvelope(message: ClusterEnvelope, visit: (envelope: ClusterEnvelope) => void): void {
  if (message.kind !== 'batch') return visit(message);
  for (const inner of (message as BatchEnvelope).data ?? []) visit(inner);
}
