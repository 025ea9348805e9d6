import { request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { Socket } from 'socket.io-client';
import { ClusterProcess } from './helpers/cluster-process.js';
import { handshakeHolders, sessionsUnknown, startWsCluster, stopWsCluster, WS_WORKERS } from './helpers/ws-cluster.js';
import { connectClient, eventually, inParallel, postRandom, record, upgraded, whoami, type Holder } from './helpers/socket-clients.js';

const WORKERS = WS_WORKERS;
const WS_APP = fileURLToPath(new URL('./fixtures/dist/ws-app.js', import.meta.url));

/** The pid of the worker answering `GET /` on a fresh connection from `localAddress`. */
function pidFrom(port: number, localAddress = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/', localAddress, agent: false, timeout: 10_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        try {
          resolve((JSON.parse(text) as Holder).pid);
        } catch {
          reject(new Error(`status ${res.statusCode}: ${text}`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('GET / timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** A client connected from `localAddress` and upgraded to a WebSocket; resolves with the worker holding it. */
async function upgradedClient(port: number, clients: Socket[], localAddress?: string): Promise<Socket & { holder: Holder }> {
  const socket = await connectClient(port, { localAddress });
  clients.push(socket);
  await upgraded(socket);
  return Object.assign(socket, { holder: await whoami(socket) });
}

/**
 * The lines of `app` from now on: a case on a cluster shared with other cases looks at its own
 * output only, so that it passes or fails alone, whatever ran before it.
 */
function outputFromNow(app: ClusterProcess): { sessionsUnknown(): string[] } {
  const from = app.lines.length;
  return { sessionsUnknown: () => app.lines.slice(from).filter((l) => l.startsWith('SESSION_UNKNOWN')) };
}

/** A boot of 4 workers: up to a minute for them to get ready on a busy machine (`waitForReady`), and some more. */
const BOOT_TIMEOUT_MS = 120_000;

// The cases of one describe below share one cluster when they only connect clients and send requests
// (no signal, no crash): each closes its own clients, the cluster stops after the last.
describe("sticky sessions by client address ('ip')", () => {
  let app: ClusterProcess;
  let port: number;
  const clients: Socket[] = [];

  beforeAll(async () => {
    ({ app, port } = await startWsCluster({ CLUSTER_STICKY: 'ip' }));
  }, BOOT_TIMEOUT_MS);

  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });

  afterAll(() => stopWsCluster(app, clients), 30_000);

  it('puts every handshake, upgrade and HTTP request from 127.0.0.1 on one worker, without one "Session ID unknown"', async () => {
    const output = outputFromNow(app);
    const holders = await handshakeHolders(port, 200, 20);
    expect(holders).toHaveLength(200);
    expect(new Set(holders).size).toBe(1);
    const pids = await inParallel(40, 8, () => pidFrom(port));
    expect(new Set(pids)).toEqual(new Set(holders));
    expect(output.sessionsUnknown()).toEqual([]);
  }, 60_000);

  it('spreads clients of different addresses over the workers, each address keeping its worker', async () => {
    const output = outputFromNow(app);
    const addresses = Array.from({ length: 16 }, (_, i) => `127.0.0.${i + 1}`);
    const workerOf = new Map<string, number>();
    for (const address of addresses) {
      const pids = await inParallel(4, 4, () => pidFrom(port, address));
      expect({ address, workers: new Set(pids).size }).toEqual({ address, workers: 1 });
      workerOf.set(address, pids[0]!);
    }
    expect(new Set(workerOf.values()).size).toBeGreaterThan(1);
    // socket.io clients (polling, then WebSocket) from those addresses land where their HTTP requests did.
    const socketWorkers = new Set<number>();
    for (const address of addresses.slice(0, 8)) {
      const client = await upgradedClient(port, clients, address);
      expect({ address, pid: client.holder.pid }).toEqual({ address, pid: workerOf.get(address) });
      socketWorkers.add(client.holder.pid);
    }
    expect(socketWorkers.size).toBeGreaterThan(1); // the clients did connect from their own addresses
    expect(output.sessionsUnknown()).toEqual([]);
  }, 60_000);
});

describe("sticky sessions by session id ('sid') on Fastify", () => {
  let app: ClusterProcess;
  let port: number;
  const clients: Socket[] = [];

  beforeAll(async () => {
    ({ app, port } = await startWsCluster({ CLUSTER_STICKY: 'sid', FIXTURE_PLATFORM: 'fastify' }));
  }, BOOT_TIMEOUT_MS);

  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });

  afterAll(() => stopWsCluster(app, clients), 30_000);

  it('gives 200 clients a session by polling, then a WebSocket, on every worker, without one "Session ID unknown"', async () => {
    const output = outputFromNow(app);
    const holders = await handshakeHolders(port, 200, 20);
    expect(holders).toHaveLength(200);
    expect(new Set(holders).size).toBe(WORKERS);
    expect(output.sessionsUnknown()).toEqual([]);
  }, 60_000);

  it('passes request bodies of 1 MiB through the primary to Fastify byte for byte', async () => {
    const results = await inParallel(8, 4, () => postRandom(port, 1_048_576));
    for (const { sent, received, bytes } of results) {
      expect(bytes).toBe(1_048_576);
      expect(received).toBe(sent);
    }
  }, 60_000);

  it('delivers a broadcast from one worker to every client of every worker, exactly once', async () => {
    const output = outputFromNow(app);
    // Connected one after the other: the primary deals handshakes to the workers in turn.
    const connected: Array<Socket & { holder: Holder }> = [];
    for (let i = 0; i < 2 * WORKERS; i++) connected.push(await upgradedClient(port, clients));
    expect(new Set(connected.map((c) => c.holder.pid)).size).toBe(WORKERS);
    const news = connected.map((c) => record<{ tag: string }>(c, 'news'));
    await connected[0]!.emitWithAck('broadcast', 'first');
    // One sender, in order: once every client has the second, any duplicate of the first would be there too.
    await connected[0]!.emitWithAck('broadcast', 'second');
    await eventually(() => news.every((seen) => seen.some((n) => n.tag === 'second')), 'the second broadcast on every client');
    for (const seen of news) expect(seen.map((n) => n.tag)).toEqual(['first', 'second']);
    expect(output.sessionsUnknown()).toEqual([]);
  }, 60_000);
});

describe("the README's Fastify recipe (host '0.0.0.0') in sticky mode", () => {
  let app: ClusterProcess | undefined;
  const clients: Socket[] = [];

  afterEach(() => stopWsCluster(app, clients), 30_000);

  it.each(['ip', 'sid'])(
    'serves HTTP and socket.io clients with CLUSTER_STICKY=%s',
    async (sticky) => {
      let port: number;
      ({ app, port } = await startWsCluster({ CLUSTER_STICKY: sticky, FIXTURE_PLATFORM: 'fastify', FIXTURE_OPTIONS: '{"host":"0.0.0.0"}' }));
      const pids = await inParallel(20, 4, () => pidFrom(port));
      expect(pids).toHaveLength(20);
      const holders = await handshakeHolders(port, 20, 4);
      expect(holders).toHaveLength(20);
      expect(sessionsUnknown(app)).toEqual([]);
    },
    60_000,
  );

  it.each(['ip', 'sid'])(
    'refuses a listen hook with CLUSTER_STICKY=%s at boot: exit 78, one line naming options.listen, no worker',
    async (sticky) => {
      app = ClusterProcess.start(
        { PORT: '0', CLUSTER_WORKERS: '2', CLUSTER_STICKY: sticky, FIXTURE_PLATFORM: 'fastify', FIXTURE_LISTEN_HOOK: '1' },
        WS_APP,
      );
      expect(await app.exited).toEqual({ code: 78, signal: null });
      const errors = app.lines.filter((l) => /ERROR/.test(l));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain(`options.listen (with sticky "${sticky}")`);
      expect(errors[0]).toContain('CLUSTER_HOST');
      expect(app.forkedPids()).toEqual([]);
    },
    30_000,
  );
});

describe("sticky sessions ('sid') with Nest's own socket.io adapter", () => {
  let app: ClusterProcess | undefined;
  const clients: Socket[] = [];

  afterEach(() => stopWsCluster(app, clients), 30_000);

  it('connects 100 clients that start by polling (socket.io-client defaults) on every worker, without one "Session ID unknown"', async () => {
    let port: number;
    ({ app, port } = await startWsCluster({ CLUSTER_STICKY: 'sid', FIXTURE_ADAPTER: 'default' }));
    const holders = await handshakeHolders(port, 100, 10);
    expect(holders).toHaveLength(100);
    expect(new Set(holders).size).toBe(WORKERS);
    expect(sessionsUnknown(app)).toEqual([]);
    expect(app.lines.filter((l) => /WARN.*ClusterIoAdapter/.test(l))).toEqual([]);
  }, 60_000);
});

describe('sticky sessions on port 0', () => {
  let app: ClusterProcess | undefined;
  const clients: Socket[] = [];

  afterEach(() => stopWsCluster(app, clients), 30_000);

  it('serves on the port the primary got, which it names', async () => {
    app = ClusterProcess.start({ PORT: '0', CLUSTER_WORKERS: String(WORKERS), CLUSTER_STICKY: 'sid' }, WS_APP);
    const port = Number(/port (\d+)/.exec(await app.waitForLine(/the primary listens on port \d+/))![1]);
    expect(port).toBeGreaterThan(0);
    await app.waitForReady(WORKERS);
    const pids = await inParallel(20, 4, () => pidFrom(port));
    expect(new Set(pids).size).toBe(WORKERS);
    expect(await handshakeHolders(port, 20, 4)).toHaveLength(20);
    expect(sessionsUnknown(app)).toEqual([]);
  }, 60_000);
});
