/**
 * The IPC transport's own protocol between a worker and the primary: the control kinds, their
 * envelopes and their validation. Messages between workers (`publish`, `send`, `request`, `reply`)
 * ride the same channel and are checked with the transport-independent `readMessage`.
 *
 * Worker -> primary:
 * - `hello`: the worker's transport listens; the primary answers with a `lifecycle` snapshot.
 * - `ready`: the app's `listen` resolved; `data`, if any, holds what the primary reports once for the
 *   whole cluster (`ReadyNotes`).
 * - `standby`: a warm standby's app is created and initialized; `data.listening`: it listened too, on
 *   ports the primary owns (which deals it nothing until it takes a slot), else its listen waits for
 *   `promote`.
 * - `handlers`: the request topics this worker handles (replaces the previous list).
 * - `restart`: start a rolling restart.
 * - `heartbeat`: the worker's event loop runs (a timer, every `HEARTBEAT_INTERVAL_MS`).
 * - `credit`: the worker has handled this many bytes of messages (flow control, see `WorkerOutbox`).
 * - `released`: the worker was leader and has stopped acting as one (it read a snapshot naming
 *   another leader, or none); the primary appoints the next leader only then, or once it exited.
 * - `handoff`: a draining worker passes an open connection of its TCP transport on `port` (the handle
 *   rides along); the primary gives it to the worker now serving the slot, or destroys it.
 * - `listen`: a server of the worker listens on a TCP `port` (and `address`, `null` for every
 *   interface; `index` tells apart a worker's several servers on port 0); `seq` names the request,
 *   which the primary answers with `listening`. The primary owns the port and hands its connections.
 * - `accepted`: the worker took the connection of the primary's `handoff` with this `id` (`accepted`:
 *   its server serves it, the primary closes its own copy) or could not (`false`: no server listens
 *   there any more; the primary hands it to another worker).
 * - `scale`: change this node's worker count (`ClusterService.scale`): `workers` is a count or a change
 *   of it (`'4'`, `'+2'`, `'-1'`); `seq` names the request, which the primary answers with `scaled`.
 * Primary -> worker:
 * - `lifecycle`: an event (if any) and the membership snapshot after it.
 * - `shutdown`: drain and exit; `handOff`: a replacement is ready to take the open connections.
 * - `promote`: the standby takes `slot` (`data`): it serves as that slot from now on; one that did not
 *   listen yet listens, then says `ready`.
 * - `handoff`: a connection to serve from now on, on the TCP transport listening on `port`; or, with
 *   `head` (the bytes the primary already read from it, base64, possibly none), a connection of the
 *   sticky listener on `port`, for the app's HTTP server. With an `id`, the primary keeps its own copy
 *   until the worker answers `accepted`: if the worker dies first, the connection goes to another one.
 *   Without `head`, the handle of a connection the primary accepted on a port a server of the worker
 *   listens on (`listen`) is a bare one, for that server to accept as its own.
 * - `listening`: the answer to the worker's `listen` with the same `seq`: the address the primary
 *   listens on (`port`, `address`, `family`), or the `error` code (`EADDRINUSE`...) it met.
 * - `scaled`: the answer to the worker's `scale` with the same `seq`: the counts before and after
 *   (`result`), what would have been `allowed` (a count out of bounds), or why it is `unavailable`.
 * Both ways: `batch`, several envelopes written at once (`data` holds them, in order).
 *
 * A cluster message travels inside a `batch` as a row (an array, see `toRow`), not as an envelope
 * object: naming every field in every message cost more to write and to parse than the values
 * themselves (a batch of 1,000 sends of 100-byte payloads, JSON: 295 bytes and 1.3 us per message as
 * envelopes, 150 bytes and 0.4 us as rows).
 */
import { CLUSTER_NAMESPACE, ENVELOPE_VERSION } from '../cluster.constants.js';
import { readScaleArgument } from '../common/scale-argument.js';
import type { ClusterEvent, WorkerIdentity } from '../interfaces/cluster-event.interface.js';
import type { ClusterState, ScaleResult, WorkerInfo } from '../interfaces/worker-info.interface.js';
import { envelope, isMessageKind, type ClusterEnvelope, type MessageEnvelope } from '../messaging/envelope.js';
import { isIdentity, isTopic, readMessage, show, type Unchecked, type WireLimits } from '../transports/message-validation.js';

