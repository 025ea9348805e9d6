import { jest } from '@jest/globals';
import cluster from 'node:cluster';
import type { ListenReply, ListenRequest } from '../channel/channel-to-primary.js';
import type { BareHandle } from '../channel/connection-handle.js';
import { ListeningThroughPrimary } from './listen-through-primary.js';

type Callback = (errno: number, handle?: Record<string, (...args: unknown[]) => unknown> & { onconnection?: unknown }) => void;
type GetServer = (server: object, query: object, callback: Callback) => void;
const workerSide = cluster as unknown as { _getServer?: GetServer };

/** node:cluster's own server query of a worker, which the tested one stands in front of. */
let nodeOwn: jest.Mock<GetServer>;
let asked: Array<Omit<ListenRequest, 'seq'>>;
let answer: (request: Omit<ListenRequest, 'seq'>) => ListenReply;
let listening: ListeningThroughPrimary;

const bare = (): BareHandle => ({ close: () => undefined, readStart: () => 0 });

/** What `net` does with the handle it gets: it sets `onconnection` and listens on it. */
function listen(query: object, server: object = {}): Promise<{ errno: number; handle?: Parameters<Callback>[1]; accepted: BareHandle[] }> {
  return new Promise((resolve) => {
    workerSide._getServer!(server, query, (errno, handle) => {
      const accepted: BareHandle[] = [];
      if (handle) handle.onconnection = (_status: number, connection: BareHandle) => accepted.push(connection);
      resolve({ errno, handle, accepted });
    });
  });
}

beforeEach(() => {
  nodeOwn = jest.fn<GetServer>();
  workerSide._getServer = nodeOwn;
  asked = [];
  answer = (request) => ({ seq: 1, port: request.port === 0 ? 41_000 : request.port, address: request.address ?? '::', family: 'IPv6' });
  listening = new ListeningThroughPrimary(async (request) => {
    asked.push(request);
    return answer(request);
  });
  expect(listening.install()).toBe(true);
});

afterEach(() => {
  delete workerSide._getServer;
});

describe('ListeningThroughPrimary', () => {
  it('asks the primary to listen for a TCP server, and gives it a handle that says where it listens', async () => {
    const { errno, handle } = await listen({ address: '127.0.0.1', port: 3000, addressType: 4, fd: -1 });
    expect(errno).toBe(0);
    expect(asked).toEqual([{ port: 3000, address: '127.0.0.1', index: 0 }]);
    const out = {};
    expect(handle!.getsockname!(out)).toBe(0);
    expect(out).toEqual({ address: '127.0.0.1', family: 'IPv6', port: 3000 });
    expect(handle!.listen!(511)).toBe(0);
    expect(nodeOwn).not.toHaveBeenCalled();
  });

  it('counts the servers of one address and port, for port 0 to give each its own', async () => {
    await listen({ address: null, port: 0, addressType: 4 });
    await listen({ address: null, port: 0, addressType: 4 });
    await listen({ address: null, port: 3000, addressType: 6 });
    expect(asked.map((r) => [r.port, r.index])).toEqual([
      [0, 0],
      [0, 1],
      [3000, 0],
    ]);
  });

  it.each([
    ['a pipe', { address: '/tmp/x.sock', port: -1, addressType: -1 }],
    ['UDP', { address: '127.0.0.1', port: 5000, addressType: 'udp4' }],
    ['a file descriptor', { address: null, port: 0, addressType: 4, fd: 7 }],
  ])('leaves %s to node:cluster', async (_, query) => {
    const server = {};
    const callback = () => undefined;
    workerSide._getServer!(server, query, callback);
    expect(nodeOwn).toHaveBeenCalledWith(server, query, callback);
    expect(asked).toEqual([]);
  });

  it('serves a handed connection on the server listening on its port, until that server closes', async () => {
    const { handle, accepted } = await listen({ address: null, port: 3000, addressType: 4 });
    const connection = bare();
    expect(listening.serve(3000, connection)).toBe(true);
    expect(accepted).toEqual([connection]);
    expect(listening.serve(3001, bare())).toBe(false);
    handle!.close!();
    expect(listening.serve(3000, bare())).toBe(false);
  });

  it("refuses a connection beyond the server's maxConnections", async () => {
    const server = { maxConnections: 1, _connections: 1 };
    await listen({ address: null, port: 3000, addressType: 4 }, server);
    expect(listening.serve(3000, bare())).toBe(false);
    server._connections = 0;
    expect(listening.serve(3000, bare())).toBe(true);
  });

  it("fails the listen with node's error number when the primary cannot listen", async () => {
    answer = () => ({ seq: 1, error: 'EADDRINUSE' });
    const { errno, handle } = await listen({ address: null, port: 3000, addressType: 4 });
    expect(handle).toBeUndefined();
    expect(errno).toBeLessThan(0);
    const { getSystemErrorName } = await import('node:util');
    expect(getSystemErrorName(errno)).toBe('EADDRINUSE');
  });
});
