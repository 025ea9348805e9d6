/**
 * WebSockets: (1) HTTP requests per second through the sticky primary against node:cluster's round
 * robin, at 50 keep-alive connections, with the CPU each spends per 1,000 requests; (2) broadcast
 * messages per second delivered to clients spread over the workers, nestjs-cluster's socket.io
 * adapter and sticky primary against `@socket.io/cluster-adapter` + `@socket.io/sticky` wired by hand.
 *
 * HTTP: both clusters run side by side (an idle one costs no CPU) and take turns under load in
 * interleaved rounds (A B, then B A, ...), a few seconds apart, so the machine's drift stays out of
 * the per-round ratios. Broadcast: each round starts both afresh, one after the other. Figures are
 * medians over the rounds.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { io, type Socket } from 'socket.io-client';
import { cpuMsPerThousand } from '../lib/cpu-time.js';
import { startGroup, type Group } from '../lib/group.js';
import { HOST } from '../lib/host.js';
import { freePort, getJson } from '../lib/http.js';
import { LoadGenerator } from '../lib/load.js';
import { OtherCpu } from '../lib/other-cpu.js';
import { groupMembers, processCpuMs } from '../lib/procfs.js';
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

/** One contender's HTTP figures, one per round. */
export interface HttpSamples {
  rps: number[];
  /** CPU ms per 1,000 requests of the whole cluster (primary and workers). */
  cpuPerK: number[];
  /** Of which the primary's. */
  primaryCpuPerK: number[];
  /** The busiest worker's share of the workers' CPU: 1 / workers when the connections are spread evenly. */
  busiestShare: number[];
}