/** Envelopes per write at most: bounds the size of one IPC message and lets the receiver start early. */
export const MAX_BATCH = 1_000;
/**
 * Bytes the sticky listener may read from a connection before it hands it on: the request line is at
 * most 8 KiB, but one read can bring up to 64 KiB of what follows it.
 */
export const MAX_HANDOFF_HEAD_BYTES = 128 * 1024;
/** Request topics one worker may announce. */
const MAX_HANDLED_TOPICS = 10_000;

export interface LifecycleData {
  readonly event?: ClusterEvent;
  readonly workers: readonly WorkerInfo[];
  readonly state: ClusterState;
}

/** What a worker found while starting that the primary reports once for the whole cluster. */
export interface ReadyNotes {
  /** `@nestjs/schedule` jobs that will run on every worker (no `ClusterScheduleModule`). */
  readonly everyWorkerJobs?: readonly string[];
}

/** Jobs named in one `ready` at most, and the longest name. */
const MAX_NOTED_JOBS = 1_000;
const MAX_JOB_NAME = 512;

/** A control message from a worker, checked. */
export type WorkerControl =
  | { readonly kind: 'hello' | 'restart' | 'heartbeat' | 'released' }
  | { readonly kind: 'standby'; readonly listening: boolean }
  | { readonly kind: 'ready'; readonly notes: ReadyNotes }
  | { readonly kind: 'handlers'; readonly topics: readonly string[] }
  | { readonly kind: 'credit'; readonly bytes: number }
  | { readonly kind: 'handoff'; readonly port: number }
  | { readonly kind: 'listen'; readonly request: ListenRequest }
  | { readonly kind: 'accepted'; readonly id: number; readonly accepted: boolean }
  | { readonly kind: 'scale'; readonly request: ScaleRequest };

/** A worker asks for a change of the worker count. */
export interface ScaleRequest {
  readonly seq: number;
  /** A count or a change of it, as `readScaleArgument` reads it. */
  readonly workers: string;
}

/**
 * The primary's answer to a `scale`: the counts before and after (`result`), or why the count did not
 * change: the count asked for is out of bounds (`allowed`: what would have been), or the node is
 * shutting down (`unavailable`: the reason).
 */
export type ScaleReply =
  | { readonly seq: number; readonly result: ScaleResult }
  | { readonly seq: number; readonly allowed: string }
  | { readonly seq: number; readonly unavailable: string };

/** A server of a worker listens on a TCP port: the primary listens there in its stead. */
export interface ListenRequest {
  readonly seq: number;
  readonly port: number;
  /** `null`: every interface. */
  readonly address: string | null;
  /** The worker's n-th server on this address and port: servers on port 0 get a port each. */
  readonly index: number;
}

/** The primary's answer to a `listen`: where it listens, or why it cannot. */
export type ListenReply =
  | { readonly seq: number; readonly port: number; readonly address: string; readonly family: string }
  | { readonly seq: number; readonly error: string };

/** A handed connection the worker answers (`accepted`) for, by its `id`. */
export interface HandoffData {
  readonly port: number;
  readonly head?: Buffer;
  readonly id?: number;
}

/** A control message from the primary, checked. */
export type PrimaryControl =
  | { readonly kind: 'shutdown'; readonly handOff: boolean }
  | { readonly kind: 'promote'; readonly slot: number }
  | { readonly kind: 'lifecycle'; readonly data: LifecycleData }
  | ({ readonly kind: 'handoff' } & HandoffData)
  | { readonly kind: 'listening'; readonly reply: ListenReply }
  | { readonly kind: 'scaled'; readonly reply: ScaleReply };

export const controlEnvelope = {
  hello: () => envelope('hello'),
  ready: (notes?: ReadyNotes) => envelope('ready', notes && { data: notes }),
  restart: () => envelope('restart'),
  standby: (listening: boolean) => envelope('standby', { data: { listening } }),
  promote: (slot: number) => envelope('promote', { data: slot }),
  heartbeat: () => envelope('heartbeat'),
  released: () => envelope('released'),
  handlers: (topics: readonly string[]) => envelope('handlers', { data: topics }),
  credit: (bytes: number) => envelope('credit', { data: bytes }),
  lifecycle: (data: LifecycleData) => envelope('lifecycle', { data }),
  shutdown: (handOff = false) => envelope('shutdown', { data: { handOff } }),
  handoff: (port: number, head?: Buffer, id?: number) =>
    envelope('handoff', { data: { port, ...(head && { head: head.toString('base64') }), ...(id !== undefined && { id }) } }),
  listen: (request: ListenRequest) => envelope('listen', { data: request }),
  listening: (reply: ListenReply) => envelope('listening', { data: reply }),
  accepted: (id: number, accepted: boolean) => envelope('accepted', { data: { id, accepted } }),
  scale: (request: ScaleRequest) => envelope('scale', { data: request }),
  scaled: (reply: ScaleReply) => envelope('scaled', { data: reply }),
  batch: (items: readonly ClusterEnvelope[]) => envelope('batch', { data: items }),
};

