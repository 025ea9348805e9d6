import type { MessageEnvelope } from '../messaging/envelope.js';

/**
 * Credit-based flow control between the primary and each worker (as HTTP/2 windows or AMQP
 * prefetch). `messaging.maxQueueBytes` bounds how far one worker may fall behind: messages written
 * to it that it has not handled yet (the credit window) plus messages waiting in the primary. Past
 * it, messages to that worker are dropped. Control messages (`shutdown` above all) overtake what
 * waits in the primary, and a worker reads everything written to it promptly and handles messages
 * in slices, so a drain never waits behind more than one window of reading.
 *
 * The window is most of the bound, at most 32 MiB: what fits in it goes straight to the worker as
 * it arrives, kept by the kernel and the worker rather than as objects on the primary's heap (a
 * smaller window cost the messaging benchmark's burst about a tenth of its rate in the primary's
 * garbage collection).
 */
const MAX_CREDIT_WINDOW_BYTES = 33_554_432;

/** Bytes the primary may write to a worker ahead of what the worker has handled. */
export function creditWindow(maxQueueBytes: number): number {
  return Math.min(MAX_CREDIT_WINDOW_BYTES, Math.floor(maxQueueBytes / 2));
}

/**
 * A worker gives credit back each time it has handled this much: rarely (light traffic never pays
 * for it), yet early enough that the rest of the window keeps it busy while the credit reaches a
 * primary that may itself be busy reading a burst. It also gives back what it has at each heartbeat,
 * so nothing ever waits on a threshold.
 */
export function creditReturn(maxQueueBytes: number): number {
  return Math.floor(creditWindow(maxQueueBytes) / 4);
}

/** Counted for each message besides its data and topic: the envelope's other fields. */
const ENVELOPE_OVERHEAD_BYTES = 128;

/**
 * About the serialized size of a message, from what both ends can compute alike without
 * serializing: its data (JSON characters or structured-clone bytes), its topic and a fixed overhead.
 */
export function messageSize(message: MessageEnvelope): number {
  const data = message.data;
  const dataSize = data === undefined ? 0 : typeof data === 'string' ? data.length : data.byteLength;
  return dataSize + message.topic.length + ENVELOPE_OVERHEAD_BYTES;
}
