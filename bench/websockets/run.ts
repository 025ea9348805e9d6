/**
 * WebSockets: (1) HTTP requests per second through the sticky primary against node:cluster's round
 * robin, at 50 keep-alive connections; (2) broadcast messages per second delivered to clients spread
 * over the workers, nestjs-cluster's socket.io adapter and sticky primary against
 * `@socket.io/cluster-adapter` + `@socket.io/sticky` wired by hand. Contenders run one after the other
 * in interleaved rounds, each started afresh; figures are medians over the rounds.
 */
import autocannon from 'autocannon';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { io, type Socket } from 'socket.io-client';
import { startGroup, type Group } from '../lib/group.js';
import { HOST } from '../lib/host.js';
import { freePort, getJson } from '../lib/http.js';
import { allFinite, median, ratios, ratioSpread, spread } from '../lib/stats.js';

const script = (name: string) => fileURLToPath(new URL(`./${name}.js`, import.meta.url));

export interface WebsocketsSettings {
  rounds: number;
  workers: number;
  httpDurationS: number;
  clients: number;
  messages: number;
  log?: (line: string) => void;
}

export interface WebsocketsReport {
  rounds: number;
  http: { roundRobin: number[]; sticky: number[] };
  broadcast: { library: number[]; socketIo: number[] };
  /** Broadcast messages that never arrived, per contender, over all rounds. */
  missing: { library: number; socketIo: number };
  markdown: string;
}

async function start(name: string, env: Record<string, string>, workers: number, readyLine: RegExp): Promise<{ group: Group; port: number }> {
  const port = await freePort();
  const group = startGroup(
    process.execPath,
    [script(name)],
    { PORT: String(port), CLUSTER_WORKERS: String(workers), BENCH_WORKERS: String(workers), ...env },
    120_000,
  );
  const deadline = performance.now() + 60_000;
  while (!readyLine.test(group.tail(400))) {
    if (group.exit()) throw new Error(`${name} exited before it was ready:\n${group.tail()}`);
    if (performance.now() > deadline) throw new Error(`${name} not ready within 60 s:\n${group.tail()}`);
    await sleep(50);
  }
  await getJson(port, '/', 5_000);
  return { group, port };
}

async function requestsPerSecond(port: number, durationS: number): Promise<number> {
  const result = await autocannon({ url: `http://${HOST}:${port}/`, connections: 50, duration: durationS });
  return result.requests.average;
}

function connect(port: number): Promise<Socket> {
  const socket = io(`http://${HOST}:${port}`, { transports: ['websocket'], forceNew: true, reconnection: false });
  return new Promise((resolve, reject) => {
    // A handshake that neither succeeds nor fails would hold the whole run until its deadline.
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`no socket.io connection to port ${port} within 10 s`));
    }, 10_000);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('connect_error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** Connections that did not complete within 10 s and were tried again, by contender: reported with each round. */
const retried = new Map<string, number>();

/**
 * A client connection, tried up to 3 times. On this 2-core machine, loaded by the run, a WebSocket
 * handshake very rarely never completes (the retries are logged per round, by contender);
 * one lost handshake should cost a retry, not the section.
 */
async function connectWithRetry(name: string, port: number, which: string): Promise<Socket> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await connect(port);
    } catch (error) {
      if (attempt === 3) throw new Error(`${name}, ${which}: ${(error as Error).message} (3 tries)`, { cause: error });
      retried.set(name, (retried.get(name) ?? 0) + 1);
    }
  }
}

/** A broadcast burst: messages delivered per second, and how many never arrived within the bound. */
interface BroadcastSample {
  rate: number;
  missing: number;
}

/** `messages` broadcasts from one worker to `clients` clients; what arrived within 10 s counts. */
async function broadcastRate(name: string, port: number, clients: number, messages: number): Promise<BroadcastSample> {
  const sockets: Socket[] = [];
  try {
    for (let i = 0; i < clients; i++) sockets.push(await connectWithRetry(name, port, `client ${i + 1} of ${clients}`));
    const timed = async (count: number): Promise<BroadcastSample> => {
      let pending = clients * count;
      let lastAt = performance.now();
      const done = new Promise<void>((resolve) => {
        for (const socket of sockets) {
          socket.off('m');
          socket.on('m', () => {
            lastAt = performance.now();
            if (--pending === 0) resolve();
          });
        }
      });
      const started = performance.now();
      sockets[0]!.emit('burst', count);
      await Promise.race([done, sleep(10_000)]);
      return { rate: (clients * count - pending) / ((lastAt - started) / 1_000), missing: pending };
    };
    await timed(Math.ceil(messages / 5)); // warm-up
    return await timed(messages);
  } finally {
    for (const socket of sockets) socket.close();
  }
}

