import { CLUSTER_NAMESPACE, ENVELOPE_VERSION, MAX_TIMER_MS, MAX_TOPIC_LENGTH } from '../cluster.constants.js';
import type { WorkerAddress, WorkerIdentity } from '../interfaces/cluster-event.interface.js';
import { isMessageKind, type MessageEnvelope, type RemoteErrorInfo } from '../messaging/envelope.js';
import type { Payload, Serialization } from '../messaging/payload-codec.js';

/**
 * What a transport checks every message against where it enters a process. Every transport
 * validates with `readMessage`, so a worker's bug (or foreign code writing with the library's
 * namespace) is dropped at the edge instead of reaching a router or a handler.
 */
export interface WireLimits {
  readonly serialization: Serialization;
  /** Largest `data`, in bytes (characters for JSON text). */
  readonly maxMessageBytes: number;
}

/** An envelope as it arrived: nothing about its fields is known yet. */
export type Unchecked = { readonly [field: string]: unknown };

const MAX_ID_LENGTH = 128;
const MAX_NODE_ID_LENGTH = 128;
const MAX_ERROR_FIELD_LENGTH = 16_384;

/**
 * Checks a message envelope (`publish`, `send`, `request`, `reply`). Returns why it is malformed
 * instead, as a short phrase for a log line.
 *
 * `sender`: who wrote it, when the receiver knows for itself (a router knows which worker's channel a
 * message came on). Then the envelope is rebuilt from the known fields only, with `from` set to
 * `sender` whatever the envelope claims and a request's `timeoutMs` clamped to what a timer can wait:
 * what a router relays carries nothing it did not check. Without `sender` (a worker reading what its
 * router relayed), `from` must be a valid identity and the checked envelope is used as it is.
 */
export function readMessage(raw: Unchecked, limits: WireLimits, sender?: WorkerIdentity): MessageEnvelope | string {
  const { kind, topic } = raw;
  if (!isMessageKind(kind)) return `unknown kind ${show(kind)}`;
  if (!isTopic(topic)) return `${kind}: topic ${show(topic)} is not a string of 1 to ${MAX_TOPIC_LENGTH} characters`;
  const from = sender ?? raw.from;
  if (!isIdentity(from)) return `${kind} "${topic}": from ${show(from)} is not a worker identity`;
  const data = raw.data;
  if (data !== undefined) {
    const size = payloadSize(data, limits.serialization);
    if (size === undefined) {
      const expected = limits.serialization === 'json' ? 'JSON text' : 'serialized bytes';
      return `${kind} "${topic}": data is ${describeType(data)}, not ${expected} ('${limits.serialization}' serialization)`;
    }
    if (size > limits.maxMessageBytes) {
      return `${kind} "${topic}": data of ${size} bytes is over the limit of ${limits.maxMessageBytes} (messaging.maxMessageBytes)`;
    }
  }
  let id: string | undefined;
  let to: WorkerAddress | undefined;
  let timeoutMs: number | undefined;
  let error: RemoteErrorInfo | undefined;
  /** Fields set besides ns, v, kind and topic: if that is all it has, it can be used in place. */
  let known = (raw.from === undefined ? 0 : 1) + (data === undefined ? 0 : 1);
  if (kind === 'send' || raw.to !== undefined) {
    if (!isAddress(raw.to)) return `${kind} "${topic}": to ${show(raw.to)} is not an address ({ node, slot })`;
    to = raw.to;
    known += 1;
  }
  if (kind === 'request' || kind === 'reply') {
    if (!isId(raw.id)) return `${kind} "${topic}": id ${show(raw.id)} is not a string of 1 to ${MAX_ID_LENGTH} characters`;
    id = raw.id;
    known += 1;
  }
  if (kind === 'request') {
    const t = raw.timeoutMs;
    if (typeof t !== 'number' || !(t > 0)) return `request "${topic}": timeoutMs ${show(t)} is not a number > 0`;
    timeoutMs = Math.min(Math.ceil(t), MAX_TIMER_MS);
    known += 1;
  }
  if (kind === 'reply' && raw.error !== undefined) {
    const checked = readRemoteError(raw.error);
    if (typeof checked === 'string') return `reply "${topic}": ${checked}`;
    error = checked;
    known += 1;
  }
  if (!sender) return raw as unknown as MessageEnvelope;
  if (definedFields(raw) === known + 4) {
    // Nothing unchecked aboard: stamp it in place, no copy (the hot path of every relayed message).
    const checked = raw as { -readonly [K in keyof MessageEnvelope]: MessageEnvelope[K] };
    checked.from = sender;
    if (timeoutMs !== undefined) checked.timeoutMs = timeoutMs;
    if (error !== undefined) checked.error = error; // its own unchecked fields stay behind
    return checked;
  }
  const message: MessageEnvelope = {
    ns: CLUSTER_NAMESPACE,
    v: ENVELOPE_VERSION,
    kind,
    topic,
    id,
    from,
    to,
    timeoutMs,
    data: data as Payload | undefined,
    error,
  };
  return message;
}

