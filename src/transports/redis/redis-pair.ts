import { Redis } from 'ioredis';
import type { Serialization } from '../../messaging/payload-codec.js';
import { atMost, type BrokerWireEvents } from '../broker/broker-wire.js';
import { wireFrames, type Frame } from '../broker/node-frames.js';
import { QueuedWire } from '../broker/queued-wire.js';

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

/**
 * The Redis wire of a link or a lane: a publisher and a subscriber connection (a subscribed Redis
 * connection can do nothing else). ioredis reconnects by itself; the subscriber counts as up once Redis
 * confirmed its subscriptions. A `PUBLISH` that reached no subscriber is reported `unheard`.
 */
export class RedisPair extends QueuedWire {
  readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly connected = { publisher: false, subscriber: false };
  private closed = false;

  constructor(
    private readonly options: RedisPairOptions,
    events: BrokerWireEvents,
  ) {
    super(events);
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

  async sendNow(channel: string, frames: readonly Frame[], ms: number): Promise<void> {
    // Redis answers in order: once this is answered, everything written before was taken.
    const sent = frames.length > 0 ? this.publisher.publish(channel, wireFrames(frames, this.options.serialization)) : this.publisher.ping();
    await atMost(sent, ms);
  }

  async disconnect(): Promise<void> {
    this.closed = true;
    this.publisher.disconnect();
    this.subscriber.disconnect();
  }

  protected ping(): Promise<unknown> {
    return this.publisher.ping();
  }

  protected reconnect(): void {
    for (const connection of [this.publisher, this.subscriber]) connection.disconnect(true);
  }

  protected publish(channel: string, frames: Frame[]): void {
    this.publisher.publish(channel, wireFrames(frames, this.options.serialization)).then(
      (receivers) => {
        if (receivers === 0) this.events.unheard?.(channel, frames);
      },
      (error: unknown) => this.events.failed(channel, error),
    );
  }

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
