import { connect, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import type { ResolvedNatsOptions } from '../../interfaces/bootstrap-options.interface.js';
import type { Serialization } from '../../messaging/payload-codec.js';
import { atMost, type BrokerWireEvents } from '../broker/broker-wire.js';
import { wireFrames, type Frame } from '../broker/node-frames.js';
import { QueuedWire } from '../broker/queued-wire.js';
import { natsEndpoint } from './nats-connection.js';

/** The client's connection settings besides how it reconnects, which the wire sets. */
export type NatsConnectionOptions = Omit<
  ConnectionOptions,
  'servers' | 'reconnect' | 'maxReconnectAttempts' | 'waitOnFirstConnect' | 'reconnectTimeWait'
>;

export interface NatsWireOptions {
  /** `nats://` or `tls://` URL of a server, credentials in it or not. */
  readonly url: string;
  /** Credentials and TLS files (option `nats`). */
  readonly settings?: ResolvedNatsOptions;
  /** Names the connection in the server's monitoring (`/connz`). */
  readonly connectionName: string;
  readonly serialization: Serialization;
  /** The subjects heard, subscribed again by the client after each reconnection. */
  readonly subjects: readonly string[];
  /** Where the server's "no responders" statuses come back (a lane's); unset: nothing is reported `unheard`. */
  readonly noResponders?: string;
  /** Delay between reconnection attempts. @default 500 */
  readonly retryMs?: number;
}

/** Messages with requests waiting for a possible "no responders" status before the wire asks the server for a round trip. */
const CHECK_RESPONDERS_AFTER = 256;

/**
 * The NATS wire of a link or a lane: one connection, which publishes and subscribes (NATS keeps one
 * connection's order). The client reconnects by itself and subscribes again; the wire is up once the
 * server confirmed the subscriptions. A connection the server refuses (credentials, TLS) is tried again
 * every `retryMs`, and each new reason is reported `refused`, as is an error the server sends once
 * connected (a permission it lacks). A message with requests that reaches no subscriber comes back as a
 * "no responders" status and is reported `unheard`.
 */
export class NatsWire extends QueuedWire {
  private nc: NatsConnection | undefined;
  private connected = false;
  private closed = false;
  /**
   * Frames written with a "no responders" reply subject, by the number that ends it. The server sends
   * that status the moment it takes the message, so once it answered a later round trip, no status
   * can come for them any more: they are forgotten then.
   */
  private readonly awaitingResponders = new Map<number, { readonly channel: string; readonly frames: Frame[] }>();
  private sequence = 0;
  private checkingResponders = false;
  /** The reasons reported `refused` since the wire was last up, each told once. */
  private readonly refusals = new Set<string>();
  private pause: { timer: NodeJS.Timeout; resume: () => void } | undefined;

  constructor(
    private readonly options: NatsWireOptions,
    events: BrokerWireEvents,
  ) {
    super(events);
  }

  get up(): boolean {
    return this.connected;
  }

  /** The client, once it connected the first time (for JetStream: the leadership lease). */
  get connection(): NatsConnection | undefined {
    return this.nc;
  }

  connect(): void {
    void this.run();
  }

  async sendNow(channel: string, frames: readonly Frame[], ms: number): Promise<void> {
    if (frames.length > 0) this.publish(channel, [...frames]);
    // The server answers a flush's PING in order: everything before it was taken.
    if (this.nc) await atMost(this.nc.flush(), ms);
  }

  async disconnect(): Promise<void> {
    this.closed = true;
    if (this.pause) {
      clearTimeout(this.pause.timer);
      this.pause.resume();
    }
    this.setUp(false);
    await this.nc?.close().catch(() => undefined);
  }

  /**
   * Connects, and connects again whenever the client gives up (until `disconnect`): a first connection
   * that fails (NATS not there yet, credentials or TLS refused) is tried again after `retryMs`, each new
   * reason reported once; so is a connection closed on credentials refused twice in a row (a secret
   * rotated on one side first).
   */
  private async run(): Promise<void> {
    while (!this.closed) {
      let nc: NatsConnection;
      try {
        const { server, connection } = natsEndpoint(this.options.url, this.options.settings);
        nc = await connect({
          ...connection,
          servers: server,
          name: this.options.connectionName,
          // Once connected, never gives up: the node serves on its own meanwhile, and joins once NATS is back.
          maxReconnectAttempts: -1,
          reconnectTimeWait: this.options.retryMs ?? 500,
        });
      } catch (error) {
        if (this.closed) return;
        this.refused(error);
        await this.retryLater();
        continue;
      }
      if (this.closed) return void nc.close().catch(() => undefined);
      this.listen(nc);
      const error = await nc.closed();
      this.setUp(false);
      if (error && !this.closed) {
        this.refused(error);
        await this.retryLater();
      }
    }
  }

  private listen(nc: NatsConnection): void {
    this.nc = nc;
    for (const subject of this.options.subjects) {
      nc.subscribe(subject, {
        callback: (error, msg) => {
          if (!error) this.events.received(msg.data);
        },
      });
    }
    const { noResponders } = this.options;
    if (noResponders) {
      nc.subscribe(`${noResponders}.*`, {
        callback: (error, msg) => {
          if (error || msg.headers?.code !== 503) return;
          const key = Number(msg.subject.slice(noResponders.length + 1));
          const written = this.awaitingResponders.get(key);
          this.awaitingResponders.delete(key);
          if (written) this.events.unheard?.(written.channel, written.frames);
        },
      });
    }
    void this.follow(nc);
    void this.confirmed(nc);
  }

  private refused(error: unknown): void {
    const reason = error instanceof Error ? error.message : String(error);
    if (this.closed || this.refusals.has(reason)) return;
    this.refusals.add(reason);
    this.events.refused?.(reason);
  }

  private retryLater(): Promise<void> {
    return new Promise<void>((resume) => {
      const timer = setTimeout(resume, this.options.retryMs ?? 500);
      timer.unref();
      this.pause = { timer, resume };
    }).finally(() => (this.pause = undefined));
  }

  /** Up once the server answered after the subscriptions: what others write from then on is heard. */
  private async confirmed(nc: NatsConnection): Promise<void> {
    try {
      await nc.flush();
      if (!nc.isClosed() && !this.closed) this.setUp(true);
    } catch {
      // Disconnected meanwhile: the reconnection confirms again.
    }
  }

  private async follow(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') this.setUp(false);
      else if (status.type === 'reconnect') await this.confirmed(nc);
      else if (status.type === 'error') this.refused(status.error);
    }
  }

  private setUp(up: boolean): void {
    if (up === this.connected) return;
    this.connected = up;
    if (up) this.refusals.clear();
    // What waited for a status fails with the lane going down.
    else this.awaitingResponders.clear();
    this.events.status(up);
  }

  /** A round trip, after which no "no responders" status can come for what was written before it. */
  protected ping(): Promise<unknown> {
    const nc = this.nc;
    if (!nc) return Promise.resolve();
    const last = this.sequence;
    return nc.flush().then(() => {
      for (const key of this.awaitingResponders.keys()) {
        if (key > last) break; // in the order they were written
        this.awaitingResponders.delete(key);
      }
    });
  }

  protected reconnect(): void {
    this.nc?.reconnect().catch(() => undefined);
  }

  protected publish(channel: string, frames: Frame[]): void {
    const nc = this.nc;
    if (!nc) return;
    const encoded = wireFrames(frames, this.options.serialization);
    // Encoded once: the client takes the bytes as they are.
    const payload = typeof encoded === 'string' ? Buffer.from(encoded) : encoded;
    // The server refuses a message above its max_payload (1 MB by default): a batch goes in halves.
    if (payload.byteLength > nc.info!.max_payload && frames.length > 1) {
      const half = Math.ceil(frames.length / 2);
      this.publish(channel, frames.slice(0, half));
      this.publish(channel, frames.slice(half));
      return;
    }
    try {
      nc.publish(channel, payload, this.replyFor(channel, frames));
    } catch (error) {
      this.events.failed(channel, error);
    }
  }

  /** A message carrying requests asks the server to say when nobody hears it. */
  private replyFor(channel: string, frames: Frame[]): { reply: string } | undefined {
    const { noResponders } = this.options;
    if (!noResponders || !frames.some((f) => f.t === 'msg' && f.m.kind === 'request')) return undefined;
    const key = ++this.sequence;
    this.awaitingResponders.set(key, { channel, frames });
    if (this.awaitingResponders.size >= CHECK_RESPONDERS_AFTER) this.forgetAnswered();
    return { reply: `${noResponders}.${key}` };
  }

  /** Forgets, after one round trip, what waited for a status until now. */
  private forgetAnswered(): void {
    if (this.checkingResponders) return;
    this.checkingResponders = true;
    this.ping()
      .catch(() => undefined)
      .finally(() => (this.checkingResponders = false));
  }
}
