import { Logger } from '@nestjs/common';
import { HEARTBEAT_INTERVAL_MS } from '../../cluster.constants.js';
import { ThrottledReport } from '../../common/throttled-report.js';
import type { WorkerIdentity } from '../../interfaces/cluster-event.interface.js';
import { hasClusterNamespace, type MessageEnvelope } from '../../messaging/envelope.js';
import type { Serialization } from '../../messaging/payload-codec.js';
import type { MessageLimits } from '../cluster-transport.interface.js';
import { creditReturn } from './flow-control.js';
import type { WireLimits } from '../message-validation.js';
import { MembershipView } from '../membership-view.js';
import { MembershipTransport } from '../membership.transport.js';
import { EnvelopeBatcher } from './envelope-batcher.js';
import { controlEnvelope, readFromPrimary, unpack } from './ipc-protocol.js';
import { WorkerInbox } from './worker-inbox.js';

/** The IPC channel of a forked process (`process` in a worker). */
export interface IpcChannel {
  send?(message: unknown): boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
}

const WARN_EVERY_MS = 5_000;

/**
 * The embedded transport of a worker: everything goes through the primary over node:cluster's IPC
 * channel. The primary relays lifecycle events and membership, and routes messages (`IpcRouter`).
 * What arrives is checked before use; control messages act at once, messages wait in a bounded inbox
 * and reach the application in slices.
 */
export class IpcWorkerTransport extends MembershipTransport {
  readonly role = 'worker' as const;
  private readonly outbox: EnvelopeBatcher;
  private readonly inbox: WorkerInbox;
  private readonly wire: WireLimits;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly warnings: ThrottledReport<string>;

  constructor(
    self: WorkerIdentity,
    serialization: Serialization,
    /** The message bounds, and `maxQueueBytes`, which sizes the credit window. */
    limits: MessageLimits & { readonly maxQueueBytes: number },
    /** Called when the primary asks this worker to drain. */
    private readonly onShutdown: () => void = () => undefined,
    private readonly channel: IpcChannel = process,
    logger = new Logger(`ClusterWorker#${self.slot}`),
  ) {
    super(self, serialization, limits, new MembershipView());
    this.wire = { serialization, maxMessageBytes: limits.maxMessageBytes };
    this.warnings = new ThrottledReport(WARN_EVERY_MS, (count, sample) =>
      logger.warn(`dropped ${count} message(s) on arrival: ${sample}`),
    );
    this.outbox = new EnvelopeBatcher((message) => this.write(message));
    this.inbox = new WorkerInbox(
      (message) => this.messages.next(message),
      (bytes) => this.outbox.push(controlEnvelope.credit(bytes)),
      (error) => this.warnings.note('handler', `a subscriber threw: ${error instanceof Error ? error.message : String(error)}`),
      creditReturn(limits.maxQueueBytes),
    );
    channel.on('message', this.onMessage);
    // Messages sent before this listener existed are lost, so ask for the current snapshot.
    this.write(controlEnvelope.hello());
    // From a timer, so it proves the event loop turns, not merely that the process exists.
    this.heartbeat = setInterval(() => {
      this.outbox.push(controlEnvelope.heartbeat());
      this.inbox.returnCredit();
    }, HEARTBEAT_INTERVAL_MS).unref();
  }

  requestRollingRestart(): void {
    this.outbox.push(controlEnvelope.restart());
  }

  send(message: MessageEnvelope): void {
    this.outbox.push(message);
  }

  announce(topics: readonly string[]): void {
    this.outbox.push(controlEnvelope.handlers(topics));
  }

  /** Stops the heartbeat and drops what was not yet handled (tests; a worker simply exits). */
  close(): void {
    clearInterval(this.heartbeat);
    this.inbox.close();
    this.warnings.flush();
  }

  /** The app's `listen` resolved: the primary may count this worker as serving. */
  ready(): void {
    this.outbox.push(controlEnvelope.ready());
  }

  private readonly onMessage = (message: unknown): void => {
    if (!hasClusterNamespace(message)) return; // the application's own IPC
    const arrived: MessageEnvelope[] = [];
    unpack(
      message,
      (item) => {
        const read = readFromPrimary(item, this.wire);
        if (typeof read === 'string') this.warnings.note('malformed', read);
        else if (read.kind === 'shutdown') this.onShutdown();
        else if (read.kind === 'lifecycle') this.view.apply(read.data.workers, read.data.event, read.data.state);
        else arrived.push(read);
      },
      (reason) => this.warnings.note('malformed', reason),
    );
    // Control acted at once, above; messages go through the inbox, in order.
    if (arrived.length > 0) this.inbox.receive(arrived);
  };

  private write(message: unknown): void {
    // After the primary is gone the channel is closed; the worker is about to exit with it.
    try {
      this.channel.send?.(message);
    } catch {
      // dropped: nobody is left to receive it
    }
  }
}
