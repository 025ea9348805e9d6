/**
 * Several nodes, one cluster: real primaries with 2 workers each, joined by a redis-server or a
 * nats-server of the test's own (killed and restarted by the tests), driven through each worker's
 * control port. What every link must do runs on both brokers; what is Redis's own runs on Redis.
 */
import { jest } from '@jest/globals';
import { fileURLToPath } from 'node:url';
import { ClusterProcess, freePort, get, pollReady } from './helpers/cluster-process.js';
import { pollUntil, q, startMessagingCluster, type Control } from './helpers/messaging-cluster.js';
import { NatsServer } from './helpers/nats-server.js';
import { RedisServer } from './helpers/redis-server.js';

// Cases boot two nodes (a minute each at most to get ready on a busy machine): as the other suites
// that boot clusters, 120 s per case, so that no case ends while a boot it started goes on unowned.
jest.setTimeout(120_000);

interface Node {
  readonly name: string;
  readonly app: ClusterProcess;
  readonly control: Control;
}

/** A broker server of the test's own, which it can kill and start again on the same port. */
interface BrokerServer {
  readonly url: string;
  kill(): Promise<void>;
  restart(): Promise<void>;
}

/** How nodes meet on a broker: the server, and the variable that points a node at it. */
interface Broker {
  readonly name: string;
  readonly variable: string;
  start(): Promise<BrokerServer>;
}

const REDIS: Broker = { name: 'Redis', variable: 'CLUSTER_REDIS_URL', start: () => RedisServer.start() };
const NATS: Broker = { name: 'NATS', variable: 'CLUSTER_NATS_URL', start: () => NatsServer.start() };

/** A node of the messaging fixture on `server` (a redis-server unless `broker` says otherwise). */
async function startNode(name: string, server: BrokerServer, env: Record<string, string> = {}, broker: Broker = REDIS): Promise<Node> {
  const { app, control } = await startMessagingCluster(2, {
    [broker.variable]: server.url,
    CLUSTER_NODE_ID: name,
    FIXTURE_PRINT_EVENTS: '1',
    ...env,
  });
  return { name, app, control };
}

/** Resolves once `observer` saw `node` leave with a goodbye (within 5 s: a `bye` is not a timeout). */
function saidBye(observer: Node, node: string): Promise<unknown> {
  return observer.app.waitForEvents(
    (events) => events.find((x) => x.event.type === 'node-left' && x.event.node === node && x.event.reason === 'bye'),
    'bye',
    5_000,
  );
}

/** Resolves once slot 0 of `node` lists every worker of `nodes` (2 each) as ready. */
function seesAll(node: Node, nodes: readonly string[], timeoutMs = 30_000): Promise<void> {
  return pollUntil(
    async () => {
      const workers: Array<{ node: string; state: string }> = await node.control(0, '/workers');
      return nodes.every((n) => workers.filter((w) => w.node === n && w.state === 'ready').length === 2) && workers.length === nodes.length * 2;
    },
    `${node.name} to see ${nodes.join(', ')}`,
    timeoutMs,
  );
}