/**
 * A message's row: `[kind, topic, data, toNode, toSlot, fromNode, fromId, fromSlot, fromPid, id,
 * timeoutMs, error]`, `null` where a field is absent, trailing `null`s left off. A worker leaves `from`
 * off (the primary stamps who wrote it, whatever it would say); the primary writes it.
 */
type MessageRow = unknown[];
const ROW_FIELDS = 12;

export function toRow(m: MessageEnvelope, withFrom: boolean): MessageRow {
  const { to, from } = m;
  const row: unknown[] = [m.kind, m.topic, m.data ?? null, to ? to.node : null, to ? to.slot : null];
  if (withFrom && from) row.push(from.node, from.id, from.slot, from.pid);
  else row.push(null, null, null, null);
  row.push(m.id ?? null, m.timeoutMs ?? null, m.error ?? null);
  let end = row.length;
  while (row[end - 1] === null) end -= 1;
  row.length = end;
  return row;
}

/** A row as an envelope, unchecked (`readMessage` checks it as any other); a reason if it is no row. */
function fromRow(row: readonly unknown[]): Unchecked | string {
  if (row.length < 2 || row.length > ROW_FIELDS) return `batch: a message row of ${row.length} fields`;
  const toNode = row[3];
  const toSlot = row[4];
  const fromNode = row[5];
  // One shape for every row (absent fields undefined): the reader's code stays monomorphic.
  return {
    ns: CLUSTER_NAMESPACE,
    v: ENVELOPE_VERSION,
    kind: row[0],
    topic: row[1],
    data: row[2] ?? undefined,
    to: toNode == null && toSlot == null ? undefined : { node: toNode, slot: toSlot },
    from: fromNode == null ? undefined : { node: fromNode, id: row[6], slot: row[7], pid: row[8] },
    id: row[9] ?? undefined,
    timeoutMs: row[10] ?? undefined,
    error: row[11] ?? undefined,
  };
}

/**
 * What goes on the wire for `message` (an envelope, or a `batch` of them): messages as rows in a
 * batch, control envelopes as they are. `withFrom`: the primary's side, which tells who sent each message.
 */
export function toWire(message: ClusterEnvelope, withFrom: boolean): ClusterEnvelope {
  if (message.kind === 'batch') {
    const items = message.data as readonly ClusterEnvelope[];
    const wire = new Array<unknown>(items.length);
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      wire[i] = isMessageKind(item.kind) ? toRow(item as MessageEnvelope, withFrom) : item;
    }
    return envelope('batch', { data: wire });
  }
  return isMessageKind(message.kind) ? envelope('batch', { data: [toRow(message as MessageEnvelope, withFrom)] }) : message;
}

/**
 * Calls `visit` for each envelope one IPC message carries (itself, or each one of a batch, in order)
 * (a message row read as an envelope) and `malformed` for what cannot be one: a wrong version, a batch
 * that is not an array of envelopes and rows, a batch inside a batch.
 */
export function unpack(message: object, visit: (item: Unchecked) => void, malformed: (reason: string) => void): void {
  const outer = message as Unchecked;
  if (outer.v !== ENVELOPE_VERSION) return malformed(`envelope version ${show(outer.v)}, expected ${ENVELOPE_VERSION}`);
  if (outer.kind !== 'batch') return visit(outer);
  const items = outer.data;
  if (!Array.isArray(items) || items.length > MAX_BATCH) {
    return malformed(`batch: data ${show(items)} is not an array of at most ${MAX_BATCH} envelopes`);
  }
  for (const item of items as unknown[]) {
    if (Array.isArray(item)) {
      const read = fromRow(item);
      if (typeof read === 'string') malformed(read);
      else visit(read);
    } else if (typeof item !== 'object' || item === null) malformed(`batch: item ${show(item)} is not an envelope`);
    else if ((item as Unchecked).ns !== CLUSTER_NAMESPACE || (item as Unchecked).v !== ENVELOPE_VERSION) {
      malformed('batch: an item lacks the namespace or version of an envelope');
    } else if ((item as Unchecked).kind === 'batch') malformed('batch: a batch inside a batch');
    else visit(item as Unchecked);
  }
}

