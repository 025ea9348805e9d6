import { CLUSTER_NAMESPACE, ENVELOPE_VERSION } from '../cluster.constants.js';
import type { WorkerAddress, WorkerIdentity } from '../interfaces/cluster-event.interface.js';
import type { Payload } from './payload-codec.js';

/** Message kinds, between workers (relayed by the transport). Control kinds belong to each transport. */
export type MessageKind = 'publish' | 'send' | 'request' | 'reply';

/**
 * The one message format the library puts on the wire. `ns` and `v` are literals, not the internal
 * constants' types: the builders below fill them from those constants, so the compiler holds both equal.
 */
export interface ClusterEnvelope<K extends string = string, D = unknown> {
  /** Marks the library's messages; anything without it is the application's own IPC. */
  readonly ns: 'nestjs-cluster';
  /** Version of the envelope format. */
  readonly v: 2;
  readonly kind: K;
  readonly topic?: string;
  readonly id?: string;
  readonly from?: WorkerIdentity;
  /** Addressed worker (`send`, `request`, `reply`); absent for `publish` and for a request to any handler. */
  readonly to?: WorkerAddress;
  readonly data?: D;
}

/** What a failed request carries back. */
export interface RemoteErrorInfo {
  readonly code: string;
  readonly message: string;
  /** For `CLUSTER_ERR_REMOTE_HANDLER`: the handler's own error code and class name. */
  readonly remoteCode?: string | number;
  readonly remoteName?: string;
  /** The worker that failed, where known. */
  readonly slot?: number;
  readonly node?: string;
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

/** Builds an envelope of the current version. */
export function envelope<K extends string, D>(kind: K, fields: Omit<ClusterEnvelope<K, D>, 'ns' | 'v' | 'kind'> = {}): ClusterEnvelope<K, D> {
  return { ns: CLUSTER_NAMESPACE, v: ENVELOPE_VERSION, kind, ...fields };
}

/** Builds a message envelope. */
export function messageEnvelope(kind: MessageKind, fields: Omit<MessageEnvelope, 'ns' | 'v' | 'kind'>): MessageEnvelope {
  return { ns: CLUSTER_NAMESPACE, v: ENVELOPE_VERSION, kind, ...fields };
}

/**
 * `true` for anything carrying the library's namespace: it is ours to validate (a wrong version or
 * shape is dropped as malformed, never handed to the application). Anything else is the
 * application's own IPC and is left alone.
 */
export function hasClusterNamespace(message: unknown): message is { readonly ns: typeof CLUSTER_NAMESPACE } {
  return typeof message === 'object' && message !== null && (message as { ns?: unknown }).ns === CLUSTER_NAMESPACE;
}

export function isMessageKind(kind: unknown): kind is MessageKind {
  return kind === 'send' || kind === 'publish' || kind === 'request' || kind === 'reply';
}
