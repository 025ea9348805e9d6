/**
 * One leader for two nodes: real primaries with 2 workers each on a redis-server of the test's own.
 * Every worker of both nodes calls a `@LeaderOnly()` method at each wall-clock second; the one call
 * that runs appends a line to a file both nodes share, so the file shows who led each second.
 * Leadership timing is the default one: lease ttl 9 s, renewal every 3 s, retry every 1 s.
 */
import { jest } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClusterProcess, freePort, get, type ObservedEventBody } from './helpers/cluster-process.js';
import { pollUntil } from './helpers/messaging-cluster.js';
import { doubled, missing, readTicks, ticksUntil as ticksOfFileUntil, type Tick as FileTick } from './helpers/tick-file.js';
import { NatsServer } from './helpers/nats-server.js';
import { RedisServer } from './helpers/redis-server.js';

// Each case boots real clusters, on a machine that may be busy: slow, but never stuck.
jest.setTimeout(120_000);

/** A tick of this fixture names its worker's node and slot too. */
type Tick = FileTick & Leader;
const ticks = (): Tick[] => readTicks<Tick>(tickFile);
const ticksUntil = (check: (list: Tick[]) => boolean, what: string, timeoutMs: number) => ticksOfFileUntil<Tick>(tickFile, check, what, timeoutMs);
const LEADER_TICK_APP = fileURLToPath(new URL('./fixtures/dist/leader-tick-app.js', import.meta.url));
const TTL_MS = 9_000;
const RETRY_MS = 1_000;

interface Leader {
  node: string;
  slot: number;
  pid: number;
  epoch: number;
}

interface Node {
  readonly name: string;
  readonly app: ClusterProcess;
  /** What a worker of this node answers on its control port. */
  control(slot: number, path: string): Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

interface LeaderEventBody extends ObservedEventBody {
  type: 'leader';
  node: string;
  leader: Leader | null;
  previous: Leader | null;
  reason: string;
  at: number;
}

let redis: RedisServer | undefined;
/** The environment that puts a node on the broker of the case: the test's Redis unless a case says otherwise. */
let brokerEnv: () => Record<string, string> = () => ({ CLUSTER_REDIS_URL: redis!.url });
let nodes: Node[] = [];
let dir: string;
let tickFile: string;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ncl-leader-'));
  tickFile = join(dir, 'ticks.jsonl');
  redis = await RedisServer.start();
});

