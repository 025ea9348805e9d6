import { PROBE_DEADLINE_MS, type BrokerWire, type BrokerWireEvents } from './broker-wire.js';
import type { Frame } from './node-frames.js';

/**
 * A burst leaves in runs of this many frames (tens of kilobytes): enough for one broker message to carry
 * many, few enough that the receiver decodes one while the next is on its way (with runs of 1,000, a
 * burst over NATS went about a third slower on a 2-core machine). At most `MAX_FRAMES`, what a receiver
 * takes in one message.
 */
export const FLUSH_FRAMES = 256;

/**
 * The frames written and not sent yet, in order, and how they leave: a run of frames for the same
 * channel in one broker message, at the end of the callback that wrote them, or as soon as `maxFrames`
 * wait (a burst starts to leave while it is still being written, and holds no more than that).
 */
export class FrameQueue {
  private channels: string[] = [];
  private frames: Frame[] = [];
  private flushing = false;

  constructor(
    private readonly send: (channel: string, frames: Frame[]) => void,
    private readonly maxFrames: number,
  ) {}

  push(channel: string, frame: Frame): void {
    this.channels.push(channel);
    this.frames.push(frame);
    if (this.frames.length >= this.maxFrames) return this.flush();
    if (!this.flushing) {
      this.flushing = true;
      // At the end of this callback, not at the end of the loop's turn: what one read carried still
      // leaves in one message per channel, and a lone request leaves at once instead of after every
      // other I/O callback of the turn.
      queueMicrotask(this.flushLater);
    }
  }

  drop(): void {
    this.channels = [];
    this.frames = [];
  }

  flush(): void {
    const { channels, frames } = this;
    if (frames.length === 0) return;
    this.channels = [];
    this.frames = [];
    for (let start = 0; start < frames.length;) {
      const channel = channels[start]!;
      let end = start + 1;
      while (end < frames.length && channels[end] === channel) end += 1;
      this.send(channel, start === 0 && end === frames.length ? frames : frames.slice(start, end));
      start = end;
    }
  }

  private readonly flushLater = (): void => {
    this.flushing = false;
    this.flush();
  };
}

/**
 * What the wires of every broker share: writes queue in a `FrameQueue` while the wire is up, and the
 * probe that takes a silent broker for gone. A wire says how it publishes a run of frames, how it asks
 * the broker for an answer, and how it drops its connections so its client reconnects.
 */
export abstract class QueuedWire implements BrokerWire {
  private readonly queue = new FrameQueue((channel, frames) => this.publish(channel, frames), FLUSH_FRAMES);
  private probing = false;

  protected constructor(protected readonly events: BrokerWireEvents) {}

  abstract get up(): boolean;
  abstract connect(): void;
  abstract sendNow(channel: string, frames: readonly Frame[], ms: number): Promise<void>;
  abstract disconnect(): Promise<void>;
  /** Sends one run of frames written for `channel` as one broker message (or more, if it is too large for one). */
  protected abstract publish(channel: string, frames: Frame[]): void;
  /** Resolves once the broker answered a round trip. */
  protected abstract ping(): Promise<unknown>;
  /** Drops the connections, for the client to reconnect. */
  protected abstract reconnect(): void;

  write(channel: string, frame: Frame): boolean {
    if (!this.up) return false;
    this.queue.push(channel, frame);
    return true;
  }

  flush(): void {
    this.queue.flush();
  }

  drop(): void {
    this.queue.drop();
  }

  probe(): void {
    if (this.probing || !this.up) return;
    this.probing = true;
    const deadline = setTimeout(() => {
      this.events.silent(PROBE_DEADLINE_MS);
      this.reconnect();
    }, PROBE_DEADLINE_MS);
    deadline.unref();
    this.ping()
      .catch(() => undefined)
      .finally(() => {
        clearTimeout(deadline);
        this.probing = false;
      });
  }
}
