import type { Server as NetServer, Socket } from 'node:net';

/** Runs a message's processing (`@nestjs/microservices` `Server#setOnProcessingStartHook`). */
export type ProcessingStartHook = (transportId: unknown, context: unknown, done: () => Promise<unknown>) => unknown;
/** Called once a message's processing has settled (its reply sent, or its event handler done). */
export type ProcessingEndHook = (transportId: unknown, context: unknown) => void;

/**
 * A Nest microservice transport server (`Server` of `@nestjs/microservices`), by shape: the package
 * is an optional peer, and custom transports extend the same class. The drain uses what each one has.
 */
export interface TransportServer {
  readonly transportId?: unknown;
  close(): unknown;
  unwrap?<T>(): T;
  setOnProcessingStartHook?(hook: ProcessingStartHook): void;
  setOnProcessingEndHook?(hook: ProcessingEndHook): void;
  /** The hooks already set (an instrumentation's), chained by ours. */
  readonly onProcessingStartHook?: ProcessingStartHook;
  readonly onProcessingEndHook?: ProcessingEndHook;
  /** TCP: the accepted connections still open (Nest 12). */
  readonly openSockets?: Set<Socket>;
  /** TCP: serves a connection (one handed over by another worker). */
  bindHandler?(socket: Socket): void;
  /** NATS: the subscriptions of the message handlers. */
  readonly subscriptions?: ReadonlyArray<{ unsubscribe(): unknown }>;
}

/** The port the TCP transport listens on, if it is one and listens. */
export function portOf(transport: TransportServer): number | undefined {
  const address = netServerOf(transport)?.address();
  return typeof address === 'object' && address !== null ? address.port : undefined;
}

/** Nest's TCP transport (or one built on it), listening or not. */
export function isTcpTransport(transport: TransportServer): boolean {
  return transport.openSockets instanceof Set && typeof transport.bindHandler === 'function';
}

/** The TCP server behind a TCP transport, if this is one. */
export function netServerOf(transport: TransportServer): NetServer | undefined {
  if (transport.openSockets === undefined || typeof transport.unwrap !== 'function') return undefined;
  try {
    const server = transport.unwrap<NetServer>();
    return typeof server?.getConnections === 'function' ? server : undefined;
  } catch {
    return undefined; // not listening
  }
}
