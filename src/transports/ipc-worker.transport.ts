import type { ClusterEvent, WorkerIdentity } from '../interfaces/cluster-event.interface.js';
import type { WorkerInfo } from '../interfaces/worker-info.interface.js';
import { envelope, isClusterEnvelope, type LifecycleEnvelope } from '../messaging/envelope.js';
import type { ClusterTransport } from './cluster-transport.interface.js';
import { MembershipView } from './membership-view.js';
import type { Observable } from 'rxjs';

/** The IPC channel of a forked process (`process` in a worker). */
export interface IpcChannel {
  send?(message: unknown): boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
}

/**
 * The embedded transport of a worker: the primary relays every lifecycle event and membership
 * snapshot to it over node:cluster's IPC channel.
 */
export class IpcWorkerTransport implements ClusterTransport {
  readonly role = 'worker' as const;
  private readonly view = new MembershipView();
  private readonly onMessage = (message: unknown): void => {
    if (isClusterEnvelope(message) && message.kind === 'lifecycle') {
      const { data } = message as LifecycleEnvelope;
      if (data) this.view.apply(data.workers, data.event);
    }
  };

  constructor(
    readonly self: WorkerIdentity,
    private readonly channel: IpcChannel = process,
  ) {
    channel.on('message', this.onMessage);
    // Messages sent before this listener existed are lost, so ask for the current snapshot.
    channel.send?.(envelope('hello', { from: self }));
  }

  get events$(): Observable<ClusterEvent> {
    return this.view.events$;
  }

  get workers$(): Observable<readonly WorkerInfo[]> {
    return this.view.workers$;
  }

  workers(): readonly WorkerInfo[] {
    return this.view.workers();
  }

  close(): void {
    this.channel.off('message', this.onMessage);
  }
}