/** Own enumerable fields that hold a value. */
function definedFields(raw: Unchecked): number {
  let count = 0;
  for (const field in raw) if (raw[field] !== undefined) count += 1;
  return count;
}

/** Size of a payload in the given serialization, or `undefined` when it has the wrong type. */
export function payloadSize(data: unknown, serialization: Serialization): number | undefined {
  if (serialization === 'json') return typeof data === 'string' ? data.length : undefined;
  return data instanceof Uint8Array ? data.byteLength : undefined;
}

export function isIdentity(value: unknown): value is WorkerIdentity {
  if (typeof value !== 'object' || value === null) return false;
  const { id, slot, pid, node } = value as Unchecked;
  // slot -1 speaks for a router (an error reply of the primary), which has no slot of its own.
  return isWhole(id) && isWhole(pid) && Number.isInteger(slot) && (slot as number) >= -1 && isNodeId(node);
}

/** Where a message goes: a node and a slot there. */
export function isAddress(value: unknown): value is WorkerAddress {
  if (typeof value !== 'object' || value === null) return false;
  const { node, slot } = value as Unchecked;
  return isWhole(slot) && isNodeId(node);
}

/** A node's name as it travels; what names are allowed is the option's business. */
export function isNodeId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_NODE_ID_LENGTH;
}

export function isTopic(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_TOPIC_LENGTH;
}

function readRemoteError(value: unknown): RemoteErrorInfo | string {
  if (typeof value !== 'object' || value === null) return `error ${show(value)} is not an object`;
  const { code, message, remoteCode, remoteName, slot, node } = value as Unchecked;
  if (!isShortText(code) || !isShortText(message)) return 'error.code and error.message must be strings';
  if (remoteCode !== undefined && !isShortText(remoteCode) && typeof remoteCode !== 'number') {
    return 'error.remoteCode must be a string or a number';
  }
  if (remoteName !== undefined && !isShortText(remoteName)) return 'error.remoteName must be a string';
  if (slot !== undefined && !Number.isInteger(slot)) return 'error.slot must be a whole number';
  if (node !== undefined && !isNodeId(node)) return 'error.node must be a node name';
  return {
    code,
    message,
    remoteCode: remoteCode as string | number | undefined,
    remoteName: remoteName as string | undefined,
    slot: slot as number | undefined,
    node: node as string | undefined,
  };
}

function isWhole(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0;
}

function isId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_ID_LENGTH;
}

function isShortText(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_ERROR_FIELD_LENGTH;
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value !== 'object') return `a ${typeof value}`;
  const name: unknown = value.constructor?.name;
  return typeof name === 'string' && name !== 'Object' ? `a ${name}` : 'an object';
}

/** A value as a log line may show it: short and cheap, whatever it is (a string may be 100 MB). */
export function show(value: unknown): string {
  if (typeof value === 'string') return value.length > 40 ? `${JSON.stringify(value.slice(0, 37))}...` : JSON.stringify(value);
  if (typeof value === 'object' && value !== null) return Array.isArray(value) ? `an array of ${value.length}` : describeType(value);
  return String(value);
}