/** Checks one envelope a worker sent to the primary; `sender` is who the primary knows wrote it. */
export function readFromWorker(raw: Unchecked, limits: WireLimits, sender: WorkerIdentity): MessageEnvelope | WorkerControl | string {
  const { kind } = raw;
  if (isMessageKind(kind)) return readMessage(raw, limits, sender);
  switch (kind) {
    case 'ready':
      return readReady(raw);
    case 'hello':
    case 'restart':
    case 'heartbeat':
    case 'released':
      return { kind };
    case 'standby':
      return { kind, listening: (raw.data as Unchecked | undefined)?.listening === true };
    case 'handlers': {
      const topics = raw.data;
      if (!Array.isArray(topics) || topics.length > MAX_HANDLED_TOPICS || !topics.every(isTopic)) {
        return `handlers: data ${show(topics)} is not an array of at most ${MAX_HANDLED_TOPICS} topics`;
      }
      return { kind, topics };
    }
    case 'credit': {
      const bytes = raw.data;
      if (typeof bytes !== 'number' || !(bytes >= 0) || !Number.isFinite(bytes)) return `credit: data ${show(bytes)} is not a number >= 0`;
      return { kind, bytes };
    }
    case 'handoff':
      return readHandoff(raw);
    case 'listen':
      return readListen(raw);
    case 'accepted': {
      const data = raw.data as Unchecked | undefined;
      if (!isHandoffId(data?.id) || typeof data?.accepted !== 'boolean') return `accepted: data ${show(data)} is not { id, accepted }`;
      return { kind, id: data.id as number, accepted: data.accepted };
    }
    case 'scale': {
      const data = raw.data as Unchecked | undefined;
      const workers = readScaleArgument(data?.workers);
      if (!isHandoffId(data?.seq) || workers === undefined) return `scale: data ${show(data)} is not { seq, workers }`;
      return { kind, request: { seq: data!.seq as number, workers } };
    }
    default:
      return `kind ${show(kind)} is not one a worker sends`;
  }
}

/** Checks one envelope the primary sent to this worker. */
export function readFromPrimary(raw: Unchecked, limits: WireLimits): MessageEnvelope | PrimaryControl | string {
  const { kind } = raw;
  if (isMessageKind(kind)) return readMessage(raw, limits);
  if (kind === 'shutdown') return { kind, handOff: (raw.data as Unchecked | undefined)?.handOff === true };
  if (kind === 'promote') {
    const slot = raw.data;
    if (!Number.isInteger(slot) || (slot as number) < 0) return `promote: slot ${show(slot)} is not a whole number`;
    return { kind, slot: slot as number };
  }
  if (kind === 'handoff') return readHandoff(raw, true);
  if (kind === 'listening') return readListening(raw);
  if (kind === 'scaled') return readScaled(raw);
  if (kind !== 'lifecycle') return `kind ${show(kind)} is not one the primary sends`;
  const data = raw.data as Unchecked | null | undefined;
  if (typeof data !== 'object' || data === null) return 'lifecycle: data is not an object';
  const { workers, state, event } = data;
  if (!Array.isArray(workers) || !workers.every((w: unknown) => isIdentity(w) && typeof (w as unknown as Unchecked).state === 'string')) {
    return 'lifecycle: workers is not a list of workers';
  }
  if (typeof state !== 'object' || state === null || typeof (state as Unchecked).expectedWorkers !== 'number') {
    return 'lifecycle: state is not a cluster state';
  }
  if (event !== undefined && (typeof event !== 'object' || event === null || typeof (event as Unchecked).type !== 'string')) {
    return 'lifecycle: event is not an event';
  }
  return { kind, data: data as unknown as LifecycleData };
}

