/**
 * The control socket's protocol, between the `nestjs-cluster` command and a primary: one JSON request
 * per connection on one line, answered by one JSON line (`reload` and `stop` answer once they are over).
 * Every request carries the token from the file beside the socket.
 */
import type { Leader } from '../leadership/leader.interface.js';
import { readScaleArgument } from '../common/scale-argument.js';
import type { ScaleResult, WorkerState } from '../interfaces/worker-info.interface.js';

export const CONTROL_VERBS = ['status', 'describe', 'reload', 'scale', 'logs', 'stop'] as const;
export type ControlVerb = (typeof CONTROL_VERBS)[number];

/** A request longer than this is refused unread: the protocol has no use for more. */
export const MAX_REQUEST_BYTES = 4_096;

export interface ControlRequest {
  readonly token: string;
  readonly verb: ControlVerb;
  /** `describe`: the slot. */
  readonly slot?: number;
  /** `scale`: a worker count (`4`), or a change of it (`+2`, `-1`), as `readScaleArgument` reads it. */
  readonly workers?: string;
  /** `logs`: how many of the last lines (of the whole node, or of the slot), at most `MAX_LOG_LINES`. */
  readonly lines?: number;
  /** `logs`: go on with every new line after the last ones, until the caller closes the connection. */
  readonly follow?: boolean;
}

/** The most lines `logs` answers with at once: what the primary keeps of one slot. */
export const MAX_LOG_LINES = 1_000;

/** Why a request failed; the command's exit code follows from it (see docs/cli.md). */
export type ControlErrorCode = 'bad-request' | 'bad-token' | 'no-such-slot' | 'aborted' | 'stopping' | 'unavailable';

export type ControlReply<T = unknown> =
  { readonly ok: true; readonly result: T } | { readonly ok: false; readonly error: { readonly code: ControlErrorCode; readonly message: string } };

/** One worker, as `status` and `describe` show it. */
export interface ControlWorker {
  /** -1 for a warm standby (state `standby`), listed by `status` after the workers. */
  readonly slot: number;
  readonly id: number;
  readonly pid: number;
  readonly state: WorkerState;
  readonly startedAt: number;
  readonly readyAt: number | null;
  readonly uptimeMs: number;
  readonly restarts: number;
  /** Resident memory (Linux: from `/proc`), or `null` where it cannot be read. */
  readonly rssMb: number | null;
  /** Share of one CPU over the last quarter second, or `null` where it cannot be read. */
  readonly cpuPercent: number | null;
  readonly leader: boolean;
  readonly congested: boolean;
}

/** The answer to `status`. */
export interface ControlStatus {
  readonly node: string;
  readonly name: string;
  readonly pid: number;
  readonly uptimeMs: number;
  /** The worker count the primary keeps. */
  readonly workers: number;
  /** The link to other nodes: `up`, `down`, or `none` for a cluster of one node. */
  readonly transport: 'up' | 'down' | 'none';
  readonly leader: Leader | null;
  readonly rollingRestarts: { readonly started: number; readonly done: number; readonly aborted: number };
  /** This node's workers, by slot (two in a slot while one replaces the other). */
  readonly processes: readonly ControlWorker[];
}

/** The answer to `reload`. */
export interface ControlReload {
  readonly replaced: number;
}

/** The answer to `scale`. */
export type ControlScale = ScaleResult;

/** The answer to `stop`: the primary's exit code. */
export interface ControlStop {
  readonly code: number;
}

/** A request line, checked: the request, or why it is refused. */
export function readRequest(line: string): ControlRequest | string {
  let body: unknown;
  try {
    body = JSON.parse(line);
  } catch {
    return 'the request is not JSON';
  }
  if (typeof body !== 'object' || body === null) return 'the request is not an object';
  const { token, verb, slot, workers, lines, follow } = body as Record<string, unknown>;
  if (typeof token !== 'string') return 'the request carries no token';
  if (typeof verb !== 'string' || !(CONTROL_VERBS as readonly string[]).includes(verb)) {
    return `unknown verb ${JSON.stringify(verb)}: one of ${CONTROL_VERBS.join(', ')}`;
  }
  if (verb === 'describe' && !(Number.isInteger(slot) && (slot as number) >= 0))
    return `describe needs a slot (an integer >= 0), got ${JSON.stringify(slot)}`;
  if (verb === 'logs') return readLogsRequest(token, slot, lines, follow);
  const change = verb === 'scale' ? readScaleArgument(workers) : undefined;
  if (verb === 'scale' && change === undefined) return `scale needs a worker count or a change of it (4, +2, -1), got ${JSON.stringify(workers)}`;
  return {
    token,
    verb: verb as ControlVerb,
    ...(verb === 'describe' && { slot: slot as number }),
    ...(change !== undefined && { workers: change }),
  };
}

function readLogsRequest(token: string, slot: unknown, lines: unknown, follow: unknown): ControlRequest | string {
  if (slot !== undefined && !(Number.isInteger(slot) && (slot as number) >= 0))
    return `logs: slot must be an integer >= 0, got ${JSON.stringify(slot)}`;
  if (lines !== undefined && !(Number.isInteger(lines) && (lines as number) >= 0 && (lines as number) <= MAX_LOG_LINES)) {
    return `logs: lines must be an integer from 0 to ${MAX_LOG_LINES}, got ${JSON.stringify(lines)}`;
  }
  if (follow !== undefined && typeof follow !== 'boolean') return `logs: follow must be true or false, got ${JSON.stringify(follow)}`;
  return {
    token,
    verb: 'logs',
    ...(slot !== undefined && { slot: slot as number }),
    ...(lines !== undefined && { lines: lines as number }),
    ...(follow !== undefined && { follow }),
  };
}