describe.each([REDIS, NATS])('two nodes on one $name', (broker) => {
  let redis: BrokerServer;
  let a: Node;
  let b: Node;

  beforeAll(async () => {
    redis = await broker.start();
    [a, b] = await Promise.all([
      startNode('node-a', redis, { FIXTURE_GREET_READY: '1' }, broker),
      startNode('node-b', redis, { FIXTURE_EXTRA_TOPIC: 'only.on.b' }, broker),
    ]);
    await Promise.all([seesAll(a, ['node-a', 'node-b']), seesAll(b, ['node-a', 'node-b'])]);
  });

  afterAll(async () => {
    a?.app.killGroup();
    b?.app.killGroup();
    await redis?.kill();
  });

  it('lists the workers of both nodes, this node first, on every worker', async () => {
    for (const [node, slot] of [
      [a, 1],
      [b, 0],
    ] as const) {
      const workers: Array<{ node: string; slot: number }> = await node.control(slot, '/workers');
      const own = node === a ? ['node-a/0', 'node-a/1'] : ['node-b/0', 'node-b/1'];
      const other = node === a ? ['node-b/0', 'node-b/1'] : ['node-a/0', 'node-a/1'];
      expect(workers.map((w) => `${w.node}/${w.slot}`)).toEqual([...own, ...other]);
    }
  });

  it('publish reaches every other worker of every node once', async () => {
    const tag = `pub-${Date.now()}`;
    for (let i = 0; i < 5; i++) await a.control(0, `/publish?topic=note&data=${q(`${tag}-${i}`)}`);
    await a.control(0, `/publish?topic=note&data=${q(`${tag}-end`)}`);
    const receivers: Array<[Node, number]> = [
      [a, 1],
      [b, 0],
      [b, 1],
    ];
    for (const [node, slot] of receivers) {
      await pollUntil(
        async () => (await node.control(slot, '/received')).notes.some((n: { data: unknown }) => n.data === `${tag}-end`),
        `${node.name}/${slot}`,
      );
      const notes: Array<{ data: string; from: number; node?: string }> = (await node.control(slot, '/received')).notes;
      const mine = notes.filter((n) => typeof n.data === 'string' && n.data.startsWith(tag));
      expect(mine.map((n) => n.data)).toEqual([0, 1, 2, 3, 4].map((i) => `${tag}-${i}`).concat(`${tag}-end`));
      expect(mine.every((n) => n.from === 0 && n.node === (node === a ? undefined : 'node-a'))).toBe(true);
    }
    const own: Array<{ data: string }> = (await a.control(0, '/received')).notes;
    expect(own.filter((n) => typeof n.data === 'string' && n.data.startsWith(tag))).toEqual([]);
  });

  it('asks a worker of the other node by { node, slot }, and every worker with requestAll', async () => {
    const bWorkers: Array<{ node: string; slot: number; pid: number }> = (await b.control(0, '/workers')).filter(
      (w: { node: string }) => w.node === 'node-b',
    );
    const one = await a.control(0, `/request?topic=whoami&to=1&node=node-b&timeoutMs=5000`);
    expect(one.value).toEqual({ slot: 1, pid: bWorkers.find((w) => w.slot === 1)!.pid });
    const all = await a.control(1, `/request-all?topic=whoami&timeoutMs=5000`);
    expect(all.replies.map((r: { node: string; slot: number }) => `${r.node}/${r.slot}`)).toEqual(['node-a/0', 'node-a/1', 'node-b/0', 'node-b/1']);
    expect(all.missing).toEqual([]);
    expect(all.errors).toEqual([]);
  });

  it('keeps the order of one sender to one receiver across nodes', async () => {
    const before = ((await b.control(1, '/received')).sequences['node-a/0'] ?? []).length;
    await a.control(0, `/burst?to=1&node=node-b&count=2000`);
    await pollUntil(async () => ((await b.control(1, '/received')).sequences['node-a/0'] ?? []).length >= before + 2_000, '2,000 messages');
    const sequence: number[] = (await b.control(1, '/received')).sequences['node-a/0'].slice(before);
    expect(sequence).toEqual(Array.from({ length: 2_000 }, (_, i) => i));
  });

  it('sends a request without an address to a handler on another node when this one has none', async () => {
    const answers: Array<{ value?: { node: string } }> = await a.control(0, `/request-many?topic=only.on.b&count=6&timeoutMs=5000`);
    expect(answers.map((x) => x.value?.node)).toEqual(Array(6).fill('node-b'));
    // A handler here wins over one on another node.
    const local: Array<{ value?: { node: string } }> = await b.control(0, `/request-many?topic=only.on.b&count=4&timeoutMs=5000`);
    expect(local.map((x) => x.value?.node)).toEqual(Array(4).fill('node-b'));
  });

  it('fails at once for an unknown node or a slot no worker of that node serves', async () => {
    // At once: long before their 30 s timeout, however busy the machine.
    const unknown = await a.control(0, `/request?topic=whoami&to=0&node=node-z&timeoutMs=30000`);
    expect(unknown.error).toMatchObject({ name: 'WorkerUnavailableError', code: 'CLUSTER_ERR_WORKER_UNAVAILABLE' });
    expect(unknown.ms).toBeLessThan(5_000);
    const empty = await a.control(0, `/request?topic=whoami&to=7&node=node-b&timeoutMs=30000`);
    expect(empty.error).toMatchObject({ name: 'WorkerUnavailableError' });
    expect(empty.ms).toBeLessThan(5_000);
  });

  it('a worker that hears a worker of the other node is ready lists it ready in workers() and reaches it at once', async () => {
    // Node-a's workers ask each worker of another node the moment its `ready` reaches their events$.
    const [victim] = ((await b.control(0, '/workers')) as Array<{ node: string; slot: number; pid: number }>).filter(
      (w) => w.node === 'node-b' && w.slot === 1,
    );
    process.kill(victim!.pid, 'SIGKILL');
    const replacement = new RegExp(`GREETED \\{"observer":\\d+,"node":"node-b","slot":1,"pid":(?!${victim!.pid},)`);
    const greetings = (await a.app.waitForLines(replacement, 2)).map((line) => JSON.parse(line.slice(line.indexOf('{'))));
    expect(greetings.map((g) => g.observer).sort()).toEqual([0, 1]);
    for (const greeting of greetings) {
      // Listed ready when its `ready` event arrived, not a heartbeat later; so reached at once.
      expect(greeting).toMatchObject({ listed: 'ready', reply: { slot: 1, pid: greeting.pid } });
    }
    await seesAll(a, ['node-a', 'node-b']);
  });
});

