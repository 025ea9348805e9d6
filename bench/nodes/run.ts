/**
 * Across nodes: two nodes of the library on a redis-server of the run's own, against a hand-written
 * ioredis pub/sub relay between two processes, and the same over a nats-server of the run's own against
 * a hand-written `@nats-io/transport-node` relay, all in interleaved rounds; and the same-node messaging
 * workload with and without Redis on, to show it does not change. `BENCH_NODES_BROKERS=nats` (or `redis`)
 * measures one broker's rows alone.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createConnection, createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { MessagingResult } from '../messaging/workload.js';
import { killGroup, resultOf, runNode, trackGroup, untagged, untrackGroup } from '../lib/run-node.js';
import { median, ratios, spread } from '../lib/stats.js';

const script = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const RELAY = script('./ioredis-relay.js');
const LIBRARY = script('./library-nodes.js');
const NATS_RELAY = script('./nats-relay.js');
const SAME_NODE = script('../messaging/library-relay.js');

export interface NodesReport {
  rounds: number;
  relay: MessagingResult[];
  library: MessagingResult[];
  nats: { relay: MessagingResult[]; library: MessagingResult[] };
  sameNode: { off: MessagingResult[]; on: MessagingResult[] };
  markdown: string;
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

/** A redis-server for the run, in its own process group (killed with the run whatever happens). */
async function startRedis(): Promise<{ url: string; pgid: number; stop: () => void }> {
  if (spawnSync('redis-server', ['--version']).error) throw new Error('redis-server was not found (Debian: apt-get install -y redis-server)');
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
    detached: true,
  });
  trackGroup(child.pid!);
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    const probe = spawnSync('redis-cli', ['-p', String(port), 'ping']);
    if (probe.stdout?.toString().trim() === 'PONG') break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url,
    pgid: child.pid!,
    stop: () => {
      killGroup(child.pid!);
      untrackGroup(child.pid!);
    },
  };
}

/** A nats-server for the run, in its own process group, on a free port. */
async function startNats(): Promise<{ url: string; pgid: number; stop: () => void }> {
  if (spawnSync('nats-server', ['--version']).error) throw new Error('nats-server was not found (Debian: apt-get install -y nats-server)');
  const port = await freePort();
  const child = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore', detached: true });
  trackGroup(child.pid!);
  for (let i = 0; i < 200; i++) {
    const probe = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ port, host: '127.0.0.1' }, () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (probe) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    pgid: child.pid!,
    stop: () => {
      killGroup(child.pid!);
      untrackGroup(child.pid!);
    },
  };
}

/** Starts role `b` and waits until it says READY; resolves with its process group and a way to stop it. */
async function startB(path: string, env: Record<string, string>): Promise<{ pgid: number; stop: () => void }> {
  const child = spawn(process.execPath, [path], {
    env: { ...process.env, NO_COLOR: '1', ...env, BENCH_ROLE: 'b' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  trackGroup(child.pid!);
  const stop = () => {
    killGroup(child.pid!);
    untrackGroup(child.pid!);
  };
  const lines: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`role b of ${path} not ready in 60 s: ${lines.slice(-5).join(' | ')}`)), 60_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      if (untagged(line) === 'READY') {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', () => reject(new Error(`role b of ${path} exited: ${lines.slice(-5).join(' | ')}`)));
  }).catch((error) => {
    stop();
    throw error;
  });
  return { pgid: child.pid!, stop };
}

/** Role `a` measures; the CPU it reports counts role `b` and the redis-server too (`cpuGroups`). */
async function pair(path: string, env: Record<string, string>, name: string, cpuGroups: readonly number[]): Promise<MessagingResult> {
  const b = await startB(path, env);
  try {
    const groups = [...cpuGroups, b.pgid].join(',');
    return resultOf<MessagingResult>(await runNode(path, { ...env, BENCH_ROLE: 'a', BENCH_CPU_GROUPS: groups }, 120_000), name);
  } finally {
    b.stop();
  }
}

/** A broker the section measures across nodes on. */
export type NodesBroker = 'redis' | 'nats';

/**
 * The brokers named by `BENCH_NODES_BROKERS` (`redis`, `nats` or both, comma-separated), so one broker's
 * rows can be measured alone; both when it is unset.
 */
export function nodesBrokers(value = process.env.BENCH_NODES_BROKERS): NodesBroker[] {
  if (value === undefined || value.trim() === '') return ['redis', 'nats'];
  const named = value.split(',').map((b) => b.trim());
  const unknown = named.filter((b) => b !== 'redis' && b !== 'nats');
  if (unknown.length) throw new Error(`BENCH_NODES_BROKERS: unknown broker(s) ${unknown.join(', ')}; expected redis, nats or both`);
  return named as NodesBroker[];
}