afterEach(async () => {
  for (const node of nodes) node.app.killGroup();
  nodes = [];
  await redis?.kill();
  redis = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** A node of the fixture on the test's Redis, once both its workers are ready. */
async function startNode(name: string, env: Record<string, string> = {}): Promise<Node> {
  const controlPorts = [await freePort(), await freePort()];
  const app = ClusterProcess.start(
    {
      PORT: String(await freePort()),
      CLUSTER_WORKERS: '2',
      CONTROL_PORTS: controlPorts.join(','),
      ...brokerEnv(),
      CLUSTER_NODE_ID: name,
      FIXTURE_TICK_FILE: tickFile,
      ...env,
    },
    LEADER_TICK_APP,
  );
  const node: Node = { name, app, control: async (slot, path) => (await get(controlPorts[slot]!, path, 2_000)).body };
  nodes.push(node);
  await pollUntil(
    async () => {
      if (app.exitStatus) throw new Error(`node ${name} exited (${JSON.stringify(app.exitStatus)}):\n${app.output()}`);
      const workers: Array<{ node: string; state: string }> = await node.control(0, '/workers').catch(() => []);
      return workers.filter((w) => w.node === name && w.state === 'ready').length === 2;
    },
    `node ${name} to be ready`,
    60_000,
  );
  return node;
}

/** Two nodes, started together. */
function startNodes(env: Record<string, string> = {}): Promise<[Node, Node]> {
  return Promise.all([startNode('node-a', env), startNode('node-b', env)]);
}

/** Whom every worker of every node takes for the leader, and which workers say they are it. */
async function views(of: readonly Node[]): Promise<Array<{ worker: string; leader: Leader | null; isLeader: boolean }>> {
  const answers = await Promise.all(
    of.flatMap((node) =>
      [0, 1].map(async (slot) => {
        const { leader, isLeader } = (await node.control(slot, '/leader')) as { leader: Leader | null; isLeader: boolean };
        return { worker: `${node.name}/${slot}`, leader, isLeader };
      }),
    ),
  );
  return answers;
}

const key = (leader: Leader | null) => (leader ? `${leader.node}/${leader.slot} pid ${leader.pid} epoch ${leader.epoch}` : 'none');

/** Resolves with the leader once every worker of `of` names the same one, and that one alone says it leads. */
async function agreedLeader(of: readonly Node[], timeoutMs = 30_000): Promise<Leader> {
  let agreed: Leader | undefined;
  await pollUntil(
    async () => {
      const seen = await views(of).catch(() => []);
      const leaders = new Set(seen.map((v) => key(v.leader)));
      const leading = seen.filter((v) => v.isLeader);
      if (seen.length !== of.length * 2 || leaders.size !== 1 || !seen[0]!.leader || leading.length !== 1) return false;
      agreed = seen[0]!.leader;
      return true;
    },
    'every worker to agree on one leader',
    timeoutMs,
  );
  return agreed!;
}

/** The first `leader` event (past or future) `node`'s workers saw that `match` accepts. */
function leaderEvent(node: Node, match: (event: LeaderEventBody) => boolean, what: string, timeoutMs: number): Promise<LeaderEventBody> {
  return node.app.waitForEvent((event) => event.type === 'leader' && match(event as LeaderEventBody), what, timeoutMs) as Promise<LeaderEventBody>;
}

/**
 * Two nodes; once the leader has ticked twice, `stop` stops its node (and says when); resolves once the
 * other node leads and has ticked twice, with the ticks and the leader event.
 */
async function handOver(stop: (leaving: Node, old: Leader) => Promise<number> | number, what: string, timeoutMs: number) {
  const [a, b] = await startNodes();
  const old = await agreedLeader([a, b]);
  const [leaving, staying] = old.node === a.name ? [a, b] : [b, a];
  await ticksUntil((l) => l.filter((t) => t.node === leaving.name).length >= 2, 'two ticks of the first leader', 10_000);
  const stoppedAt = await stop(leaving, old);
  const event = await leaderEvent(staying, (e) => e.node === staying.name && e.reason === 'appointed' && e.at >= stoppedAt, what, timeoutMs);
  const list = await ticksUntil((l) => l.filter((t) => t.node === staying.name).length >= 2, 'two ticks of the new leader', timeoutMs);
  const firstNew = list.find((t) => t.node === staying.name)!;
  const lastOld = list.filter((t) => t.node === leaving.name).at(-1)!;
  return { old, leaving, staying, stoppedAt, event, list, firstNew, lastOld };
}

const sameWorker = (a: Leader, b: Leader) => a.node === b.node && a.slot === b.slot && a.pid === b.pid && a.epoch === b.epoch;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

describe('leadership across two nodes on Redis', () => {
  it('has exactly one leader: every worker of both nodes agrees, and each second runs once', async () => {
    const [a, b] = await startNodes();
    const leader = await agreedLeader([a, b]);
    const leaderNode = leader.node === a.name ? a : b;
    const appointed = await leaderEvent(
      leaderNode,
      (e) => e.reason === 'appointed' && !!e.leader && sameWorker(e.leader, leader),
      'the appointment',
      5_000,
    );
    // Eight seconds of ticks, whoever led them.
    const list = await ticksUntil((l) => l.length > 0 && l.at(-1)!.second - l[0]!.second >= 8, '8 s of ticks', 20_000);
    expect(doubled(list)).toEqual([]);
    expect(missing(list)).toEqual([]);
    expect(list.every((t) => sameWorker(t, leader))).toBe(true);
    // The leader began at once: its first tick is one of the first seconds after the appointment.
    expect(list[0]!.second * 1000).toBeLessThanOrEqual(appointed.at + 5_000);
    // And they still agree.
    expect(await agreedLeader([a, b], 5_000)).toEqual(leader);
  });

  it('moves to the other node within ttlMs + retryMs when the leader node is SIGKILLed, never doubling a second', async () => {
    const {
      old,
      staying: survivor,
      stoppedAt: killedAt,
      event,
      list,
      firstNew,
      lastOld,
    } = await handOver(
      (dead) => {
        const at = Date.now();
        dead.app.killGroup();
        return at;
      },
      'the survivor to lead',
      20_000,
    );
    const tickMs = firstNew.second * 1000 - killedAt;
    console.log(
      `failover after SIGKILL of the leader node: ${seconds(tickMs)} to the first tick of the new leader, ${seconds(event.at - killedAt)} to its leader event ` +
        `(ttlMs ${TTL_MS} + retryMs ${RETRY_MS}); ${firstNew.second - lastOld.second - 1} tick(s) missed`,
    );

    expect(event.at - killedAt).toBeLessThan(15_000);
    expect(tickMs).toBeLessThan(15_000);
    expect((firstNew.second - lastOld.second) * 1000).toBeLessThan(16_000);
    expect(doubled(list)).toEqual([]);
    expect(lastOld.second * 1000).toBeLessThanOrEqual(killedAt);
    expect(event.leader!.epoch).toBeGreaterThan(old.epoch);
    expect(firstNew.epoch).toBe(event.leader!.epoch);
    // From the new leader's first tick on, no second is missing.
    expect(missing(list.filter((t) => t.node === survivor.name))).toEqual([]);
    expect(await agreedLeader([survivor], 5_000)).toEqual(event.leader);
  });

  it('moves to the other node at once when the leader node stops gracefully (SIGTERM): the lease is released', async () => {
    const {
      old,
      leaving,
      staying,
      stoppedAt: signalledAt,
      event,
      list,
      firstNew,
      lastOld,
    } = await handOver(
      (leaving) => {
        const at = Date.now();
        leaving.app.signal('SIGTERM');
        return at;
      },
      'the other node to lead',
      10_000,
    );
    const tickMs = firstNew.second * 1000 - signalledAt;
    console.log(
      `failover after SIGTERM of the leader node: ${seconds(event.at - signalledAt)} to the new leader event, ${seconds(tickMs)} to its first tick ` +
        `(retryMs ${RETRY_MS}); ${firstNew.second - lastOld.second - 1} tick(s) missed`,
    );

    expect(event.at - signalledAt).toBeLessThan(5_000);
    expect(tickMs).toBeLessThan(6_000);
    expect(doubled(list)).toEqual([]);
    expect(firstNew.second - lastOld.second - 1).toBeLessThanOrEqual(5);
    expect(missing(list.filter((t) => t.node === staying.name))).toEqual([]);
    expect(event.leader!.epoch).toBeGreaterThan(old.epoch);
    expect(await leaving.app.exited).toEqual({ code: 0, signal: null });
    // The leaving node said why its leader stopped.
    await leaderEvent(
      leaving,
      (e) => e.leader === null && e.reason === 'shutdown' && !!e.previous && sameWorker(e.previous, old),
      'the shutdown dismissal',
      1_000,
    );
  });

  it('hands over on SIGTERM only once a leader stuck in a long job has let go: no second runs twice', async () => {
    // The drain deadline leaves the busy leader the time to finish its job and drain, however busy the machine.
    const [a, b] = await startNodes({ CLUSTER_SHUTDOWN_TIMEOUT_MS: '30000' });
    const old = await agreedLeader([a, b]);
    const [leaving, staying] = old.node === a.name ? [a, b] : [b, a];
    await ticksUntil((l) => l.filter((t) => t.node === leaving.name).length >= 2, 'two ticks of the first leader', 10_000);

    // The leader blocks its event loop for 4 s (its answer never comes in time); its node is told to stop
    // once it has begun, and before it ends.
    void leaving.control(old.slot, '/busy?ms=4000').catch(() => undefined);
    const busyLine = await leaving.app.waitForLine(new RegExp(`^BUSY .*"pid":${old.pid},`));
    const busy = JSON.parse(busyLine.slice('BUSY '.length)) as { until: number };
    const signalledAt = Date.now();
    leaving.app.signal('SIGTERM');
    expect(signalledAt).toBeLessThan(busy.until);
    const event = await leaderEvent(
      staying,
      (e) => e.node === staying.name && e.reason === 'appointed' && e.at >= signalledAt,
      'the other node to lead',
      30_000,
    );
    expect(await leaving.app.exited).toEqual({ code: 0, signal: null });
    const list = await ticksUntil((l) => l.filter((t) => t.node === staying.name).length >= 2, 'two ticks of the new leader', 10_000);
    console.log(
      `failover after SIGTERM of a node whose leader was busy until ${seconds(busy.until - signalledAt)} after it: ` +
        `${seconds(event.at - signalledAt)} to the new leader event`,
    );

    // Nobody else led before the busy leader was done with its job.
    expect(event.at).toBeGreaterThanOrEqual(busy.until);
    expect(doubled(list)).toEqual([]);
    const firstNew = list.find((t) => t.node === staying.name)!;
    expect(list.filter((t) => t.node === leaving.name && t.second >= firstNew.second)).toEqual([]);
    expect(event.leader!.epoch).toBeGreaterThan(old.epoch);
  });

  it('steps down when Redis dies, runs nothing while it is down, and leads again once it is back', async () => {
    const [a, b] = await startNodes();
    const old = await agreedLeader([a, b]);
    const leaderNode = old.node === a.name ? a : b;
    await ticksUntil((l) => l.length >= 2, 'two ticks', 10_000);

    const killedAt = Date.now();
    await redis!.kill();
    // Seen by the leader itself: from then on it runs nothing.
    const down = await leaderEvent(
      leaderNode,
      (e) => e.node === old.node && e.leader === null && !!e.previous && sameWorker(e.previous, old) && e.at >= killedAt,
      'the leader to step down',
      15_000,
    );
    await leaderNode.app.waitForEvents(
      (events) => events.find((x) => x.observer === old.slot && x.event.type === 'leader' && x.event.at === down.at),
      'the leader worker to see it',
      15_000,
    );
    const atStepDown = ticks().length;
    const linesAtStepDown = new Map([a, b].map((node) => [node, node.app.lines.length]));
    console.log(`step-down after Redis was killed: ${seconds(down.at - killedAt)} (${down.reason})`);
    expect(down.at - killedAt).toBeLessThan(8_000);
    expect(['transport-down', 'lease-lost']).toContain(down.reason);

    // Nobody leads while Redis is down: every worker of both nodes calls the job at three more seconds,
    // and nothing is written.
    await pollUntil(
      async () =>
        [a, b].every((node) => {
          const calls = node.app.lines.slice(linesAtStepDown.get(node)).filter((l) => l.startsWith('CALLED '));
          return [0, 1].every((slot) => calls.filter((l) => (JSON.parse(l.slice('CALLED '.length)) as { slot: number }).slot === slot).length >= 3);
        }),
      'every worker to call the job three times',
      20_000,
    );
    expect(ticks().slice(atStepDown)).toEqual([]);
    // And no worker of either node takes anybody for the leader.
    expect((await views([a, b])).map((v) => `${v.worker}: ${key(v.leader)}`)).toEqual(
      ['node-a/0', 'node-a/1', 'node-b/0', 'node-b/1'].map((w) => `${w}: none`),
    );

    const restartedAt = Date.now();
    await redis!.restart();
    const list = await ticksUntil((l) => l.filter((t) => t.second * 1000 > restartedAt).length >= 3, 'three ticks after Redis is back', 20_000);
    const after = list.slice(atStepDown);
    console.log(`ticks resumed ${seconds(after[0]!.second * 1000 - restartedAt)} after Redis was restarted`);
    expect(after[0]!.second * 1000).toBeGreaterThan(restartedAt);
    expect(doubled(list)).toEqual([]);
    expect(missing(after)).toEqual([]);
    const leader = await agreedLeader([a, b], 15_000);
    expect(after.every((t) => sameWorker(t, leader))).toBe(true);
    // Redis came back empty: the epoch still grows, from what the nodes remember.
    expect(leader.epoch).toBeGreaterThan(old.epoch);
  });
});

describe('leadership on a NATS server without JetStream', () => {
  let nats: NatsServer | undefined;

  beforeEach(async () => {
    nats = await NatsServer.start({ jetstream: false });
    brokerEnv = () => ({ CLUSTER_NATS_URL: nats!.url });
  });

  afterEach(async () => {
    brokerEnv = () => ({ CLUSTER_REDIS_URL: redis!.url });
    await nats?.remove();
  });

  it('says so once at boot, and each node leads itself: one leader per node, every second run once per node', async () => {
    const [a, b] = await startNodes();
    // The nodes still meet: each lists the other's workers.
    await pollUntil(
      async () => ((await a.control(0, '/workers')) as Array<{ node: string }>).some((w) => w.node === b.name),
      'node-a to list node-b',
      20_000,
    );
    const leaders = await Promise.all([agreedLeader([a]), agreedLeader([b])]);
    expect(leaders.map((l) => l.node)).toEqual([a.name, b.name]);
    const list = await ticksUntil(
      (l) => [a, b].every((node) => l.filter((t) => t.node === node.name).length >= 4),
      'four ticks of each node',
      20_000,
    );
    for (const [node, leader] of [
      [a, leaders[0]],
      [b, leaders[1]],
    ] as const) {
      const own = list.filter((t) => t.node === node.name);
      expect(doubled(own)).toEqual([]);
      expect(own.every((t) => sameWorker(t, leader))).toBe(true);
      // The primary's one line about it, naming what is missing.
      expect(node.app.lines.filter((l) => l.includes('JetStream'))).toHaveLength(1);
    }
  });
});