describe.each([REDIS, NATS])('faults between nodes on $name', (broker) => {
  let redis: BrokerServer | undefined;
  const nodes: Node[] = [];

  afterEach(async () => {
    for (const node of nodes.splice(0)) node.app.killGroup();
    await redis?.kill();
    redis = undefined;
  });

  it('a node whose primary is SIGKILLed expires: its requests in flight fail, requestAll names its workers, it leaves workers$', async () => {
    redis = await broker.start();
    const [c, d] = await Promise.all([startNode('node-c', redis, {}, broker), startNode('node-d', redis, {}, broker)]);
    nodes.push(c, d);
    await seesAll(c, ['node-c', 'node-d']);
    const workersOfD = ((await c.control(0, '/workers')) as Array<{ node: string; pid: number }>).filter((w) => w.node === 'node-d');
    const slow = c.control(0, `/request?topic=slow&to=0&node=node-d&timeoutMs=60000&data=${q({ ms: 50_000 })}`);
    await d.app.waitForLine(/SLOW_REQUEST 0/);
    const killedAt = Date.now();
    process.kill(d.app.pid, 'SIGKILL');
    // Its workers go with it (their channel to it closes); until then they could still answer.
    await pollUntil(async () => workersOfD.every((w) => !isAlive(w.pid)), "node-d's workers to exit", 10_000);

    const partial = await c.control(1, `/request-all?topic=whoami&timeoutMs=1000`);
    expect(partial.replies.map((r: { node: string; slot: number }) => `${r.node}/${r.slot}`)).toEqual(['node-c/0', 'node-c/1']);
    expect(partial.missing).toEqual([
      { node: 'node-d', slot: 0 },
      { node: 'node-d', slot: 1 },
    ]);

    const failed = await slow;
    expect(failed.error).toMatchObject({ name: 'WorkerUnavailableError' });
    const expiredAfter = Date.now() - killedAt;
    // Expires after 6 s of silence: the request ended then, not at its own 60 s timeout.
    expect(expiredAfter).toBeGreaterThanOrEqual(3_000);
    expect(expiredAfter).toBeLessThan(20_000);
    await seesAll(c, ['node-c']);
    await c.app.waitForEvents(
      (events) => events.find((e) => e.event.type === 'node-left' && e.event.node === 'node-d' && e.event.reason === 'expired'),
      'node-left',
    );
  });

  it("shows the other node's worker events, and says goodbye when it drains: the other node forgets it at once", async () => {
    redis = await broker.start();
    const [e, f] = await Promise.all([startNode('node-e', redis, {}, broker), startNode('node-f', redis, {}, broker)]);
    nodes.push(e, f);
    await seesAll(e, ['node-e', 'node-f']);
    // The other node's worker events reach this node's events$, each naming its node.
    const [victim] = ((await f.control(0, '/workers')) as Array<{ node: string; slot: number; pid: number }>).filter(
      (w) => w.node === 'node-f' && w.slot === 1,
    );
    process.kill(victim!.pid, 'SIGKILL');
    await e.app.waitForEvents(
      (events) => events.find((x) => x.event.type === 'exit' && x.event.node === 'node-f' && x.event.pid === victim!.pid),
      'node-f worker exit',
    );
    await seesAll(e, ['node-e', 'node-f']);
    f.app.signal('SIGTERM');
    expect((await f.app.exited).code).toBe(0);
    await saidBye(e, 'node-f');
    await seesAll(e, ['node-e'], 5_000);
  });

  it('the broker killed: other-node calls fail at once, same-node messages go on; back on the same port, the nodes meet again, nothing twice', async () => {
    redis = await broker.start();
    const [g, h] = await Promise.all([startNode('node-g', redis, {}, broker), startNode('node-h', redis, {}, broker)]);
    nodes.push(g, h);
    await seesAll(g, ['node-g', 'node-h']);
    await seesAll(h, ['node-g', 'node-h']);

    await redis.kill();
    await pollUntil(async () => (await g.control(0, '/state')).transport === 'down', 'the link down');
    const far = await g.control(0, `/request?topic=whoami&to=0&node=node-h&timeoutMs=30000`);
    expect(far.error).toMatchObject({ name: 'TransportUnavailableError', code: 'CLUSTER_ERR_TRANSPORT_DOWN' });
    expect(far.ms).toBeLessThan(5_000);
    const near = await g.control(0, `/request?topic=whoami&to=1&timeoutMs=5000`);
    expect(near.value).toMatchObject({ slot: 1 });
    const tag = `outage-${Date.now()}`;
    await g.control(0, `/publish?topic=note&data=${q(`${tag}-during`)}`);
    await pollUntil(
      async () => (await g.control(1, '/received')).notes.some((n: { data: unknown }) => n.data === `${tag}-during`),
      'same-node publish',
    );
    await g.app.waitForEvents((events) => events.find((x) => x.event.type === 'transport' && x.event.status === 'down'), 'transport down');

    await redis.restart();
    const back = Date.now();
    await pollUntil(
      async () => (await g.control(0, `/request?topic=whoami&to=0&node=node-h&timeoutMs=1000`)).value !== undefined,
      'node-h again',
      10_000,
    );
    const metAgainMs = Date.now() - back;
    expect(metAgainMs).toBeLessThan(4_000);
    await g.control(0, `/publish?topic=note&data=${q(`${tag}-after`)}`);
    await pollUntil(async () => (await h.control(0, '/received')).notes.some((n: { data: unknown }) => n.data === `${tag}-after`), 'publish after');
    const seen: Array<{ data: unknown }> = (await h.control(0, '/received')).notes;
    // What was published during the outage was not queued and replayed; what came after, once.
    expect(seen.filter((n) => typeof n.data === 'string' && n.data.startsWith(tag)).map((n) => n.data)).toEqual([`${tag}-after`]);
  });
});

