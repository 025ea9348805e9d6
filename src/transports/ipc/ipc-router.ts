import type { Worker } from 'node:cluster';
import { NoHandlerError, WorkerUnavailableError } from '../../cluster.errors.js';
import type { WorkerIdentity } from '../../interfaces/cluster-event.interface.js';
import {
  isMessageEnvelope,
  type ClusterEnvelope,
  type HandlersEnvelope,
  type MessageEnvelope,
} from '../../messaging/envelope.js';
import { errorReply } from '../../messaging/remote-error.js';
import { EnvelopeBatcher } from './envelope-batcher.js';

/** A worker as the router sees it. */
interface Member {
  readonly worker: Worker;
  readonly identity: WorkerIdentity;
  /** Its transport listens (sent `hello`): messages sent earlier would be lost. */
  listening: boolean;
  /** Request topics it announced. */
  topics: ReadonlySet<string>;
  readonly outbox: EnvelopeBatcher;
}

interface InFlight {
  readonly requester: Member;
  readonly target: Member;
  readonly request: MessageEnvelope;
  readonly forgetAt: number;
}

/** A reply later than the requester's own timeout is dropped there anyway; keep entries a bit longer. */
const FORGET_MARGIN_MS = 1_000;
const SWEEP_EVERY_MS = 1_000;

/**
 * The primary's half of the IPC transport: relays envelopes worker to worker. Payloads stay encoded
 * (the primary never decodes user data); writes to each worker are coalesced per tick.
 */
export class IpcRouter {
  /** Speaks for the router in error replies (no slot of its own). */
  private readonly identity: WorkerIdentity = { id: 0, slot: -1, pid: process.pid };
  private readonly members = new Map<number, Member>();
  private readonly inFlight = new Map<string, InFlight>();
  private readonly nextHandler = new Map<string, number>();
  private sweepTimer: NodeJS.Timeout | undefined;

  /** `currentOfSlot` names the worker id now serving a slot. */
  constructor(private readonly currentOfSlot: (slot: number) => number | undefined) {}

  add(worker: Worker, identity: WorkerIdentity): void {
    const outbox = new EnvelopeBatcher((message) => write(worker, message));
    this.members.set(worker.id, { worker, identity, listening: false, topics: new Set(), outbox });
  }

  /** Forgets a worker; requests it was answering fail at once instead of waiting for their timeout. */
  remove(workerId: number): void {
    const gone = this.members.get(workerId);
    if (!gone) return;
    this.members.delete(workerId);
    for (const [id, entry] of this.inFlight) {
      if (entry.requester === gone) this.inFlight.delete(id);
      else if (entry.target === gone) {
        this.inFlight.delete(id);
        const reason = `slot ${gone.identity.slot} (pid ${gone.identity.pid}) exited before replying`;
        const error = new WorkerUnavailableError(entry.request.topic, gone.identity.slot, reason);
        entry.requester.outbox.push(errorReply(entry.request, this.identity, error));
      }
    }
  }

  /** The worker's transport listens from now on. */
  listening(workerId: number): void {
    const member = this.members.get(workerId);
    if (member) member.listening = true;
  }

  /** To one worker, in order with the messages routed to it. */
  sendTo(workerId: number, message: ClusterEnvelope): void {
    this.members.get(workerId)?.outbox.push(message);
  }

  /** To every worker whose transport listens. */
  broadcast(message: ClusterEnvelope): void {
    for (const member of this.members.values()) if (member.listening) member.outbox.push(message);
  }

  /** Routes one message, or records a handler announcement, from a worker (control kinds are the supervisor's). */
  receive(workerId: number, message: ClusterEnvelope): void {
    const sender = this.members.get(workerId);
    if (!sender) return;
    if (isMessageEnvelope(message)) this.route(sender, message);
    else if (message.kind === 'handlers') sender.topics = new Set((message as HandlersEnvelope).data ?? []);
  }

  private route(sender: Member, message: MessageEnvelope): void {
    switch (message.kind) {
      case 'publish':
        for (const member of this.members.values()) {
          if (member !== sender && member.listening) member.outbox.push(message);
        }
        return;
      case 'send':
        this.memberOfSlot(message.to!)?.outbox.push(message);
        return;
      case 'request':
        return this.routeRequest(sender, message);
      case 'reply': {
        const entry = message.id === undefined ? undefined : this.inFlight.get(message.id);
        if (!entry) return; // its requester gave up or is gone
        this.inFlight.delete(message.id!);
        entry.requester.outbox.push(message);
      }
    }
  }

  private routeRequest(sender: Member, request: MessageEnvelope): void {
    const target = request.to === undefined ? this.pickHandler(request.topic) : this.memberOfSlot(request.to);
    if (!target) {
      const error =
        request.to === undefined
          ? new NoHandlerError(request.topic)
          : new WorkerUnavailableError(request.topic, request.to, 'no live worker in that slot');
      sender.outbox.push(errorReply(request, this.identity, error));
      return;
    }
    if (request.id !== undefined) {
      const forgetAt = Date.now() + (request.timeoutMs ?? 0) + FORGET_MARGIN_MS;
      this.inFlight.set(request.id, { requester: sender, target, request, forgetAt });
      this.sweepTimer ??= setInterval(this.sweep, SWEEP_EVERY_MS).unref();
    }
    target.outbox.push(request);
  }

  private memberOfSlot(slot: number): Member | undefined {
    const workerId = this.currentOfSlot(slot);
    const member = workerId === undefined ? undefined : this.members.get(workerId);
    return member?.listening ? member : undefined;
  }

  /** Round-robin among the workers that announced the topic, in slot order. */
  private pickHandler(topic: string): Member | undefined {
    const handlers = [...this.members.values()]
      .filter((m) => m.listening && m.topics.has(topic))
      .sort((a, b) => a.identity.slot - b.identity.slot || a.identity.id - b.identity.id);
    if (handlers.length === 0) return undefined;
    const turn = this.nextHandler.get(topic) ?? 0;
    this.nextHandler.set(topic, (turn + 1) % handlers.length);
    return handlers[turn % handlers.length];
  }

  /** Forgets requests whose requester has given up, so the table cannot grow without bound. */
  private readonly sweep = (): void => {
    const now = Date.now();
    for (const [id, entry] of this.inFlight) if (entry.forgetAt <= now) this.inFlight.delete(id);
    if (this.inFlight.size === 0) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = undefined;
    }
  };
}

function write(worker: Worker, message: ClusterEnvelope): void {
  if (!worker.isConnected()) return;
  try {
    worker.send(message);
  } catch {
    // The channel closed between the check and the write: the worker is exiting.
  }
}
