import { Test } from '@nestjs/testing';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { WebSocketGateway } from '@nestjs/websockets';
import type { Server, ServerOptions } from 'socket.io';
import { gatewaysWithoutSlotIds, nameSessionsAfterSlot } from './slot-session-ids.js';

@WebSocketGateway()
class ChatGateway {}

/** An app's own adapter for broadcasts, as the Nest docs' Redis adapter is written. */
class OwnIoAdapter extends IoAdapter {
  override createIOServer(port: number, options?: ServerOptions): Server {
    return super.createIOServer(port, options) as Server;
  }
}

describe('slot-carrying session ids in sticky "sid" mode', () => {
  it('names the gateways left without them, then gives them to every socket.io server IoAdapter creates, the app’s own subclass included', async () => {
    const app = await Test.createTestingModule({ providers: [ChatGateway] }).compile();
    expect(gatewaysWithoutSlotIds(app, undefined)).toEqual(['ChatGateway']);

    const named = await nameSessionsAfterSlot(() => 3);
    expect(named).toEqual({ servers: 0 });
    expect(gatewaysWithoutSlotIds(app, named)).toEqual(['ChatGateway']);
    const server = new OwnIoAdapter().createIOServer(0);
    try {
      const ids = Array.from({ length: 5 }, () => server.engine.generateId({} as never) as string);
      for (const id of ids) expect(id).toMatch(/^3\.[\w-]{20}$/);
      expect(new Set(ids).size).toBe(5);
      expect(named).toEqual({ servers: 1 });
      expect(gatewaysWithoutSlotIds(app, named)).toEqual([]);
    } finally {
      await server.close();
      await app.close();
    }
  });
});