describe('faults between nodes on Redis alone', () => {
  let redis: RedisServer | undefined;
  const nodes: Node[] = [];

  afterEach(async () => {
    for (const node of nodes.splice(0)) node.app.killGroup();
    await redis?.kill();
    redis = undefined;
  });

  it('Redis unreachable at start: the node serves, reports the link down, and joins once Redis is up', async () => {
    redis = await RedisServer.start();
    await redis.kill();
    const lone = await startNode('node-i', redis);
    nodes.push(lone);
    expect((await lone.control(0, '/state')).transport).toBe('down');
    await redis.restart();
    await pollUntil(async () => (await lone.control(0, '/state')).transport === 'up', 'the link up', 10_000);
  });

  it("a worker too slow to read its lane is cut off by Redis, reconnects like after any outage, and is reached again; its node's link stays", async () => {
    // Redis drops a subscriber holding over 256 KB of unread messages: a slow worker cannot grow without bound.
    redis = await RedisServer.start(['--client-output-buffer-limit', 'pubsub 256kb 128kb 1']);
    const [j, k] = await Promise.all([startNode('node-j', redis), startNode('node-k', redis)]);
    nodes.push(j, k);
    await seesAll(j, ['node-j', 'node-k']);
    await seesAll(k, ['node-j', 'node-k']);
    // Connections are named after their process: `ncl:<node>:sub` for the link, `ncl:<node>:<slot>:<pid>:sub` for a lane.
    const subscribers = (prefix: string) => redis!.clients().filter((c) => c.name.startsWith(prefix) && c.name.endsWith(':sub'));
    const lanesBefore = subscribers('ncl:node-k:').filter((c) => c.name !== 'ncl:node-k:sub');
    const linkBefore = subscribers('ncl:node-k:sub');
    expect(lanesBefore).toHaveLength(2);
    expect(linkBefore).toHaveLength(1);
    const workersOfK = ((await j.control(0, '/workers')) as Array<{ node: string; pid: number }>).filter((w) => w.node === 'node-k');
    for (const { pid } of workersOfK) process.kill(pid, 'SIGSTOP');
    try {
      // About 2 MB for each subscriber of node-k's workers, which do not read.
      await j.control(0, `/flood?count=2000&size=1000`);
    } finally {
      for (const { pid } of workersOfK) process.kill(pid, 'SIGCONT');
    }
    // Both lanes were cut off and connected again (new connections), the link was not touched.
    await pollUntil(async () => {
      const lanes = subscribers('ncl:node-k:').filter((c) => c.name !== 'ncl:node-k:sub');
      return lanes.length === 2 && lanes.every((lane) => !lanesBefore.some((before) => before.id === lane.id));
    }, "node-k's lanes to be cut off and back");
    expect(subscribers('ncl:node-k:sub')).toEqual(linkBefore);
    // Each cut-off worker said so, and said when its lane was back.
    await pollUntil(
      async () => k.app.tagged.filter((l) => /lane back on Redis after \d+ ms/.test(l.text)).length === 2,
      'both lanes to say they are back',
    );
    expect(new Set(k.app.tagged.filter((l) => l.text.includes('lost Redis: this process')).map((l) => l.slot))).toEqual(new Set([0, 1]));
    for (const to of [0, 1]) {
      await pollUntil(
        async () => (await k.control(to, `/request?topic=whoami&to=1&node=node-j&timeoutMs=1000`)).value !== undefined,
        `node-j from slot ${to} of node-k`,
      );
      await pollUntil(
        async () => (await j.control(0, `/request?topic=whoami&to=${to}&node=node-k&timeoutMs=1000`)).value !== undefined,
        `slot ${to} of node-k from node-j`,
      );
    }
  });

  it('a standalone process (enabled: false) is a node of one worker: it and a clustered node reach each other', async () => {
    redis = await RedisServer.start();
    const { app, control } = await startMessagingCluster(1, { CLUSTER_ENABLED: 'false', CLUSTER_REDIS_URL: redis.url, CLUSTER_NODE_ID: 'node-s' });
    const s: Node = { name: 'node-s', app, control };
    const t = await startNode('node-t', redis);
    nodes.push(s, t);
    const lists = (node: Node, expected: string[]) =>
      pollUntil(
        async () => {
          const workers: Array<{ node: string; slot: number; state: string }> = await node.control(0, '/workers');
          const ready = workers.filter((w) => w.state === 'ready').map((w) => `${w.node}/${w.slot}`);
          return expected.every((x) => ready.includes(x)) && workers.length === expected.length;
        },
        `${node.name} to list ${expected.join(', ')}`,
      );
    await lists(s, ['node-s/0', 'node-t/0', 'node-t/1']);
    await lists(t, ['node-s/0', 'node-t/0', 'node-t/1']);

    expect((await s.control(0, `/request?topic=whoami&to=1&node=node-t&timeoutMs=5000`)).value).toMatchObject({ slot: 1 });
    expect((await t.control(1, `/request?topic=whoami&to=0&node=node-s&timeoutMs=5000`)).value).toEqual({ slot: 0, pid: s.app.pid });
    const all = await s.control(0, `/request-all?topic=whoami&timeoutMs=5000`);
    expect(all.replies.map((r: { node: string; slot: number }) => `${r.node}/${r.slot}`)).toEqual(['node-s/0', 'node-t/0', 'node-t/1']);
    const tag = `standalone-${Date.now()}`;
    await t.control(0, `/publish?topic=note&data=${q(tag)}`);
    await pollUntil(
      async () => (await s.control(0, '/received')).notes.some((n: { data: unknown; node?: string }) => n.data === tag && n.node === 'node-t'),
      'the publish',
    );

    s.app.signal('SIGTERM');
    expect((await s.app.exited).code).toBe(0);
    await saidBye(t, 'node-s');
  });

  it('exits 78 with one line naming a bad CLUSTER_REDIS_URL', async () => {
    const app = ClusterProcess.start({ CLUSTER_REDIS_URL: 'http://127.0.0.1:6379', CLUSTER_WORKERS: '1' });
    const exit = await app.exited;
    expect(exit.code).toBe(78);
    expect(app.lines.filter((l) => l.includes('CLUSTER_REDIS_URL'))).toHaveLength(1);
  });
});