export async function benchNodes(
  rounds: number,
  env: Record<string, string> = {},
  brokers: readonly NodesBroker[] = nodesBrokers(),
): Promise<NodesReport> {
  const onRedis = brokers.includes('redis');
  const onNats = brokers.includes('nats');
  const redis = await startRedis();
  const natsServer = await startNats();
  const relay: MessagingResult[] = [];
  const library: MessagingResult[] = [];
  const nats = { relay: [] as MessagingResult[], library: [] as MessagingResult[] };
  const sameNode = { off: [] as MessagingResult[], on: [] as MessagingResult[] };
  try {
    const base = { BENCH_REDIS_URL: redis.url, ...env };
    for (let round = 0; round < rounds; round++) {
      const flip = round % 2 === 1;
      const overNats = { ...env, BENCH_NATS_URL: natsServer.url };
      const order = flip ? ['nats-library', 'nats-relay', 'library', 'relay'] : ['relay', 'library', 'nats-relay', 'nats-library'];
      for (const which of order.filter((w) => (w.startsWith('nats-') ? onNats : onRedis))) {
        if (which === 'relay') relay.push(await pair(RELAY, base, 'ioredis relay', [redis.pgid]));
        else if (which === 'library') library.push(await pair(LIBRARY, base, 'nestjs-cluster across nodes', [redis.pgid]));
        else if (which === 'nats-relay') nats.relay.push(await pair(NATS_RELAY, overNats, 'NATS relay', [natsServer.pgid]));
        else nats.library.push(await pair(LIBRARY, overNats, 'nestjs-cluster across nodes over NATS', [natsServer.pgid]));
      }
      for (const on of onRedis ? (flip ? [true, false] : [false, true]) : []) {
        const run = await runNode(SAME_NODE, on ? { ...env, CLUSTER_REDIS_URL: redis.url, CLUSTER_NODE_ID: 'bench-same' } : env, 120_000);
        (on ? sameNode.on : sameNode.off).push(resultOf<MessagingResult>(run, `same node, Redis ${on ? 'on' : 'off'}`));
      }
    }
  } finally {
    redis.stop();
    natsServer.stop();
  }
  const pick = (list: MessagingResult[], key: keyof MessagingResult) => list.map((r) => r[key]);
  const ratio = (list: MessagingResult[], key: keyof MessagingResult) => `${median(ratios(pick(list, key), pick(relay, key))).toFixed(2)}x`;
  const row = (label: string, key: keyof MessagingResult, unit: string, decimals = 0) =>
    `| ${label}${unit} | ${spread(pick(relay, key), decimals)} | ${spread(pick(library, key), decimals)} | ${ratio(library, key)} |`;
  const natsRow = (label: string, key: keyof MessagingResult, unit: string, decimals = 0) =>
    `| ${label}${unit} | ${spread(pick(nats.relay, key), decimals)} | ${spread(pick(nats.library, key), decimals)} | ${median(ratios(pick(nats.library, key), pick(nats.relay, key))).toFixed(2)}x | ${onRedis ? spread(pick(library, key), decimals) : 'not run'} | ${onRedis ? `${median(ratios(pick(nats.library, key), pick(library, key))).toFixed(2)}x` : ''} |`;
  const same = (label: string, key: keyof MessagingResult) =>
    `| ${label} | ${spread(pick(sameNode.off, key))} | ${spread(pick(sameNode.on, key))} | ${median(ratios(pick(sameNode.on, key), pick(sameNode.off, key))).toFixed(2)}x |`;
  const redisTable = [
    `| across two nodes on Redis (${rounds} rounds) | hand-written ioredis relay | nestjs-cluster | ratio (median of rounds) |`,
    '|---|---|---|---|',
    row('burst, messages/s', 'messagesPerSecond', ''),
    row('request/reply p50', 'pingP50Us', ', us'),
    row('request/reply p99', 'pingP99Us', ', us'),
    row('burst, CPU ms per 1,000 messages (both nodes and redis-server)', 'burstCpuMs', '', 1),
    row('request/reply, CPU ms per 1,000 round trips (both nodes and redis-server)', 'pingCpuMs', '', 1),
    '',
  ];
  const natsTable = [
    `| across two nodes on NATS (${rounds} rounds) | hand-written @nats-io relay | nestjs-cluster | ratio (median of rounds) | nestjs-cluster on Redis (above) | NATS / Redis |`,
    '|---|---|---|---|---|---|',
    natsRow('burst, messages/s', 'messagesPerSecond', ''),
    natsRow('request/reply p50', 'pingP50Us', ', us'),
    natsRow('request/reply p99', 'pingP99Us', ', us'),
    natsRow('burst, CPU ms per 1,000 messages (both nodes and nats-server)', 'burstCpuMs', '', 1),
    natsRow('request/reply, CPU ms per 1,000 round trips (both nodes and nats-server)', 'pingCpuMs', '', 1),
    '',
  ];
  const sameTable = [
    `| same node (${rounds} rounds) | Redis off | Redis on | ratio (median of rounds) |`,
    '|---|---|---|---|',
    same('burst, messages/s', 'messagesPerSecond'),
    same('request/reply p50, us', 'pingP50Us'),
    same('request/reply p99, us', 'pingP99Us'),
  ];
  const markdown = [...(onRedis ? redisTable : []), ...(onNats ? natsTable : []), ...(onRedis ? sameTable : [])].join('\n').trimEnd();
  return { rounds, relay, library, nats, sameNode, markdown };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const report = await benchNodes(Number(process.env.BENCH_ROUNDS ?? 3), { BENCH_BURST: process.env.BENCH_BURST ?? '50000' });
  console.log(report.markdown);
}
