import type { MessageEnvelope } from '../messaging/envelope.js';
import { messageSize } from './flow-control.js';

/**
 * Longest stretch a worker spends handing queued messages to the application before it lets its event
 * loop run (timers, I/O, and the control messages read meanwhile, `shutdown` above all).
 */
const SLICE_MS = 10;

/**
 * The messages a worker has received and not yet handled. They are handed over in slices of at most
 * `SLICE_MS` (plus one handler), so a burst, or a slow subscriber, never holds up what the worker
 * reads next; credit for what was handled goes back to the primary, which writes no more than the
 * credit window ahead: the inbox stays bounded however fast others send.
 */
export class WorkerInbox {
  private queue: Array<MessageEnvelope | undefined> = [];
  private head = 0;
  private uncredited = 0;
  private next: NodeJS.Immediate | undefined;

  constructor(
    private readonly handle: (message: MessageEnvelope) => void,
    private readonly giveCredit: (bytes: number) => void,
    /** A handler that threw: reported, and the next message is handled as usual. */
    private readonly failed: (error: unknown, message: MessageEnvelope) => void,
    /** Credit goes back each time this much was handled (`creditReturn`). */
    private readonly creditEvery: number,
  ) {}

  get size(): number {
    return this.queue.length - this.head;
  }

  /**
   * The messages of one IPC message, in order. With no backlog they are handed over right here, up to
   * one slice; what is left, and whatever arrives while a backlog exists, waits for the next turns of
   * the event loop, one slice each.
   */
  receive(messages: readonly MessageEnvelope[]): void {
    if (this.next !== undefined || this.head < this.queue.length) {
      for (const message of messages) this.queue.push(message);
      return;
    }
    const handled = this.handleFor(messages, 0, performance.now());
    for (let i = handled; i < messages.length; i++) this.queue.push(messages[i]!);
    this.settle();
  }

  /** Hands over the backlog, one slice per turn of the event loop. */
  private readonly run = (): void => {
    this.next = undefined;
    const handled = this.handleFor(this.queue, this.head, performance.now());
    for (let i = this.head; i < handled; i++) this.queue[i] = undefined;
    this.head = handled;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head >= 4_096 && this.head * 2 >= this.queue.length) {
      // A backlog that never quite empties must not grow the array for ever.
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.settle();
  };

  /** Hands `messages[from..]` to the application until the slice is used up; returns where it stopped. */
  private handleFor(messages: ReadonlyArray<MessageEnvelope | undefined>, from: number, started: number): number {
    let i = from;
    while (i < messages.length) {
      const message = messages[i++]!;
      this.uncredited += messageSize(message);
      try {
        this.handle(message);
      } catch (error) {
        this.failed(error, message);
      }
      if ((i - from) % 16 === 0 && performance.now() - started >= SLICE_MS) break;
    }
    return i;
  }

  /** Gives credit back when enough was handled, and schedules the next slice if a backlog is left. */
  private settle(): void {
    if (this.uncredited >= this.creditEvery) this.returnCredit();
    if (this.head < this.queue.length) this.next ??= setImmediate(this.run);
  }

  /** Gives back credit for everything handled so far (also at each heartbeat: nothing waits on a threshold). */
  returnCredit(): void {
    if (this.uncredited === 0) return;
    this.giveCredit(this.uncredited);
    this.uncredited = 0;
  }

  /** Drops what is queued (the worker is exiting). */
  close(): void {
    if (this.next) clearImmediate(this.next);
    this.next = undefined;
    this.queue = [];
    this.head = 0;
  }
}
