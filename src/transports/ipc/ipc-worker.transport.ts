import type { WorkerIdentity } from '../../interfaces/cluster-event.interface.js';
import {
  envelope,
  forEachEnvelope,
  isClusterEnvelope,
  isMessageEnvelope,
  type ClusterEnvelope,
  type LifecycleEnvelope,
  type MessageEnvelope,
} from '../../messaging/envelope.js';
import type { Serialization } from '../../messaging/payload-codec.js';
import { MembershipView } from '../membership-view.js';
import { MembershipTransport } from '../membership.transport.js';
import { EnvelopeBatcher } from './envelope-batcher.js';

/** The IPC channel of a forked process (`process` in a worker). */
export interface IpcChannel {
  send?(message: unknown): boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
}

/**
 * The embedded transport of a worker: everything goes through the primary over node:cluster's IPC
 * channel. The primary relays lifecycle events and membership, and routes messages (`IpcRouter`).
 */
export class IpcWorkerTransport extends MembershipTransport {
  readonly role = 'worker' as const;
  private readonly outbox: EnvelopeBatcher;
  private readonly onMessage = (message: unknown): void => {
    if (isClusterEnvelope(message)) forEachEnvelope(message, this.receive);
  };

  constructor(
    self: WorkerIdentity,
    serialization: Serialization,
    /** Called when the primary asks this worker to drain. */
    private readonly onShutdown: () => void = () => undefined,
    private readonly channel: IpcChannel = process,
  ) {
    super(self, serialization, new MembershipView());
    this.outbox = new EnvelopeBatcher((message) => this.write(message));
    channel.on('message', this.onMessage);
    // Messages sent before this listener existed are lost, so ask for the current snapshot.
    this.write(envelope('hello', { from: self }));
  }

  requestRollingRestart(): void {
    this.outbox.push(envelope('restart', { from: this.self }));
  }

  send(message: MessageEnvelope): void {
    this.outbox.push(message);
  }

  announce(topics: readonly string[]): void {
    this.outbox.push(envelope('handlers', { from: this.self, data: topics }));
  }

  private readonly receive = (message: ClusterEnvelope): void => {
    if (isMessageEnvelope(message)) this.messages.next(message);
    else if (message.kind === 'shutdown') this.onShutdown();
    else if (message.kind === 'lifecycle') {
      const { data } = message as LifecycleEnvelope;
      if (data) this.view.apply(data.workers, data.event, data.state);
    }
  };

  private write(message: ClusterEnvelope): void {
    // After the primary is gone the channel is closed; the worker is about to exit with it.
    try {
      this.channel.send?.(message);
    } catch {
      // dropped: nobody is left to receive it
    }
  }
}
