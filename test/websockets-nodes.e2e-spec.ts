/**
 * The socket.io adapter across nodes: two sticky clusters of 2 workers each ("nodes"), joined by a
 * redis-server, then a nats-server, of the test's own, their clients connected through each node's
 * primary. The adapter speaks through `ClusterService` only: the same cases pass on either link.
 */
import { fileURLToPath } from 'node:url';
import type { Socket } from 'socket.io-client';
import { ClusterProcess, freePort, pollReady } from './helpers/cluster-process.js';
import type { BrokerProcess } from './helpers/broker-process.js';
import { NatsServer } from './helpers/nats-server.js';
import { RedisServer } from './helpers/redis-server.js';
import { connectClient, eventually, record, whoami, type Holder } from './helpers/socket-clients.js';

const WS_APP = fileURLToPath(new URL('./fixtures/dist/ws-app.js', import.meta.url));
const WORKERS_PER_NODE = 2;
const WORKERS = 2 * WORKERS_PER_NODE;

interface Node {
  readonly name: string;
  readonly app: ClusterProcess;
  readonly port: number;
}

type Client = Socket & { holder: Holder; node: string };

type BrokerServer = BrokerProcess & { readonly url: string };

/** A broker the nodes can join through: the variable that names it, and a server of the test's own. */
interface Broker {
  readonly name: string;
  readonly variable: 'CLUSTER_REDIS_URL' | 'CLUSTER_NATS_URL';
  start(): Promise<BrokerServer>;
}

const BROKERS: readonly Broker[] = [
  { name: 'Redis', variable: 'CLUSTER_REDIS_URL', start: () => RedisServer.start() },
  { name: 'NATS', variable: 'CLUSTER_NATS_URL', start: () => NatsServer.start() },
];

/** A node of the ws fixture on `server`, sticky sessions on, once its primary listens. */
async function startNode(name: string, broker: Broker, server: BrokerServer): Promise<Node> {
  const port = await freePort();
  const app = ClusterProcess.start(
    { PORT: String(port), CLUSTER_WORKERS: String(WORKERS_PER_NODE), [broker.variable]: server.url, CLUSTER_NODE_ID: name },
    WS_APP,
  );
  // A cluster that never got ready must not outlive the case: nothing else holds it to kill it.
  try {
    await app.waitForReady(WORKERS_PER_NODE);
    await app.waitForLine(/the primary listens on port/);
  } catch (error) {
    app.killGroup();
    throw error;
  }
  return { name, app, port };
}

async function stopNode(node: Node | undefined): Promise<void> {
  if (!node) return;
  if (!node.app.exitStatus) node.app.signal('SIGTERM');
  await Promise.race([node.app.exited, new Promise((resolve) => setTimeout(resolve, 15_000).unref())]);
  node.app.killGroup();
}

/** `count` clients of `node`, connected one after the other: the primary deals them to its workers in turn. */
async function clientsOf(node: Node, count: number, clients: Socket[]): Promise<Client[]> {
  const connected: Client[] = [];
  for (let i = 0; i < count; i++) {
    const socket = await connectClient(node.port);
    clients.push(socket);
    connected.push(Object.assign(socket, { holder: await whoami(socket), node: node.name }));
  }
  expect(new Set(connected.map((c) => c.holder.pid)).size).toBe(WORKERS_PER_NODE);
  return connected;
}