describe('faults between nodes on NATS alone', () => {
  let nats: NatsServer | undefined;
  const nodes: Node[] = [];

  afterEach(async () => {
    for (const node of nodes.splice(0)) node.app.killGroup();
    await nats?.remove();
    nats = undefined;
  });

  it('NATS unreachable at start: the node serves, reports the link down, says why once, and joins once NATS is up', async () => {
    nats = await NatsServer.start();
    await nats.kill();
    const lone = await startNode('node-i', nats, {}, NATS);
    nodes.push(lone);
    expect((await lone.control(0, '/state')).transport).toBe('down');
    await nats.restart();
    await pollUntil(async () => (await lone.control(0, '/state')).transport === 'up', 'the link up', 10_000);
    // The primary's link and each worker's lane said once why they could not connect, not at every try.
    const refusals = lone.app.tagged.filter((l) => /NATS refused/.test(l.text));
    expect(refusals.filter((l) => l.slot === undefined)).toHaveLength(1);
    expect(refusals.length).toBeLessThanOrEqual(3);
  });

  it("a worker too slow to read its lane is cut off by NATS (slow consumer), says so, reconnects and is reached again; its node's link and same-node traffic are untouched", async () => {
    // NATS cuts a connection holding over 256 KB it could not write yet: a slow worker cannot grow the server
    // without bound. A message may not be larger than that (the wire splits its batches to fit).
    nats = await NatsServer.start({ config: 'max_pending: 262144\nmax_payload: 131072', monitor: true });
    // node-k's workers are stopped until NATS cuts them off: its primary must not take them for hung meanwhile.
    const [j, k] = await Promise.all([startNode('node-j', nats, {}, NATS), startNode('node-k', nats, { CLUSTER_UNRESPONSIVE_MS: '0' }, NATS)]);
    nodes.push(j, k);
    await seesAll(j, ['node-j', 'node-k']);
    await seesAll(k, ['node-j', 'node-k']);
    // Connections are named after their process: `ncl:<node>` for the link, `ncl:<node>:<slot>:<pid>` for a lane.
    const open = async (prefix: string) =>
      (await nats!.connections()).filter((c) => c.name?.startsWith(prefix)).map(({ cid, name }) => ({ cid, name }));
    const lanesBefore = await open('ncl:node-k:');
    const linkBefore = (await open('ncl:node-k')).filter((c) => c.name === 'ncl:node-k');
    expect(lanesBefore).toHaveLength(2);
    expect(linkBefore).toHaveLength(1);
    const workersOfK = ((await j.control(0, '/workers')) as Array<{ node: string; pid: number }>).filter((w) => w.node === 'node-k');
    for (const { pid } of workersOfK) process.kill(pid, 'SIGSTOP');
    try {
      // About 20 MB for each lane of node-k's workers, which do not read: more than the sockets' buffers hold.
      await j.control(0, `/flood?count=10000&size=2000`);
      await pollUntil(
        async () =>
          (await nats!.connections('closed')).filter((c) => c.name?.startsWith('ncl:node-k:') && /slow consumer/i.test(c.reason ?? '')).length === 2,
        "NATS to cut node-k's lanes off as slow consumers",
      );
    } finally {
      for (const { pid } of workersOfK) process.kill(pid, 'SIGCONT');
    }
    // Same-node traffic never touched NATS: it answers, lanes back or not (the just-resumed workers have a
    // backlog to read first, on a machine that may be busy).
    expect((await k.control(0, '/request?topic=whoami&to=1&timeoutMs=5000')).value).toMatchObject({ slot: 1 });
    // Both lanes connected again (new connections), the link was not touched.
    await pollUntil(async () => {
      const lanes = await open('ncl:node-k:');
      return lanes.length === 2 && lanes.every((lane) => !lanesBefore.some((before) => before.cid === lane.cid));
    }, "node-k's lanes to be back");
    expect((await open('ncl:node-k')).filter((c) => c.name === 'ncl:node-k')).toEqual(linkBefore);
    // Each cut-off worker said so, and said when its lane was back.
    await pollUntil(
      async () => k.app.tagged.filter((l) => /lane back on NATS after \d+ ms/.test(l.text)).length === 2,
      'both lanes to say they are back',
    );
    expect(new Set(k.app.tagged.filter((l) => l.text.includes('lost NATS: this process')).map((l) => l.slot))).toEqual(new Set([0, 1]));
    expect(j.app.lines.filter((l) => l.includes('lost NATS'))).toEqual([]);
    for (const to of [0, 1]) {
      await pollUntil(
        async () => (await k.control(to, `/request?topic=whoami&to=1&node=node-j&timeoutMs=1000`)).value !== undefined,
        `node-j from slot ${to} of node-k`,
      );
      await pollUntil(
        async () => (await j.control(0, `/request?topic=whoami&to=${to}&node=node-k&timeoutMs=1000`)).value !== undefined,
        `slot ${to} of node-k from node-j`,
      );
    }
  });
});