export async function benchWebsockets({
  rounds,
  workers,
  httpDurationS,
  clients,
  messages,
  log = () => undefined,
}: WebsocketsSettings): Promise<WebsocketsReport> {
  const http = { roundRobin: [] as number[], sticky: [] as number[] };
  const broadcast = { library: [] as number[], socketIo: [] as number[] };
  const missing = { library: 0, socketIo: 0 };
  const note = (key: 'library' | 'socketIo', sample: BroadcastSample) => {
    broadcast[key].push(sample.rate);
    missing[key] += sample.missing;
  };
  const libraryReady = /cluster ready/;
  for (let round = 0; round < rounds; round++) {
    for (const [key, sticky] of [
      ['roundRobin', 'off'],
      ['sticky', 'sid'],
    ] as const) {
      const { group, port } = await start('library-app', { BENCH_STICKY: sticky }, workers, libraryReady);
      try {
        await requestsPerSecond(port, Math.max(0.5, httpDurationS / 3)); // warm-up
        http[key].push(await requestsPerSecond(port, httpDurationS));
        if (key === 'sticky') note('library', await broadcastRate('nestjs-cluster', port, clients, messages));
      } finally {
        await group.stop();
      }
    }
    const { group, port } = await start('socket-io-cluster', {}, workers, /READY/);
    try {
      note('socketIo', await broadcastRate('@socket.io/cluster-adapter + @socket.io/sticky', port, clients, messages));
    } finally {
      await group.stop();
    }
    log(
      `  round ${round + 1}/${rounds}: HTTP ${http.roundRobin.at(-1)!.toFixed(0)} vs ${http.sticky.at(-1)!.toFixed(0)} req/s; broadcast ${broadcast.library.at(-1)!.toFixed(0)} vs ${broadcast.socketIo.at(-1)!.toFixed(0)} msg/s` +
        (retried.size > 0 ? `; connections tried again so far: ${[...retried].map(([n, c]) => `${n} ${c}`).join(', ')}` : ''),
    );
  }
  const httpRatio = ratios(http.sticky, http.roundRobin);
  const broadcastRatio = ratios(broadcast.library, broadcast.socketIo);
  const markdown = [
    `${workers} workers, ${rounds} round(s); medians (min-max).`,
    '',
    '| | figure | ratio |',
    '|---|---|---|',
    `| HTTP req/s, node:cluster round robin (50 keep-alive connections) | ${spread(http.roundRobin)} | |`,
    `| HTTP req/s, sticky primary (\`sticky: 'sid'\`) | ${spread(http.sticky)} | ${ratioSpread(httpRatio)} of round robin |`,
    `| broadcast msg/s to ${clients} clients, nestjs-cluster (ClusterIoAdapter, sticky primary) | ${spread(broadcast.library)} | ${ratioSpread(broadcastRatio)} of the baseline |`,
    `| broadcast msg/s to ${clients} clients, @socket.io/cluster-adapter + @socket.io/sticky | ${spread(broadcast.socketIo)} | |`,
    '',
    `Broadcast messages that never arrived within 10 s (${clients} clients x ${messages} messages per round): nestjs-cluster ${missing.library}, @socket.io/cluster-adapter ${missing.socketIo}. A rate counts what arrived, up to the last arrival.`,
  ].join('\n');
  return { rounds, http, broadcast, missing, markdown };
}

export function websocketsComplete(report: WebsocketsReport): boolean {
  const all = [...report.http.roundRobin, ...report.http.sticky, ...report.broadcast.library, ...report.broadcast.socketIo];
  return all.length === report.rounds * 4 && allFinite(all) && median(all) > 0;
}
