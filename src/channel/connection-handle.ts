import type { Socket } from 'node:net';

/**
 * Stops the kernel-level reading of a connection about to be passed to another process. Node sends a
 * socket's handle without stopping it: data read after the send (until the receiver acknowledges)
 * goes to a discarded callback and is lost, and pausing the stream only stops reading once its buffer
 * fills. Node's own advice is a server created with `pauseOnConnect`; a connection already being
 * served needs its handle told directly. Unread bytes then stay in the kernel for the next owner.
 * The stream is kept from starting it again: after a `data` event it reads ahead on the next tick
 * while its buffer is below its high-water mark.
 */
export function stopReading(connection: Socket): void {
  const handle = (connection as unknown as { _handle?: { reading?: boolean; readStop?(): number } })._handle;
  if (typeof handle?.readStop !== 'function') return;
  handle.reading = false;
  handle.readStop();
  (connection as unknown as { _read(): void })._read = () => undefined;
}
