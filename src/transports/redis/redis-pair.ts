import { Redis } from 'ioredis';
import type { Serialization } from '../../messaging/payload-codec.js';
import { encodeFrames, MAX_FRAMES, type Frame } from './redis-protocol.js';

/** Longer than any answer from a Redis that works, shorter than the time a node takes to expire. */
const PING_DEADLINE_MS = 3_000;

/** Resolves when `work` settles or after `ms`, whichever comes first: Redis cut off without knowing it never answers. */
export async function atMost(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise((resolve) => (timer = setTimeout(resolve, ms)));
  await Promise.race([work.catch(() => undefined), late]);
  clearTimeout(timer);
}

export interface RedisPairOptions {
  readonly url: string;
  /** Names both connections in `CLIENT LIST` (`<name>:pub`, `<name>:sub`). */
  readonly connectionName: string;
  readonly serialization: Serialization;
  /** The channels the subscriber listens on, (re)subscribed each time it connects. */
  readonly channels: readonly string[];
  /** Delay between reconnection attempts. @default 500 */
  readonly retryMs?: number;
}

/** What the pair tells its owner. None of these may throw. */
export interface RedisPairEvents {
  /** A connection came up or went down; `up` says whether both are up now. */
  status(up: boolean): void;
  /** A Redis message on one of the channels. */
  received(payload: Buffer): void;
  /** A `PUBLISH` failed (the connection dropped meanwhile). */
  failed(channel: string, error: unknown): void;
  /** A `PUBLISH` reached no subscriber: nobody listens on `channel` (any more). */
  unheard?(channel: string, frames: readonly Frame[]): void;
  /** Redis did not answer a `PING` in time: both connections are dropped and reconnect. */
  silent(deadlineMs: number): void;
}

/**
 * One endpoint of the Redis transport: a publisher and a subscriber connection. Nothing waits for a
 * connection (a command while it is down fails, so nothing is sent twice); ioredis reconnects by
 * itself. What one tick writes leaves in order, a run of frames for the same channel in one `PUBLISH`.
 */
export class RedisPair {
  readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly connected = { publisher: false, subscriber: false };
  /** Frames written this tick, in order, with their channel. */
  private pending: Array<{ readonly channel: string; readonly frame: Frame }> = [];
  private flushing = false;
  private probing = false;
  private closed = false;

  constructor(
    private readonly options: RedisPairOptions,
    private readonly events: RedisPairEvents,
  ) {
    const connection = {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => (this.closed ? null : (options.retryMs ?? 500)),
      lazyConnect: true,
    };
    this.publisher = new Redis(options.url, { ...connection, connectionName: `${options.connectionName}:pub` });
    this.subscriber = new Redis(options.url, { ...connection, connectionName: `${options.connectionName}:sub` });
  }

  get up(): boolean {
    return this.connected.publisher && this.connected.subscriber;
  }

  connect(): void {
    this.watch(this.publisher, 'publisher', async () => undefined);
    // Up once Redis confirmed the subscriptions: what others write from then on is heard.
    this.watch(this.subscriber, 'subscriber', () => this.subscriber.subscribe(...this.options.channels));
    this.subscriber.on('messageBuffer', (_channel: Buffer, payload: Buffer) => this.events.received(payload));
    for (const connection of [this.publisher, this.subscriber]) connection.connect().catch(() => undefined);
  }

  /** Queues a frame for `channel`; `false` (nothing queued) while the pair is down. */
  write(channel: string, frame: Frame): boolean {
    if (!this.up) return false;
    this.pending.push({ channel, frame });
    if (!this.flushing) {
      this.flushing = true;
      // At the end of this callback, not at the end of the loop's turn: what one read carried still
      // leaves in one PUBLISH per channel, and a lone request leaves at once instead of after every
      // other I/O callback of the turn.
      queueMicrotask(this.flush);
    }
    return true;
  }

  /** What was written while the pair was up but not sent yet is dropped (the pair went down). */
  drop(): void {
    this.pending = [];
  }

  /**
   * A partition closes no connection: without an answer to PING within the deadline, both
   * connections are dropped and reconnect, so calls fail at once instead of waiting for their timeouts.
   */
  probe(): void {
    if (this.probing || !this.up) return;
    this.probing = true;
    const deadline = setTimeout(() => {
      this.events.silent(PING_DEADLINE_MS);
      for (const connection of [this.publisher, this.subscriber]) connection.disconnect(true);
    }, PING_DEADLINE_MS);
    deadline.unref();
    this.publisher
      .ping()
      .catch(() => undefined)
      .finally(() => {
        clearTimeout(deadline);
        this.probing = false;
      });
  }

  disconnect(): void {
    this.closed = true;
    this.publisher.disconnect();
    this.subscriber.disconnect();
  }

  /** Frames in the order they were written, a run of frames for the same channel in one PUBLISH. */
  readonly flush = (): void => {
    this.flushing = false;
    const pending = this.pending;
    this.pending = [];
    for (let start = 0; start < pending.length;) {
      const { channel } = pending[start]!;
      let end = start + 1;
      while (end < pending.length && pending[end]!.channel === channel && end - start < MAX_FRAMES) end += 1;
      const frames = pending.slice(start, end).map((p) => p.frame);
      start = end;
      this.publisher.publish(channel, encodeFrames(frames, this.options.serialization)).then(
        (receivers) => {
          if (receivers === 0) this.events.unheard?.(channel, frames);
        },
        (error: unknown) => this.events.failed(channel, error),
      );
    }
  };

  private watch(connection: Redis, role: 'publisher' | 'subscriber', prepare: () => Promise<unknown>): void {
    connection.on('ready', () => {
      prepare().then(
        () => {
          if (connection.status !== 'ready') return; // closed again meanwhile
          this.connected[role] = true;
          this.events.status(this.up);
        },
        // The connection dropped meanwhile: it reconnects and prepares again.
        () => undefined,
      );
    });
    connection.on('close', () => {
      this.connected[role] = false;
      this.events.status(this.up);
    });
    // ioredis reconnects by itself; the status change tells the story.
    connection.on('error', () => undefined);
  }
}
