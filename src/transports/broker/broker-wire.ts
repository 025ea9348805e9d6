import type { Frame } from './node-frames.js';

/**
 * A pub/sub broker as a node's link and a process's lane use it (Redis, NATS): channels to write
 * frames to and to hear. Nothing waits for a connection: while the wire is down a write is refused, so
 * nothing is sent twice; the wire reconnects by itself. What one tick writes leaves in order, a run of
 * frames for the same channel in one broker message.
 */
export interface BrokerWire {
  /** Writes can go out and the channels are heard. */
  readonly up: boolean;
  connect(): void;
  /** Queues a frame for `channel`; `false` (nothing queued) while the wire is down. */
  write(channel: string, frame: Frame): boolean;
  /** Sends what was written this tick now. */
  flush(): void;
  /** What was written but not sent yet is dropped (the wire went down). */
  drop(): void;
  /**
   * Sends `frames` now and resolves once the broker took them and everything written before, or after
   * `ms` (a broker cut off never answers). With no frames, only waits for what was written before.
   */
  sendNow(channel: string, frames: readonly Frame[], ms: number): Promise<void>;
  /**
   * A partition closes no connection: without an answer from the broker in time, the wire drops its
   * connection and reconnects, so calls fail at once instead of waiting for their timeouts.
   */
  probe(): void;
  disconnect(): Promise<void>;
}

/** What a wire tells its owner. None of these may throw. */
export interface BrokerWireEvents {
  /** The wire went up or down (`up` says which it is now). */
  status(up: boolean): void;
  /** A broker message on one of the channels. */
  received(payload: Uint8Array): void;
  /** A write failed (the connection dropped meanwhile). */
  failed(channel: string, error: unknown): void;
  /** Frames written to a channel nobody listens on (any more), when the broker can tell. */
  unheard?(channel: string, frames: readonly Frame[]): void;
  /** The broker did not answer the probe in time: the wire reconnects. */
  silent(deadlineMs: number): void;
  /**
   * The broker refused the connection (credentials, TLS) or an operation (a permission it lacks),
   * when the wire can tell: each reason once until the wire is up again. The wire keeps trying.
   */
  refused?(reason: string): void;
}

/** Longer than any answer from a broker that works, shorter than the time a node takes to expire. */
export const PROBE_DEADLINE_MS = 3_000;

/** Resolves when `work` settles or after `ms`, whichever comes first: a broker cut off without knowing it never answers. */
export async function atMost(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise((resolve) => (timer = setTimeout(resolve, ms)));
  await Promise.race([work.catch(() => undefined), late]);
  clearTimeout(timer);
}
