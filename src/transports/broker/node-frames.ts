/**
 * What the nodes of a cluster say to each other over a pub/sub broker (Redis, NATS), whatever the
 * broker: heartbeats, goodbyes, lifecycle events and messages, as frames. Frames written in one tick to
 * one channel travel as one broker message. A message's payload travels as its sender encoded it. Each
 * broker's protocol file says which channel carries which frames, and in which encoding:
 *
 * - JSON: one frame, or `{ "t": "batch", "items": [...] }`;
 * - v8 structured clone of the same (`serialization: 'advanced'`);
 * - packed (JSON serialization only): a JSON array with one entry per frame, a line break, then the
 *   payloads of its messages one after the other. A message's entry is an array of its fields in a fixed
 *   order (`PACKED_FIELDS`) ending with its payload's length, so neither side escapes, nor parses, a
 *   payload that is itself JSON text, nor repeats field names; any other frame is its JSON object.
 *
 * `decodeFrames` reads all three (a packed message starts with `[`, JSON with `{`).
 */
import { deserialize, serialize } from 'node:v8';
import { CLUSTER_NAMESPACE, ENVELOPE_VERSION } from '../../cluster.constants.js';
import type { ClusterEvent } from '../../interfaces/cluster-event.interface.js';
import type { WorkerInfo } from '../../interfaces/worker-info.interface.js';
import { isLeader, type Leader } from '../../leadership/leader.interface.js';
import type { MessageEnvelope } from '../../messaging/envelope.js';
import type { Serialization } from '../../messaging/payload-codec.js';
import { isIdentity, isNodeId, isTopic, readMessage, show, type Unchecked, type WireLimits } from '../message-validation.js';
import type { NodeHeartbeat } from './remote-nodes.js';

/** Frames one batch may hold. */
export const MAX_FRAMES = 1_000;
const MAX_TOPICS = 10_000;
const MAX_WORKERS = 4_096;

export type Frame =
  | ({ readonly t: 'hb' } & NodeHeartbeat)
  | { readonly t: 'bye'; readonly node: string }
  | { readonly t: 'pub'; readonly node: string; readonly m: MessageEnvelope }
  | { readonly t: 'msg'; readonly node: string; readonly m: MessageEnvelope }
  | { readonly t: 'ev'; readonly node: string; readonly e: ClusterEvent };

export function encodeFrames(frames: readonly Frame[], serialization: Serialization): string | Buffer {
  const body = frames.length === 1 ? frames[0] : { t: 'batch', items: frames };
  return serialization === 'advanced' ? serialize(body) : JSON.stringify(body);
}

/**
 * Frames as a broker message carries them: packed with JSON serialization (a payload that is itself JSON
 * text is neither escaped nor parsed on its way), a structured clone with `'advanced'`.
 */
export function wireFrames(frames: readonly Frame[], serialization: Serialization): string | Buffer {
  return serialization === 'json' ? packFrames(frames) : encodeFrames(frames, serialization);
}

/** The fields of a packed message's entry, in order (then the payload's length, or -1 for none). */
export const PACKED_FIELDS = [
  't',
  'node',
  'kind',
  'topic',
  'id',
  'from.node',
  'from.id',
  'from.slot',
  'from.pid',
  'to.node',
  'to.slot',
  'timeoutMs',
  'error',
] as const;
const PACKED_ENTRY_LENGTH = PACKED_FIELDS.length + 1;

/** Frames in the packed encoding (JSON serialization: every payload is a string). */
export function packFrames(frames: readonly Frame[]): string {
  const entries: unknown[] = [];
  let payloads = '';
  for (const frame of frames) {
    if (frame.t !== 'pub' && frame.t !== 'msg') {
      entries.push(frame);
      continue;
    }
    const { m } = frame;
    const data = m.data as string | undefined;
    entries.push([
      frame.t,
      frame.node,
      m.kind,
      m.topic,
      m.id ?? null,
      m.from.node,
      m.from.id,
      m.from.slot,
      m.from.pid,
      m.to?.node ?? null,
      m.to?.slot ?? null,
      m.timeoutMs ?? null,
      m.error ?? null,
      data === undefined ? -1 : data.length,
    ]);
    if (data !== undefined) payloads += data;
  }
  return `${JSON.stringify(entries)}\n${payloads}`;
}

