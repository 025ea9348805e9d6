import type { Socket } from 'socket.io-client';
import { ClusterProcess, get, isAlive, until } from './helpers/cluster-process.js';
import { handshakeHolders, sessionsUnknown, startWsCluster, stopWsCluster, WS_WORKERS } from './helpers/ws-cluster.js';
import { connectClient, eventually, inParallel, postRandom, record, upgraded, whoami, type Holder } from './helpers/socket-clients.js';

const WORKERS = WS_WORKERS;
/** When workers go: two are enough to have one to move to, and a rolling restart of two is half as long. */
const WORKERS_THAT_GO = 2;

/** `count` clients, connected one after the other: the primary deals handshakes to the workers in turn. */
async function clientsOnEveryWorker(
  port: number,
  count: number,
  clients: Socket[],
  reconnection = false,
  workers = WORKERS,
): Promise<Array<Socket & { holder: Holder }>> {
  const connected: Array<Socket & { holder: Holder }> = [];
  for (let i = 0; i < count; i++) {
    const socket = await connectClient(port, { reconnection });
    clients.push(socket);
    connected.push(Object.assign(socket, { holder: await whoami(socket) }));
  }
  expect(new Set(connected.map((c) => c.holder.pid)).size).toBe(workers);
  return connected;
}

/** Asks the client's worker who it is until one answers: the question may meet the dying connection first. */
async function answerOnceReconnected(socket: Socket, timeoutMs = 15_000): Promise<Holder> {
  const started = Date.now();
  for (;;) {
    try {
      if (socket.connected) return await whoami(socket, 2_000);
    } catch (error) {
      if (Date.now() - started > timeoutMs) throw error;
    }
    if (Date.now() - started > timeoutMs) throw new Error('the client did not reconnect');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('WebSockets on a sticky cluster (socket.io)', () => {
  let app: ClusterProcess | undefined;
  let port: number;
  const clients: Socket[] = [];

  // Above the minute a booting cluster has to get ready.
  beforeAll(async () => {
    ({ app, port } = await startWsCluster());
  }, 120_000);

  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });

  afterAll(() => stopWsCluster(app, clients), 30_000);

  it('gives 2,000 clients a session by polling, then a WebSocket, without one "Session ID unknown"', async () => {
    const holders = await handshakeHolders(port, 2_000, 40);
    expect(holders).toHaveLength(2_000);
    expect(new Set(holders).size).toBe(WORKERS);
    expect(sessionsUnknown(app!)).toEqual([]);
  }, 90_000);

  it('passes 100 request bodies of 1 MiB through the primary byte for byte', async () => {
    const results = await inParallel(100, 8, () => postRandom(port, 1_048_576));
    for (const { sent, received, bytes } of results) {
      expect(bytes).toBe(1_048_576);
      expect(received).toBe(sent);
    }
  }, 60_000);

  it('delivers a broadcast from one worker to every client of every worker, exactly once', async () => {
    const connected = await clientsOnEveryWorker(port, 16, clients);
    const news = connected.map((c) => record<{ tag: string }>(c, 'news'));
    await connected[0]!.emitWithAck('broadcast', 'first');
    // One sender, in order: once every client has the second, any duplicate of the first would be there too.
    await connected[5]!.emitWithAck('broadcast', 'second');
    await eventually(() => news.every((seen) => seen.some((n) => n.tag === 'second')), 'the second broadcast on every client');
    for (const seen of news) expect(seen.map((n) => n.tag).sort()).toEqual(['first', 'second']);
  }, 60_000);

  it('keeps a room across workers: emits reach its members only, and fetchSockets finds them on every worker', async () => {
    const connected = await clientsOnEveryWorker(port, 12, clients);
    const members = connected.filter((_, i) => i % 3 !== 0);
    const others = connected.filter((_, i) => i % 3 === 0);
    for (const member of members) await member.emitWithAck('join', 'r1');
    expect(new Set(members.map((m) => m.holder.pid)).size).toBe(WORKERS);
    const roomNews = connected.map((c) => record<{ tag: string }>(c, 'room-news'));
    await others[0]!.emitWithAck('to-room', { room: 'r1', tag: 't1' });
    await eventually(() => members.every((m) => roomNews[connected.indexOf(m)]!.length > 0), 'the room emit on every member');
    // A broadcast from the same worker, sent after it, reaching everyone: nothing else was coming.
    const news = connected.map((c) => record<{ tag: string }>(c, 'news'));
    await others[0]!.emitWithAck('broadcast', 'after');
    await eventually(() => news.every((seen) => seen.length > 0), 'the broadcast after the room emit');
    connected.forEach((c, i) => expect(roomNews[i]!.map((n) => n.tag)).toEqual(members.includes(c) ? ['t1'] : []));
    await expect(others[1]!.emitWithAck('fetch', 'r1')).resolves.toEqual({ count: members.length, servers: WORKERS });
  }, 60_000);

  it('answers plain HTTP through the primary, and refuses a request line that is not HTTP', async () => {
    const { status, body } = await get(port, '/');
    expect(status).toBe(200);
    expect(typeof body.pid).toBe('number');
    const { connect } = await import('node:net');
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.write('HELLO THERE\r\n\r\n'));
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString()));
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
  });
});

describe('WebSockets on a sticky cluster when workers go', () => {
  let app: ClusterProcess | undefined;
  const clients: Socket[] = [];

  afterEach(() => stopWsCluster(app, clients), 30_000);

  it('moves the clients of a SIGKILLed worker to another worker', async () => {
    let port: number;
    ({ app, port } = await startWsCluster({}, WORKERS_THAT_GO));
    const connected = await clientsOnEveryWorker(port, 12, clients, true, WORKERS_THAT_GO);
    for (const c of connected) await upgraded(c);
    const victim = connected[1]!.holder.pid;
    const orphans = connected.filter((c) => c.holder.pid === victim);
    expect(orphans.length).toBeGreaterThan(0);
    process.kill(victim, 'SIGKILL');
    await until(() => !isAlive(victim), `pid ${victim} gone`, 10_000);
    for (const orphan of orphans) expect((await answerOnceReconnected(orphan)).pid).not.toBe(victim);
  }, 60_000);

  it('ends a rolling restart under 200 connected clients with every client connected to a new worker', async () => {
    let port: number;
    ({ app, port } = await startWsCluster({ CLUSTER_SHUTDOWN_TIMEOUT_MS: '5000' }, WORKERS_THAT_GO));
    const before = new Set((await app.waitForReady(WORKERS_THAT_GO)).map((w) => w.pid));
    const connected = await inParallel(200, 20, async () => {
      const socket = await connectClient(port, { reconnection: true });
      clients.push(socket);
      return socket;
    });
    app.signal('SIGHUP');
    await app.waitForEvent((e) => e.type === 'rolling-restart' && e.phase === 'done', 'the rolling restart done', 60_000);
    expect(app.events().some((e) => e.event.type === 'rolling-restart' && e.event.phase === 'aborted')).toBe(false);
    await eventually(() => connected.every((c) => c.connected), 'every client connected', 20_000);
    const holders = await inParallel(200, 20, (i) => whoami(connected[i]!));
    for (const holder of holders) expect(before.has(holder.pid)).toBe(false);
  }, 90_000);
});
