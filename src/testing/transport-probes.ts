/** How the transport cases drive and watch a cluster: message buses as `ClusterService` builds them, and raw requests. */
import { Logger } from '@nestjs/common';
import { filter, firstValueFrom, take, timeout } from 'rxjs';
import { NoHandlerError } from '../cluster.errors.js';
import type { WorkerAddress } from '../interfaces/cluster-event.interface.js';
import type { ClusterMessage } from '../interfaces/cluster-message.interface.js';
import { messageEnvelope, type MessageEnvelope } from '../messaging/envelope.js';
import { MessageBus } from '../messaging/message-bus.js';
import { addressOf } from '../messaging/remote-error.js';
import type { ClusterTransport } from '../transports/cluster-transport.interface.js';
import { CASE_TIMEOUT_MS, ConformanceError } from './conformance-runner.js';

/** A request to nowhere must fail well before this: it is answered at once, not timed out. */
export const FAST_FAILURE_MS = 2_000;
/** Long enough that a transport answering at once is never mistaken for a timeout. */
export const PATIENT_TIMEOUT_MS = 20_000;

/** A message bus per member, as `ClusterService` builds it, each answering `whoami` and `echo`. */
function busesOf(members: readonly ClusterTransport[]): MessageBus[] {
  return members.map((transport) => {
    const bus = new MessageBus(transport, new Logger('Conformance'), PATIENT_TIMEOUT_MS);
    bus.handle('conformance.whoami', () => addressOf(transport.self));
    bus.handle('conformance.echo', (data) => data);
    return bus;
  });
}

/** Runs `body` with a bus per member, and closes them whatever happens. */
export async function withBuses(members: readonly ClusterTransport[], body: (buses: MessageBus[]) => Promise<void>): Promise<void> {
  const buses = busesOf(members);
  try {
    await body(buses);
  } finally {
    for (const bus of buses) bus.close('the conformance case is over');
  }
}

export interface Collected {
  readonly values: unknown[];
  /** Resolves once a value satisfies `done` (or already has). */
  until(done: (data: unknown) => boolean): Promise<void>;
}

export function collect(bus: MessageBus, topic: string): Collected {
  const values: unknown[] = [];
  const waiters: Array<{ done: (data: unknown) => boolean; resolve: () => void }> = [];
  bus.on(topic).subscribe((message: ClusterMessage) => {
    values.push(message.data);
    for (const waiter of [...waiters]) {
      if (waiter.done(message.data)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  });
  return {
    values,
    until: (done) => (values.some(done) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ done, resolve }))),
  };
}

/** A request and its reply, one to each member: whatever was sent before has been delivered. */
export async function roundTrips(bus: MessageBus, members: readonly ClusterTransport[]): Promise<void> {
  await Promise.all(members.map((m) => bus.request('conformance.echo', null, { to: addressOf(m.self), timeoutMs: PATIENT_TIMEOUT_MS })));
}

/**
 * A handler announced on one member reaches the others' routing through the transport; until then a
 * request may meet `NoHandlerError`. Retries for a while, as an application starting up would not.
 */
export async function retryNoHandler<T>(attempt: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + CASE_TIMEOUT_MS / 2;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof NoHandlerError) || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

let rawSequence = 0;

/** A request written on the transport directly, so the transport, not the message bus, must answer it. */
export async function rawRequest(transport: ClusterTransport, topic: string, to: WorkerAddress | undefined): Promise<MessageEnvelope> {
  const id = `conformance-${process.pid}-${++rawSequence}`;
  const reply = firstValueFrom(
    transport.messages$.pipe(
      filter((m) => m.kind === 'reply' && m.id === id),
      take(1),
      timeout({
        first: PATIENT_TIMEOUT_MS,
        with: () => Promise.reject(new ConformanceError(`no reply at all to a request to ${to ? key(to) : 'any handler'}`)),
      }),
    ),
  );
  transport.send(messageEnvelope('request', { topic, id, from: transport.self, to, timeoutMs: PATIENT_TIMEOUT_MS }));
  return reply;
}

export function key(address: WorkerAddress): string {
  return `${address.node}/${address.slot}`;
}
