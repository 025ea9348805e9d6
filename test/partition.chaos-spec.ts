/**
 * A partition, as between real hosts: two nodes and their broker (Redis, then NATS with JetStream),
 * each in its own network namespace with its own address; cutting the leading node's link makes it step
 * down and expire on the other, which then leads; restoring the link lets it rejoin.
 * Needs root and iproute2 (CI has both); elsewhere the suite is skipped with the reason printed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterProcess } from './helpers/cluster-process.js';
import { MESSAGING_APP, pollUntil } from './helpers/messaging-cluster.js';
import { NetworkNamespaces } from './helpers/network-namespaces.js';

const unavailable = NetworkNamespaces.unavailable();
if (unavailable) console.log(`partition test skipped: ${unavailable}`);
const describeWithNamespaces = unavailable ? describe.skip : describe;

const CONTROL = 'http://127.0.0.1:4001';

/** A broker run in its own namespace, listening on every address there. */
interface Broker {
  readonly name: string;
  /** The variable that points a node at it, and its URL at `ip`. */
  readonly variable: string;
  url(ip: string): string;
  /** The command that runs it (in `dir`, a temporary folder of its own). */
  command(dir: string): string[];
  /** Whether it answers, asked from namespace `ns` at `ip`. */
  answers(nets: NetworkNamespaces, ns: string, ip: string): boolean;
}

const REDIS_PORT = 6390;
const NATS_PORT = 4290;
const NATS_MONITOR_PORT = 8290;

const REDIS: Broker = {
  name: 'Redis',
  variable: 'CLUSTER_REDIS_URL',
  url: (ip) => `redis://${ip}:${REDIS_PORT}`,
  command: () => ['redis-server', '--port', String(REDIS_PORT), '--bind', '0.0.0.0', '--protected-mode', 'no', '--save', ''],
  answers: (_nets, ns, ip) =>
    spawnSync('ip', ['netns', 'exec', ns, 'redis-cli', '-h', ip, '-p', String(REDIS_PORT), 'ping'])
      .stdout?.toString()
      .trim() === 'PONG',
};

const NATS: Broker = {
  name: 'NATS',
  variable: 'CLUSTER_NATS_URL',
  url: (ip) => `nats://${ip}:${NATS_PORT}`,
  // JetStream on: the leadership lease is a key-value bucket.
  command: (dir) => ['nats-server', '-a', '0.0.0.0', '-p', String(NATS_PORT), '-m', String(NATS_MONITOR_PORT), '-js', '-sd', dir],
  answers: (nets, ns, ip) => {
    try {
      return (nets.getJson(ns, `http://${ip}:${NATS_MONITOR_PORT}/healthz`) as { status?: string }).status === 'ok';
    } catch {
      return false;
    }
  },
};