/** Resolves once the client's worker counts every worker of both nodes as a socket.io server. */
async function seesEveryServer(client: Socket, timeoutMs = 30_000): Promise<void> {
  const started = Date.now();
  for (;;) {
    const { servers } = (await client.timeout(10_000).emitWithAck('fetch')) as { servers: number };
    if (servers === WORKERS) return;
    if (Date.now() - started > timeoutMs) throw new Error(`a worker counts ${servers} servers, not ${WORKERS}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** One client per worker of both nodes. */
function onePerWorker(clients: Client[]): Client[] {
  return [...new Map(clients.map((c) => [c.holder.pid, c])).values()];
}

describe.each(BROKERS)('WebSockets across two nodes joined by $name (socket.io)', (broker) => {
  let server: BrokerServer | undefined;
  let a: Node | undefined;
  let b: Node | undefined;
  const clients: Socket[] = [];

  beforeAll(async () => {
    server = await broker.start();
    [a, b] = await Promise.all([startNode('node-a', broker, server), startNode('node-b', broker, server)]);
    // Each node's membership lists the 4 workers (asked of whichever worker the primary picks).
    await Promise.all([pollReady(a.port, WORKERS, { app: a.app }), pollReady(b.port, WORKERS, { app: b.app })]);
  }, 90_000);

  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });

  afterAll(async () => {
    for (const client of clients.splice(0)) client.close();
    await Promise.all([stopNode(a), stopNode(b)]);
    await (server instanceof NatsServer ? server.remove() : server?.kill());
  }, 40_000);

  it('delivers a broadcast from a client of one node to every client of both nodes, exactly once', async () => {
    const connected = [...(await clientsOf(a!, 4, clients)), ...(await clientsOf(b!, 4, clients))];
    expect(new Set(connected.map((c) => c.holder.pid)).size).toBe(WORKERS);
    for (const client of onePerWorker(connected)) await seesEveryServer(client);
    const news = connected.map((c) => record<{ tag: string; from: number }>(c, 'news'));
    const fromA = connected.find((c) => c.node === 'node-a')!;
    const fromB = connected.find((c) => c.node === 'node-b')!;
    // One sender, in order: once every client has the later tag, any duplicate of the earlier would be there too.
    await fromA.emitWithAck('broadcast', 'a-first');
    await fromA.emitWithAck('broadcast', 'a-second');
    await fromB.emitWithAck('broadcast', 'b-first');
    await fromB.emitWithAck('broadcast', 'b-second');
    await eventually(
      () => news.every((seen) => seen.some((n) => n.tag === 'a-second') && seen.some((n) => n.tag === 'b-second')),
      'both second broadcasts on every client of both nodes',
      20_000,
    );
    for (const seen of news) expect(seen.map((n) => n.tag).sort()).toEqual(['a-first', 'a-second', 'b-first', 'b-second']);
    for (const seen of news) {
      expect(seen.filter((n) => n.tag.startsWith('a-')).every((n) => n.from === fromA.holder.pid)).toBe(true);
      expect(seen.filter((n) => n.tag.startsWith('b-')).every((n) => n.from === fromB.holder.pid)).toBe(true);
    }
  }, 90_000);

  it('keeps a room across nodes: emits reach its members only, and fetchSockets counts them on both nodes', async () => {
    const connected = [...(await clientsOf(a!, 6, clients)), ...(await clientsOf(b!, 6, clients))];
    for (const client of onePerWorker(connected)) await seesEveryServer(client);
    // On every worker of both nodes: its first client stays out, the others join.
    const byWorker = new Map<number, Client[]>();
    for (const c of connected) byWorker.set(c.holder.pid, [...(byWorker.get(c.holder.pid) ?? []), c]);
    expect(byWorker.size).toBe(WORKERS);
    for (const group of byWorker.values()) expect(group.length).toBeGreaterThanOrEqual(2);
    const others = [...byWorker.values()].map((group) => group[0]!);
    const members = connected.filter((c) => !others.includes(c));
    for (const member of members) await member.emitWithAck('join', 'r1');

    const roomNews = connected.map((c) => record<{ tag: string }>(c, 'room-news'));
    const sender = others.find((c) => c.node === 'node-b')!;
    await sender.emitWithAck('to-room', { room: 'r1', tag: 't1' });
    await eventually(() => members.every((m) => roomNews[connected.indexOf(m)]!.length > 0), 'the room emit on every member of both nodes', 20_000);
    // A broadcast from the same worker, sent after it, reaching everyone: nothing else was coming.
    const news = connected.map((c) => record<{ tag: string }>(c, 'news'));
    await sender.emitWithAck('broadcast', 'after');
    await eventually(() => news.every((seen) => seen.length > 0), 'the broadcast after the room emit', 20_000);
    connected.forEach((c, i) => expect(roomNews[i]!.map((n) => n.tag)).toEqual(members.includes(c) ? ['t1'] : []));

    const askers = [others.find((c) => c.node === 'node-a')!, sender];
    for (const asker of askers) {
      await expect(asker.timeout(10_000).emitWithAck('fetch', 'r1')).resolves.toEqual({ count: members.length, servers: WORKERS });
    }
    await expect(askers[0]!.timeout(10_000).emitWithAck('fetch')).resolves.toEqual({ count: connected.length, servers: WORKERS });
  }, 90_000);
});
