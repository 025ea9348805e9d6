import type { INestApplicationContext } from '@nestjs/common';
import { providersAndControllers } from '../common/app-container.js';
import { slotSessionId } from './session-id.js';

/** `@WebSocketGateway()` marks its class with this metadata (`@nestjs/websockets`' `GATEWAY_METADATA`). */
const GATEWAY_METADATA = 'websockets:is_gateway';

/** The part of a socket.io server this needs: its engine.io server. */
interface EngineOwner {
  readonly engine?: { generateId: (req: unknown) => string };
}

type CreateIoServer = (this: unknown, port: number, options?: unknown) => EngineOwner;

/** What this needs of `@nestjs/platform-socket.io` (an optional peer, loaded only in this mode). */
interface IoAdapterModule {
  readonly IoAdapter: { prototype: { createIOServer: CreateIoServer } };
}

/** The socket.io servers given slot-carrying session ids so far. */
export interface SlotSessionIds {
  readonly servers: number;
}

/**
 * Sticky sessions by session id (`sticky: 'sid'`): the primary reads the worker's slot from the
 * session id, so every socket.io server of this worker must name its sessions `<slot>.<random>`.
 * Nest creates its socket.io servers in `IoAdapter.createIOServer`, whichever adapter the app uses
 * (the default, `ClusterIoAdapter`, or its own subclass for broadcasts, such as a Redis adapter):
 * wrapping that one method gives every one of them slot-carrying ids with no change to the app.
 * `slot` is read at each new session: a warm standby creates its servers before it has a slot.
 * Resolves with the count of servers named so far, or `undefined` where `@nestjs/platform-socket.io`
 * cannot be loaded.
 */
export async function nameSessionsAfterSlot(slot: () => number): Promise<SlotSessionIds | undefined> {
  let IoAdapter: IoAdapterModule['IoAdapter'];
  try {
    ({ IoAdapter } = (await import('@nestjs/platform-socket.io')) as unknown as IoAdapterModule);
  } catch {
    return undefined;
  }
  const named = { servers: 0 };
  const create = IoAdapter.prototype.createIOServer;
  IoAdapter.prototype.createIOServer = function (this: unknown, port, options) {
    const server = create.call(this, port, options);
    if (server.engine) {
      server.engine.generateId = () => slotSessionId(slot());
      named.servers += 1;
    }
    return server;
  };
  return named;
}

/**
 * The app's `@WebSocketGateway()` classes whose sessions the sticky listener cannot route: all of
 * them when no socket.io server of this process was given slot-carrying ids (another WebSocket
 * adapter, or `@nestjs/platform-socket.io` out of reach), none otherwise.
 */
export function gatewaysWithoutSlotIds(app: INestApplicationContext, named: SlotSessionIds | undefined): string[] {
  if (named && named.servers > 0) return [];
  const gateways = new Set<string>();
  for (const wrapper of providersAndControllers(app)) {
    const type = wrapper.metatype as (abstract new (...args: never[]) => unknown) | null;
    if (typeof type === 'function' && Reflect.getMetadata(GATEWAY_METADATA, type) === true) gateways.add(type.name);
  }
  return [...gateways];
}
