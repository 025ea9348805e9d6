import type { ClusterEnvelope } from '../messaging/envelope.js';
import { controlEnvelope, MAX_BATCH } from './channel-protocol.js';

/**
 * Coalesces the envelopes queued in one tick into one IPC write. A write (a syscall and a parse on the
 * other side) costs far more than the bytes it carries, so a burst goes out in a few writes; a lone
 * envelope is written as itself, at the end of the current microtask queue, with no added delay.
 */
export class EnvelopeBatcher {
  private queue: ClusterEnvelope[] = [];

  constructor(private readonly write: (message: ClusterEnvelope) => void) {}

  push(message: ClusterEnvelope): void {
    this.queue.push(message);
    if (this.queue.length === 1) queueMicrotask(this.flush);
    else if (this.queue.length >= MAX_BATCH) this.flush();
  }

  readonly flush = (): void => {
    const queued = this.queue;
    if (queued.length === 0) return;
    this.queue = [];
    this.write(queued.length === 1 ? queued[0]! : controlEnvelope.batch(queued));
  };
}
