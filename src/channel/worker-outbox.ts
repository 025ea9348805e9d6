import type { ClusterEnvelope, MessageEnvelope } from '../messaging/envelope.js';
import { creditWindow, messageSize } from './flow-control.js';
import { controlEnvelope, MAX_BATCH } from './channel-protocol.js';

/**
 * What the primary has for one worker. Control envelopes go out at the next flush, ahead of any
 * message still waiting; messages go out in order while the worker's credit lasts (see
 * `creditWindow`) and otherwise wait here. Written-but-unhandled plus waiting messages stay within
 * `maxQueueBytes`: past it, messages are dropped. Everything queued in one tick leaves in one IPC
 * write: a write costs far more than the bytes it carries.
 */
export class WorkerOutbox {
  private control: ClusterEnvelope[] = [];
  /** Queued messages and their sizes, side by side (no wrapper object per message), from `head` on. */
  private queue: Array<MessageEnvelope | undefined> = [];
  private sizes: number[] = [];
  private head = 0;
  private queuedBytes = 0;
  /** Bytes written that the worker has not yet given credit for. */
  private inFlightBytes = 0;
  private flushScheduled = false;
  private full = false;
  private closed = false;
  private readonly window: number;

  constructor(
    private readonly write: (message: ClusterEnvelope) => void,
    private readonly maxQueueBytes: number,
    /** Called when the queue fills up (messages start being dropped) and when it is down to half again. */
    private readonly onCongestion: (congested: boolean) => void = () => undefined,
  ) {
    this.window = creditWindow(maxQueueBytes);
  }

  /** Messages to this worker are being dropped: its queue filled up and is not yet down to half. */
  get congested(): boolean {
    return this.full;
  }

  /** Bytes of messages the worker has not handled yet: written to it, or waiting to be. */
  get behind(): number {
    return this.queuedBytes + this.inFlightBytes;
  }

  /** Never dropped, never behind a message. */
  pushControl(message: ClusterEnvelope): void {
    this.control.push(message);
    this.schedule();
  }

  /**
   * Queues a message in order. Returns `false`, dropping it, when the queue is full and the message
   * is `droppable`. Only the one answer each routed request gets may be queued regardless: those are
   * bounded by the pending requests.
   */
  push(message: MessageEnvelope, droppable = true): boolean {
    const size = messageSize(message);
    if (droppable && this.queuedBytes + this.inFlightBytes + size > this.maxQueueBytes) {
      if (!this.full) {
        this.full = true;
        this.onCongestion(true);
      }
      return false;
    }
    this.queue.push(message);
    this.sizes.push(size);
    this.queuedBytes += size;
    // A full batch goes out now rather than at the end of the tick, so the worker starts on it while
    // the primary is still reading the rest of a burst.
    if (this.queue.length - this.head >= MAX_BATCH && this.inFlightBytes < this.window) this.flush();
    else this.schedule();
    return true;
  }

  /** The worker has handled `bytes` more: that much more may be written. */
  credit(bytes: number): void {
    this.inFlightBytes = Math.max(0, this.inFlightBytes - bytes);
    // Even with nothing waiting, congestion may end here: flush reports it.
    if (this.head < this.queue.length || this.full) this.schedule();
  }

  /** The worker is gone: drops what waits and writes nothing more. */
  close(): void {
    this.closed = true;
    this.control = [];
    this.queue = [];
    this.sizes = [];
    this.head = 0;
    this.queuedBytes = 0;
  }

  private schedule(): void {
    if (this.flushScheduled || this.closed) return;
    this.flushScheduled = true;
    queueMicrotask(this.flush);
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    if (this.closed) return;
    const out = this.control.length <= MAX_BATCH ? this.control : this.control.splice(0, MAX_BATCH);
    if (out === this.control) this.control = [];
    while (this.head < this.queue.length && this.inFlightBytes < this.window && out.length < MAX_BATCH) {
      const message = this.queue[this.head]!;
      const size = this.sizes[this.head]!;
      this.queue[this.head++] = undefined;
      out.push(message);
      this.queuedBytes -= size;
      this.inFlightBytes += size;
    }
    this.compact();
    if (this.full && this.behind <= this.maxQueueBytes / 2) {
      this.full = false;
      this.onCongestion(false);
    }
    if (out.length > 0) this.write(out.length === 1 ? out[0]! : controlEnvelope.batch(out));
    // A full batch with more to write: the rest goes in the next write.
    const moreData = this.head < this.queue.length && this.inFlightBytes < this.window;
    if (this.control.length > 0 || moreData) this.schedule();
  };

  private compact(): void {
    if (this.head === this.queue.length) {
      this.queue = [];
      this.sizes = [];
      this.head = 0;
    } else if (this.head >= 4_096 && this.head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.sizes = this.sizes.slice(this.head);
      this.head = 0;
    }
  }
}