describeWithNamespaces.each([REDIS, NATS])('a partition between two nodes on separate hosts, over $name', (broker) => {
  const nets = new NetworkNamespaces(`ncl${process.pid}${broker.name.slice(0, 1).toLowerCase()}`);
  const nodes: ClusterProcess[] = [];
  let server: ChildProcess | undefined;
  let ns: { broker: string; one: string; two: string };
  const dir = mkdtempSync(join(tmpdir(), 'ncl-partition-'));

  beforeAll(async () => {
    ns = { broker: nets.add('broker'), one: nets.add('one'), two: nets.add('two') };
    nets.connect({ ns: ns.broker, device: 'to-one', ip: '10.77.1.1' }, { ns: ns.one, device: 'uplink', ip: '10.77.1.2' });
    nets.connect({ ns: ns.broker, device: 'to-two', ip: '10.77.2.1' }, { ns: ns.two, device: 'uplink', ip: '10.77.2.2' });
    const [command, ...args] = [...nets.exec(ns.broker), ...broker.command(dir)];
    server = spawn(command!, args, { stdio: 'ignore', detached: true });
    await pollUntil(async () => broker.answers(nets, ns.one, '10.77.1.1'), `${broker.name} in its namespace`);
    for (const [name, space, brokerIp] of [
      ['host-one', ns.one, '10.77.1.1'],
      ['host-two', ns.two, '10.77.2.1'],
    ] as const) {
      const env = {
        PORT: '3000',
        CLUSTER_WORKERS: '2',
        CONTROL_PORTS: '4001,4002',
        [broker.variable]: broker.url(brokerIp),
        CLUSTER_NODE_ID: name,
      };
      nodes.push(ClusterProcess.start(env, MESSAGING_APP, nets.exec(space)));
    }
  });

  afterAll(async () => {
    for (const node of nodes) node.killGroup();
    await Promise.all(nodes.map((node) => node.exited));
    if (server?.pid && server.exitCode === null) {
      const exited = new Promise((resolve) => server!.once('exit', resolve));
      process.kill(-server.pid, 'SIGKILL');
      await exited;
    }
    nets.removeAll();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The ready workers `space`'s node lists, as `node/slot`. */
  const listed = (space: string): string[] => {
    try {
      const workers = nets.getJson(space, `${CONTROL}/workers`) as Array<{ node: string; slot: number; state: string }>;
      return workers.filter((w) => w.state === 'ready').map((w) => `${w.node}/${w.slot}`);
    } catch {
      return []; // not listening yet
    }
  };
  const sees = (space: string, node: string) => listed(space).filter((w) => w.startsWith(`${node}/`)).length === 2;

  /** The leader `space`'s node names, as its `/state` says (`undefined`: it does not answer). */
  const leaderOf = (space: string): { node: string; epoch: number } | null | undefined => {
    try {
      return (nets.getJson(space, `${CONTROL}/state`) as { leader?: { node: string; epoch: number } | null }).leader ?? null;
    } catch {
      return undefined;
    }
  };

  it('expires the cut-off node on the other within the heartbeat bounds, moves leadership, and takes the node back when the link returns', async () => {
    await pollUntil(async () => sees(ns.one, 'host-two') && sees(ns.two, 'host-one'), 'both nodes to see each other', 60_000);
    await pollUntil(async () => !!leaderOf(ns.one) && leaderOf(ns.one)?.node === leaderOf(ns.two)?.node, 'both nodes to name one leader', 30_000);
    // The node that leads is the one cut off: it must step down before the other may lead.
    const leading = leaderOf(ns.one)!;
    const [cutSpace, cutDevice, otherSpace, cutNode, otherNode] =
      leading.node === 'host-one' ? [ns.one, 'to-one', ns.two, 'host-one', 'host-two'] : [ns.two, 'to-two', ns.one, 'host-two', 'host-one'];

    nets.setLink(ns.broker, cutDevice, 'down');
    const cut = Date.now();
    await pollUntil(async () => leaderOf(cutSpace) === null, `${cutNode} to step down`, 30_000);
    const steppedDownAfter = Date.now() - cut;
    await pollUntil(async () => !sees(otherSpace, cutNode), `${cutNode} to expire on ${otherNode}`, 30_000);
    const expiredAfter = Date.now() - cut;
    expect(expiredAfter).toBeGreaterThanOrEqual(4_000);
    expect(expiredAfter).toBeLessThan(15_000);
    expect(sees(otherSpace, otherNode)).toBe(true);
    await pollUntil(
      async () => (nets.getJson(cutSpace, `${CONTROL}/state`) as { transport: string }).transport === 'down',
      `${cutNode} to see its link down`,
      30_000,
    );
    await pollUntil(async () => leaderOf(otherSpace)?.node === otherNode, `${otherNode} to lead`, 30_000);
    const tookOverAfter = Date.now() - cut;
    console.log(
      `partition over ${broker.name}: the cut-off leader stepped down after ${steppedDownAfter} ms, the other node led after ${tookOverAfter} ms`,
    );
    // Within the renewal deadline (ttlMs - renewMs = 6 s) of its last renewal, and before the other node could lead.
    expect(steppedDownAfter).toBeLessThan(6_000 + 1_000);
    expect(tookOverAfter).toBeGreaterThan(steppedDownAfter);
    expect(leaderOf(otherSpace)!.epoch).toBeGreaterThan(leading.epoch);

    nets.setLink(ns.broker, cutDevice, 'up');
    await pollUntil(async () => sees(ns.one, 'host-two') && sees(ns.two, 'host-one'), `${cutNode} to rejoin`, 60_000);
    await pollUntil(async () => leaderOf(cutSpace)?.node === otherNode, `${cutNode} to name ${otherNode} as leader`, 30_000);
  });
});