/** The items of a packed message, messages rebuilt as frames for `readFrame`; a string says why it is malformed. */
function unpack(text: string): unknown[] | string {
  const end = text.indexOf('\n');
  if (end === -1) return 'packed: no line break after the entries';
  // A list: the text starts with `[`.
  const entries = JSON.parse(text.slice(0, end)) as unknown[];
  if (entries.length > MAX_FRAMES) return `packed: ${entries.length} entries`;
  const items: unknown[] = [];
  let at = end + 1;
  for (const entry of entries) {
    if (!Array.isArray(entry)) {
      items.push(entry);
      continue;
    }
    if (entry.length !== PACKED_ENTRY_LENGTH) return `packed: an entry of ${entry.length} fields`;
    const [t, node, kind, topic, id, fromNode, fromId, fromSlot, fromPid, toNode, toSlot, timeoutMs, error, length] = entry as unknown[];
    if (!Number.isInteger(length) || (length as number) < -1 || at + (length as number) > text.length)
      return `packed: a payload of length ${show(length)}`;
    const data = length === -1 ? undefined : text.slice(at, (at += length as number));
    items.push({
      t,
      node,
      m: {
        ns: CLUSTER_NAMESPACE,
        v: ENVELOPE_VERSION,
        kind,
        topic,
        id: id ?? undefined,
        from: { node: fromNode, id: fromId, slot: fromSlot, pid: fromPid },
        to: toNode === null && toSlot === null ? undefined : { node: toNode, slot: toSlot },
        timeoutMs: timeoutMs ?? undefined,
        error: error ?? undefined,
        data,
      },
    });
  }
  if (at !== text.length) return `packed: ${text.length - at} character(s) after the payloads`;
  return items;
}

/**
 * The frames of one Redis message, each checked: heartbeats and events for their shape, messages with
 * `readMessage` and a sender on the node that wrote the frame. `malformed` hears what is dropped.
 */
export function decodeFrames(raw: Uint8Array, limits: WireLimits, malformed: (reason: string) => void): Frame[] {
  let body: unknown;
  let items: unknown;
  try {
    const bytes = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    if (limits.serialization === 'advanced') body = deserialize(bytes);
    else if (bytes[0] === 0x5b /* [ */) items = unpack(bytes.toString('utf8'));
    else body = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    malformed(`undecodable: ${(error as Error).message}`);
    return [];
  }
  if (typeof items === 'string') {
    malformed(items);
    return [];
  }
  items ??= (body as Unchecked | null)?.t === 'batch' ? (body as Unchecked).items : [body];
  if (!Array.isArray(items) || items.length > MAX_FRAMES) {
    malformed(`batch of ${show(items)}`);
    return [];
  }
  const frames: Frame[] = [];
  for (const item of items as unknown[]) {
    const frame = readFrame(item, limits);
    if (typeof frame === 'string') malformed(frame);
    else frames.push(frame);
  }
  return frames;
}

function readFrame(item: unknown, limits: WireLimits): Frame | string {
  if (typeof item !== 'object' || item === null) return `frame ${show(item)} is not an object`;
  const { t, node } = item as Unchecked;
  if (!isNodeId(node)) return `frame ${show(t)}: node ${show(node)} is not a node name`;
  switch (t) {
    case 'bye':
      return { t, node };
    case 'hb': {
      const { workers, topics, leader } = item as Unchecked;
      if (!Array.isArray(workers) || workers.length > MAX_WORKERS || !workers.every((w) => isWorkerOf(w, node))) {
        return `hb of ${node}: workers is not a list of its workers`;
      }
      if (!Array.isArray(topics) || topics.length > MAX_TOPICS || !topics.every(isTopic)) return `hb of ${node}: topics is not a list of topics`;
      if (leader != null && !(isLeader(leader) && leader.node === node)) return `hb of ${node}: leader is not one of its workers`;
      return { t, node, workers: workers as WorkerInfo[], topics: topics as string[], leader: (leader as Leader | null | undefined) ?? null };
    }
    case 'ev': {
      const e = (item as Unchecked).e as Unchecked | null;
      if (typeof e !== 'object' || e === null || typeof e.type !== 'string' || e.node !== node) return `ev of ${node}: not an event of that node`;
      if (e.type === 'leader' && e.leader !== null && !(isLeader(e.leader) && e.leader.node === node))
        return `ev of ${node}: leader is not one of its workers`;
      return { t, node, e: e as unknown as ClusterEvent };
    }
    case 'pub':
    case 'msg': {
      const raw = (item as Unchecked).m;
      if (typeof raw !== 'object' || raw === null) return `${t} of ${node}: no message`;
      const m = readMessage(raw as Unchecked, limits);
      if (typeof m === 'string') return `${t} of ${node}: ${m}`;
      // A node speaks for its own workers only.
      if (m.from.node !== node) return `${t} of ${node}: from a worker of ${m.from.node}`;
      if ((t === 'pub') !== (m.kind === 'publish')) return `${t} of ${node}: carries a ${m.kind}`;
      return { t, node, m };
    }
    default:
      return `frame of ${node}: unknown type ${show(t)}`;
  }
}

function isWorkerOf(value: unknown, node: string): value is WorkerInfo {
  return isIdentity(value) && value.node === node && typeof (value as unknown as Unchecked).state === 'string';
}