export interface WebsocketsReport {
  rounds: number;
  http: { roundRobin: HttpSamples; sticky: HttpSamples };
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

const emptyHttp = (): HttpSamples => ({ rps: [], cpuPerK: [], primaryCpuPerK: [], busiestShare: [] });

/**
 * Loads the cluster of `group` (its leader is the primary) for `durationS` at 50 keep-alive
 * connections, and reads the CPU of each of its processes around the run.
 */
async function loadHttp(loader: LoadGenerator, group: Group, port: number, durationS: number, into?: HttpSamples): Promise<void> {
  const pids = groupMembers(group.pid);
  const before = pids.map(processCpuMs);
  const result = await loader.run({ url: `http://${HOST}:${port}/`, connections: 50, durationS, timeoutS: 10 });
  const spent = pids.map((pid, i) => processCpuMs(pid) - before[i]!);
  if (!into) return;
  const requests = result.total;
  const primaryMs = spent[pids.indexOf(group.pid)] ?? NaN;
  const workersMs = spent.filter((_, i) => pids[i] !== group.pid);
  const workersTotal = workersMs.reduce((a, b) => a + b, 0);
  into.rps.push(result.requestsPerSecond);
  into.cpuPerK.push(cpuMsPerThousand(primaryMs + workersTotal, requests));
  into.primaryCpuPerK.push(cpuMsPerThousand(primaryMs, requests));
  into.busiestShare.push(Math.max(...workersMs) / workersTotal);
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
  const http = { roundRobin: emptyHttp(), sticky: emptyHttp() };
  const broadcast = { library: [] as number[], socketIo: [] as number[] };
  const missing = { library: 0, socketIo: 0 };
  const note = (key: 'library' | 'socketIo', sample: BroadcastSample) => {
    broadcast[key].push(sample.rate);
    missing[key] += sample.missing;
  };
  const libraryReady = /cluster ready/;

  // HTTP: both up at once, in turns; each round waits (within a budget) for a second in which other
  // processes use under 10% of the cores, as the serving section does.
  const others = new OtherCpu();
  let quietBudgetMs = Math.min(60, 5 * rounds * httpDurationS) * 1_000;
  const loader = new LoadGenerator();
  const clusters = new Map<'roundRobin' | 'sticky', { group: Group; port: number }>();
  try {
    clusters.set('roundRobin', await start('library-app', { BENCH_STICKY: 'off', CLUSTER_DISTRIBUTION: 'node' }, workers, libraryReady));
    clusters.set('sticky', await start('library-app', { BENCH_STICKY: 'sid' }, workers, libraryReady));
    for (const { group, port } of clusters.values()) await loadHttp(loader, group, port, httpDurationS); // warm-up: JIT, heap growth
    for (let round = 0; round < rounds; round++) {
      const waited = quietBudgetMs > 0 ? await others.quiet(workers, 0.1, quietBudgetMs) : 0;
      quietBudgetMs -= waited;
      if (waited > 500) log(`  waited ${(waited / 1_000).toFixed(0)} s for other processes to go below 10% of the CPU`);
      const order = round % 2 === 0 ? (['roundRobin', 'sticky'] as const) : (['sticky', 'roundRobin'] as const);
      for (const key of order) {
        const { group, port } = clusters.get(key)!;
        await loadHttp(loader, group, port, httpDurationS, http[key]);
      }
      const line = (s: HttpSamples) =>
        `${s.rps.at(-1)!.toFixed(0)} req/s, ${s.cpuPerK.at(-1)!.toFixed(0)} CPU ms/1k (primary ${s.primaryCpuPerK.at(-1)!.toFixed(1)}), busiest worker ${(s.busiestShare.at(-1)! * 100).toFixed(0)}%`;
      log(`  http ${round + 1}/${rounds}: round robin ${line(http.roundRobin)}; sticky ${line(http.sticky)}`);
    }
  } finally {
    for (const { group } of clusters.values()) await group.stop();
    await loader.close();
  }

  // Broadcast: each contender started afresh every round.
  for (let round = 0; round < rounds; round++) {
    const library = await start('library-app', { BENCH_STICKY: 'sid' }, workers, libraryReady);
    try {
      note('library', await broadcastRate('nestjs-cluster', library.port, clients, messages));
    } finally {
      await library.group.stop();
    }
    const { group, port } = await start('socket-io-cluster', {}, workers, /READY/);
    try {
      note('socketIo', await broadcastRate('@socket.io/cluster-adapter + @socket.io/sticky', port, clients, messages));
    } finally {
      await group.stop();
    }
    log(
      `  broadcast ${round + 1}/${rounds}: ${broadcast.library.at(-1)!.toFixed(0)} vs ${broadcast.socketIo.at(-1)!.toFixed(0)} msg/s` +
        (retried.size > 0 ? `; connections tried again so far: ${[...retried].map(([n, c]) => `${n} ${c}`).join(', ')}` : ''),
    );
  }
  const { roundRobin, sticky } = http;
  const broadcastRatio = ratios(broadcast.library, broadcast.socketIo);
  const share = (s: HttpSamples) => spread(s.busiestShare.map((x) => x * 100));
  const markdown = [
    `${workers} workers, ${rounds} round(s); medians [min-max]. HTTP: both clusters run side by side and take turns under ` +
      `${httpDurationS} s of load from autocannon (50 keep-alive connections, in a process of its own), in interleaved rounds, ` +
      'each after a second in which other processes used under 10% of the cores (waits bounded for the whole section). ' +
      'CPU: ms of CPU (user + system, from /proc) of all the processes of the cluster, primary and workers, per 1,000 requests; ' +
      "the busiest worker's share of the workers' CPU tells how evenly the 50 connections were spread.",
    '',
    "| HTTP, GET /, 50 keep-alive connections | req/s | CPU ms per 1,000 requests | of which the primary | busiest worker, % of the workers' CPU |",
    '|---|---|---|---|---|',
    `| node:cluster round robin | ${spread(roundRobin.rps)} | ${spread(roundRobin.cpuPerK, 1)} | ${spread(roundRobin.primaryCpuPerK, 1)} | ${share(roundRobin)} |`,
    `| sticky primary (\`sticky: 'sid'\`) | ${spread(sticky.rps)} | ${spread(sticky.cpuPerK, 1)} | ${spread(sticky.primaryCpuPerK, 1)} | ${share(sticky)} |`,
    `| ratio sticky / round robin | ${ratioSpread(ratios(sticky.rps, roundRobin.rps))} | ${ratioSpread(ratios(sticky.cpuPerK, roundRobin.cpuPerK))} | | |`,
    '',
    '| broadcast | msg/s | ratio |',
    '|---|---|---|',
    `| ${clients} clients, nestjs-cluster (ClusterIoAdapter, sticky primary) | ${spread(broadcast.library)} | ${ratioSpread(broadcastRatio)} of the baseline |`,
    `| ${clients} clients, @socket.io/cluster-adapter + @socket.io/sticky | ${spread(broadcast.socketIo)} | |`,
    '',
    `Broadcast messages that never arrived within 10 s (${clients} clients x ${messages} messages per round): nestjs-cluster ${missing.library}, @socket.io/cluster-adapter ${missing.socketIo}. A rate counts what arrived, up to the last arrival.`,
  ].join('\n');
  return { rounds, http, broadcast, missing, markdown };
}

export function websocketsComplete(report: WebsocketsReport): boolean {
  const { roundRobin, sticky } = report.http;
  const series = [roundRobin.rps, roundRobin.cpuPerK, sticky.rps, sticky.cpuPerK, report.broadcast.library, report.broadcast.socketIo];
  return series.every((s) => s.length === report.rounds && allFinite(s) && median(s) > 0);
}
