import { jest } from '@jest/globals';
import { createServer as createHttpServer, request, type Server as HttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { serveConnection } from './sticky-connection.js';

/** A connection accepted by a plain TCP server (as the primary's listener does), served on `http`, which never listens. */
async function handedTo(http: HttpServer): Promise<{ accepted: Promise<Socket>; port: number; close(): void }> {
  let hand!: (socket: Socket) => void;
  const accepted = new Promise<Socket>((resolve) => (hand = resolve));
  const tcp: Server = createServer({ pauseOnConnect: true }, (connection) => {
    jest.spyOn(connection, 'setNoDelay');
    serveConnection(http, connection, Buffer.alloc(0));
    hand(connection);
  });
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
  return { accepted, port: (tcp.address() as AddressInfo).port, close: () => tcp.close() };
}

function get(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve(body));
    })
      .on('error', reject)
      .end();
  });
}

describe('serveConnection', () => {
  it('serves the connection on the HTTP server with the socket options the server would have set', async () => {
    const http = createHttpServer((_req, res) => res.end('served'));
    const tcp = await handedTo(http);
    try {
      expect(await get(tcp.port)).toBe('served');
      // An HTTP server sets noDelay on what it accepts; a handed connection must not wait on Nagle.
      expect((await tcp.accepted).setNoDelay).toHaveBeenCalledWith(true);
    } finally {
      tcp.close();
    }
  });

  it('leaves noDelay alone on a server that turned it off', async () => {
    const http = createHttpServer({ noDelay: false }, (_req, res) => res.end('served'));
    const tcp = await handedTo(http);
    try {
      expect(await get(tcp.port)).toBe('served');
      expect((await tcp.accepted).setNoDelay).not.toHaveBeenCalled();
    } finally {
      tcp.close();
    }
  });
});
