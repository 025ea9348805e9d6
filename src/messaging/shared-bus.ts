import { Logger } from '@nestjs/common';
import type { ClusterTransport } from '../transports/cluster-transport.interface.js';
import { MessageBus } from './message-bus.js';

interface Shared {
  readonly bus: MessageBus;
  users: number;
}

/** One bus per transport: the transport of a process is one, whatever imports `ClusterModule`. */
const shared = new WeakMap<ClusterTransport, Shared>();

/**
 * The message bus of `transport`, shared by every `ClusterService` standing on it: `ClusterModule`
 * imported by a feature module and by the root module must not subscribe, answer or announce twice.
 * Each user calls `releaseBus` once; the bus closes when the last one does.
 */
export function acquireBus(transport: ClusterTransport): MessageBus {
  let entry = shared.get(transport);
  if (!entry) {
    entry = { bus: new MessageBus(transport, new Logger(`ClusterService#${transport.self.slot}`)), users: 0 };
    shared.set(transport, entry);
  }
  entry.users += 1;
  return entry.bus;
}

export function releaseBus(transport: ClusterTransport): void {
  const entry = shared.get(transport);
  if (!entry || --entry.users > 0) return;
  shared.delete(transport);
  entry.bus.close();
}