function readReady(raw: Unchecked): WorkerControl | string {
  const notes = raw.data as Unchecked | undefined;
  if (notes === undefined) return { kind: 'ready', notes: {} };
  const jobs = typeof notes === 'object' && notes !== null ? notes.everyWorkerJobs : notes;
  if (jobs === undefined) return { kind: 'ready', notes: {} };
  const isName = (name: unknown) => typeof name === 'string' && name.length > 0 && name.length <= MAX_JOB_NAME;
  if (!Array.isArray(jobs) || jobs.length > MAX_NOTED_JOBS || !jobs.every(isName)) {
    return `ready: everyWorkerJobs ${show(jobs)} is not an array of at most ${MAX_NOTED_JOBS} job names`;
  }
  return { kind: 'ready', notes: { everyWorkerJobs: jobs as string[] } };
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** `fromPrimary`: the primary's handoff may carry the bytes it read and an id to answer (a worker's never does). */
function readHandoff(raw: Unchecked, fromPrimary = false): ({ readonly kind: 'handoff' } & HandoffData) | string {
  const data = raw.data as Unchecked | undefined;
  const port = data?.port;
  if (!isPort(port)) return `handoff: port ${show(port)} is not a port`;
  const { head, id } = data!;
  if ((head !== undefined || id !== undefined) && !fromPrimary) return 'handoff: a worker sends neither bytes nor an id with a connection';
  if (id !== undefined && !isHandoffId(id)) return `handoff: id ${show(id)} is not a whole number >= 1`;
  const answered = id === undefined ? {} : { id: id as number };
  if (head === undefined) return { kind: 'handoff', port: port as number, ...answered };
  if (typeof head !== 'string' || head.length > Math.ceil(MAX_HANDOFF_HEAD_BYTES / 3) * 4 || !BASE64.test(head)) {
    return `handoff: head ${show(head)} is not base64 of at most ${MAX_HANDOFF_HEAD_BYTES} bytes`;
  }
  return { kind: 'handoff', port: port as number, head: Buffer.from(head, 'base64'), ...answered };
}

/** Longest address a worker may ask to listen on (an IPv6 address with a zone fits). */
const MAX_ADDRESS_LENGTH = 256;

function readListen(raw: Unchecked): WorkerControl | string {
  const data = raw.data as Unchecked | undefined;
  const { seq, port, address, index } = data ?? {};
  const addressOk = address === null || (typeof address === 'string' && address.length > 0 && address.length <= MAX_ADDRESS_LENGTH);
  if (!isHandoffId(seq) || !(port === 0 || isPort(port)) || !addressOk || !Number.isSafeInteger(index) || (index as number) < 0) {
    return `listen: data ${show(data)} is not { seq, port, address, index }`;
  }
  return { kind: 'listen', request: { seq: seq as number, port: port as number, address: address as string | null, index: index as number } };
}

function readListening(raw: Unchecked): PrimaryControl | string {
  const data = raw.data as Unchecked | undefined;
  const seq = data?.seq;
  if (!isHandoffId(seq)) return `listening: seq ${show(seq)} is not a whole number >= 1`;
  if (typeof data!.error === 'string') return { kind: 'listening', reply: { seq: seq as number, error: data!.error.slice(0, 64) } };
  const { port, address, family } = data!;
  if (!isPort(port) || typeof address !== 'string' || typeof family !== 'string') return `listening: data ${show(data)} is not an address`;
  return { kind: 'listening', reply: { seq: seq as number, port: port as number, address, family } };
}

/** Longest reason the primary gives for a count it did not change. */
const MAX_SCALE_REASON = 512;

function readScaled(raw: Unchecked): PrimaryControl | string {
  const data = raw.data as Unchecked | undefined;
  const seq = data?.seq;
  if (!isHandoffId(seq)) return `scaled: seq ${show(seq)} is not a whole number >= 1`;
  const { result, allowed, unavailable } = data!;
  const { from, to } = (result ?? {}) as Unchecked;
  if (isCount(from) && isCount(to)) return { kind: 'scaled', reply: { seq: seq as number, result: { from: from as number, to: to as number } } };
  if (typeof allowed === 'string') return { kind: 'scaled', reply: { seq: seq as number, allowed: allowed.slice(0, MAX_SCALE_REASON) } };
  if (typeof unavailable === 'string') return { kind: 'scaled', reply: { seq: seq as number, unavailable: unavailable.slice(0, MAX_SCALE_REASON) } };
  return `scaled: data ${show(data)} is not { seq, result }, { seq, allowed } or { seq, unavailable }`;
}

function isCount(n: unknown): boolean {
  return Number.isSafeInteger(n) && (n as number) >= 0;
}

function isPort(port: unknown): boolean {
  return Number.isInteger(port) && (port as number) >= 1 && (port as number) <= 65_535;
}

function isHandoffId(id: unknown): boolean {
  return Number.isSafeInteger(id) && (id as number) >= 1;
}