describe('the sample app as two nodes, one command each', () => {
  const SAMPLE = fileURLToPath(new URL('../sample/dist/main.js', import.meta.url));
  let redis: RedisServer | undefined;
  const apps: ClusterProcess[] = [];

  afterAll(async () => {
    for (const app of apps) app.killGroup();
    await redis?.kill();
  });

  it('sums the hits of both nodes and shows the link in /health/nodes, down while Redis is', async () => {
    redis = await RedisServer.start();
    const ports = [await freePort(), await freePort()];
    for (const [i, port] of ports.entries()) {
      apps.push(
        ClusterProcess.start({ PORT: String(port), CLUSTER_WORKERS: '2', CLUSTER_REDIS_URL: redis.url, CLUSTER_NODE_ID: `sample-${i}` }, SAMPLE),
      );
    }
    // Each node lists the 4 workers of both.
    await Promise.all(ports.map((port, i) => pollReady(port, 4, { app: apps[i] })));
    for (let i = 0; i < 3; i++) await get(ports[0]!, '/');
    for (let i = 0; i < 5; i++) await get(ports[1]!, '/');
    const hits = await get(ports[1]!, '/hits');
    expect(hits.body.total).toBeGreaterThanOrEqual(8);
    expect(new Set(hits.body.replies.map((r: { node: string }) => r.node))).toEqual(new Set(['sample-0', 'sample-1']));

    const up = await get(ports[0]!, '/health/nodes');
    expect(up.status).toBe(200);
    expect(up.body.details.transport).toMatchObject({ status: 'up', transport: 'up', node: 'sample-0' });
    expect(new Set(up.body.details.transport.nodes)).toEqual(new Set(['sample-0', 'sample-1']));
    await redis.kill();
    await pollUntil(async () => (await get(ports[0]!, '/health/nodes')).status === 503, '/health/nodes to turn down');
    expect((await get(ports[0]!, '/')).status).toBe(200);
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
