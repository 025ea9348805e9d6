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

/**
 * The bare handle of a connection (node's TCP handle, what a listening socket accepts): passed to a
 * worker as it is, it arrives as a handle that nothing reads yet, for a server of the worker to accept
 * as it accepts its own (node:cluster's round robin passes connections the same way).
 */
export interface BareHandle {
  close(callback?: () => void): void;
  readStart(): number;
}

/** The bare handle under a connection the primary accepted, while it has one. */
export function bareHandleOf(connection: Socket): BareHandle | undefined {
  const handle = (connection as unknown as { _handle?: Partial<BareHandle> | null })._handle;
  return typeof handle?.readStart === 'function' && typeof handle.close === 'function' ? (handle as BareHandle) : undefined;
}

/** A bare handle (not a `net.Socket`), as a worker receives one. */
export function isBareHandle(handle: unknown): handle is BareHandle {
  const candidate = handle as Partial<BareHandle & Socket> | null | undefined;
  return typeof candidate?.readStart === 'function' && typeof candidate.close === 'function' && typeof candidate.destroy !== 'function';
}
