/**
 * Serving the same app four ways, in two parts that each run in interleaved rounds (A B C D, then
 * B C D A, ...):
 *
 * - start and memory: every round starts each contender afresh, times spawn to all workers answering,
 *   reads resident memory at ready and after a short fixed load, and stops it;
 * - HTTP: all four run side by side (an idle contender costs no CPU) and take turns under load, a
 *   short run each. Throughput on a shared machine drifts over seconds; measuring the four within a
 *   few seconds of each other keeps that drift out of the per-round ratios, which restarting every
 *   contender between runs would not.
 */
import { contenders, startContender, type ContenderKey, type Running } from './lib/contenders.js';
import { HOST } from './lib/host.js';
import type { LoadGenerator, LoadResult } from './lib/load.js';
import { allFinite, differences, median, ratios, ratioSpread, spread } from './lib/stats.js';

export interface ServingOptions {
  workers: number;
  /** The contenders served, in this order in round 0 (the full run: all four, A B C D). */
  contenders: readonly ContenderKey[];
  connections: number;
  startup: {
    rounds: number;
    /** One unmeasured start of each contender first, so that no contender pays for a cold disk cache. */
    prime: boolean;
    /** The short load before the second memory reading: requests on GET / and on GET /cpu. */
    load: { root: number; cpu: number };
  };
  http: {
    rounds: number;
    /** Per contender, route and round. */
    durationS: number;
    /** Requests per route before the first round, discarded: JIT, connections, heap growth. */
    warmup: { root: number; cpu: number };
  };
  loader: LoadGenerator;
  /** Resolves once the machine is quiet enough to measure. */
  quiet: () => Promise<void>;
  log: (line: string) => void;
}

export type ServingSettings = Omit<ServingOptions, 'log' | 'loader' | 'quiet'>;

export interface Samples {
  // One per HTTP round.
  rootRps: number[];
  rootP99Ms: number[];
  cpuRps: number[];
  cpuP99Ms: number[];
  /** Errors and non-2xx answers. */
  failedRequests: number[];
  // One per start-and-memory round.
  readyMs: number[];
  /** At ready, before any request: the baseline, free of GC timing. */
  rssReadyPerWorkerMb: number[];
  /** After the short load. */
  rssPerWorkerMb: number[];
  /** Primary of B and C, PM2's daemon (pm2-runtime) for D; none for A. */
  rssPrimaryMb: number[];
}

export const KEYS: readonly ContenderKey[] = ['A', 'B', 'C', 'D'];
export const PAIRS = [
  ['C', 'B'],
  ['C', 'D'],
  ['C', 'A'],
  ['D', 'B'],
] as const satisfies readonly (readonly [ContenderKey, ContenderKey])[];

export interface ServingReport {
  settings: ServingSettings;
  samples: Record<ContenderKey, Samples>;
  markdown: string;
}

/** Round r starts with contender r mod n: A B C D, then B C D A, ... */
export function rotation(round: number, keys: readonly ContenderKey[] = KEYS): ContenderKey[] {
  const shift = round % keys.length;
  return [...keys.slice(shift), ...keys.slice(0, shift)];
}

/** The pairs of `PAIRS` whose two contenders are both served. */
const pairsOf = (keys: readonly ContenderKey[]) => PAIRS.filter(([a, b]) => keys.includes(a) && keys.includes(b));

const emptySamples = (): Samples => ({
  rootRps: [],
  rootP99Ms: [],
  cpuRps: [],
  cpuP99Ms: [],
  failedRequests: [],
  readyMs: [],
  rssReadyPerWorkerMb: [],
  rssPerWorkerMb: [],
  rssPrimaryMb: [],
});

const failed = (r: LoadResult) => r.errors + r.non2xx;

export async function benchServing(options: ServingOptions): Promise<ServingReport> {
  const { log, loader, quiet, ...settings } = options;
  const all = contenders(options.workers);
  const keys = options.contenders;
  const samples = Object.fromEntries(KEYS.map((k) => [k, emptySamples()])) as Record<ContenderKey, Samples>;
  const load = (running: Running, path: string, durationS: number, amount?: number) =>
    loader.run({ url: `http://${HOST}:${running.port}${path}`, connections: options.connections, durationS, amount, timeoutS: 10 });

  // Start and memory.
  const startupLifetimeMs = 120_000;
  const start = (key: ContenderKey, lifetimeMs: number) => startContender(all[key], options.workers, { lifetimeMs, readyTimeoutMs: 30_000 });
  if (options.startup.prime) {
    for (const key of keys) await (await start(key, startupLifetimeMs)).stop();
  }
  for (let round = 0; round < options.startup.rounds; round++) {
    await quiet();
    for (const key of rotation(round, keys)) {
      const running = await start(key, startupLifetimeMs);
      try {
        const atReady = running.memory();
        await load(running, '/', 60, options.startup.load.root);
        await load(running, '/cpu', 60, options.startup.load.cpu);
        const loaded = running.memory();
        const s = samples[key];
        s.readyMs.push(running.readyMs);
        s.rssReadyPerWorkerMb.push(atReady.perWorkerMb);
        s.rssPerWorkerMb.push(loaded.perWorkerMb);
        if (loaded.primaryMb !== null) s.rssPrimaryMb.push(loaded.primaryMb);
        log(
          `  start ${round + 1}/${options.startup.rounds} ${key}: ready ${running.readyMs.toFixed(0)} ms, ` +
            `${atReady.perWorkerMb.toFixed(1)} then ${loaded.perWorkerMb.toFixed(1)} MB/worker`,
        );
      } finally {
        await running.stop();
      }
    }
  }

  // HTTP: every contender up at once, in turns.
  const { http } = options;
  const httpLifetimeMs = 180_000 + http.rounds * keys.length * 2 * (http.durationS + 2) * 1_000;
  const running = new Map<ContenderKey, Running>();
  try {
    for (const key of keys) running.set(key, await start(key, httpLifetimeMs));
    for (const key of keys) {
      await load(running.get(key)!, '/', 60, http.warmup.root);
      await load(running.get(key)!, '/cpu', 60, http.warmup.cpu);
    }
    for (let round = 0; round < http.rounds; round++) {
      await quiet();
      const order = rotation(round, keys);
      const root = new Map<ContenderKey, LoadResult>();
      const cpu = new Map<ContenderKey, LoadResult>();
      for (const key of order) root.set(key, await load(running.get(key)!, '/', http.durationS));
      for (const key of order) cpu.set(key, await load(running.get(key)!, '/cpu', http.durationS));
      for (const key of keys) {
        const s = samples[key];
        const r = root.get(key)!;
        const c = cpu.get(key)!;
        s.rootRps.push(r.requestsPerSecond);
        s.rootP99Ms.push(r.p99Ms);
        s.cpuRps.push(c.requestsPerSecond);
        s.cpuP99Ms.push(c.p99Ms);
        s.failedRequests.push(failed(r) + failed(c));
      }
      log(
        `  http ${round + 1}/${http.rounds} ${order.join('')}: ` +
          keys.map((k) => `${k} ${root.get(k)!.requestsPerSecond.toFixed(0)}/${cpu.get(k)!.requestsPerSecond.toFixed(0)}`).join(', ') +
          ' req/s (GET / / GET /cpu)',
      );
    }
  } finally {
    for (const r of running.values()) await r.stop();
  }
  return { settings, samples, markdown: servingMarkdown(settings, samples) };
}

/** Every contender served has a finite figure for every round of both parts. */
export function servingComplete(report: ServingReport): boolean {
  const { startup, http } = report.settings;
  return report.settings.contenders.every((key) => {
    const s = report.samples[key];
    const httpSeries = [s.rootRps, s.rootP99Ms, s.cpuRps, s.cpuP99Ms, s.failedRequests];
    const startupSeries = [s.readyMs, s.rssReadyPerWorkerMb, s.rssPerWorkerMb];
    if (key !== 'A') startupSeries.push(s.rssPrimaryMb);
    return (
      httpSeries.every((v) => v.length === http.rounds && allFinite(v)) && startupSeries.every((v) => v.length === startup.rounds && allFinite(v))
    );
  });
}

export const signed = (n: number, decimals = 1) => `${n >= 0 ? '+' : ''}${n.toFixed(decimals)}`;
const range = (d: number[]) => `${signed(median(d))} [${signed(Math.min(...d))} to ${signed(Math.max(...d))}]`;

function servingMarkdown(settings: ServingSettings, samples: Record<ContenderKey, Samples>): string {
  const all = contenders(settings.workers);
  const label = (key: ContenderKey) => `${key}. ${all[key].name}`;
  const { startup, http } = settings;
  const keys = settings.contenders;
  const served = keys.length === KEYS.length ? 'The four contenders run' : `The contenders (${keys.join(', ')}) run`;
  const lines: string[] = [
    '### HTTP',
    '',
    `autocannon, ${settings.connections} keep-alive connections. ${served} side by side; after a warm-up of ` +
      `${http.warmup.root} requests on GET / and ${http.warmup.cpu} on GET /cpu each, every round loads each of them in turn ` +
      `for ${http.durationS} s on GET /, then on GET /cpu. ${http.rounds} rounds; median [min-max].`,
    '',
    '| contender | GET / req/s | GET / p99 ms | GET /cpu req/s | GET /cpu p99 ms | failed requests |',
    '|---|---|---|---|---|---|',
  ];
  for (const key of keys) {
    const s = samples[key];
    lines.push(
      `| ${label(key)} | ${spread(s.rootRps)} | ${spread(s.rootP99Ms)} | ${spread(s.cpuRps)} | ${spread(s.cpuP99Ms)} | ${s.failedRequests.reduce((a, b) => a + b, 0)} |`,
    );
  }
  lines.push(
    '',
    'Ratios: median of per-round ratios [min-max]; above 1 means the first contender serves more (req/s) or answers slower (p99).',
    '',
    '| ratio | GET / req/s | GET /cpu req/s | GET / p99 | GET /cpu p99 |',
    '|---|---|---|---|---|',
  );
  for (const [a, b] of pairsOf(keys)) {
    const x = samples[a];
    const y = samples[b];
    lines.push(
      `| ${a}/${b} | ${ratioSpread(ratios(x.rootRps, y.rootRps))} | ${ratioSpread(ratios(x.cpuRps, y.cpuRps))} | ` +
        `${ratioSpread(ratios(x.rootP99Ms, y.rootP99Ms))} | ${ratioSpread(ratios(x.cpuP99Ms, y.cpuP99Ms))} |`,
    );
  }
  lines.push(
    '',
    '### Start and memory',
    '',
    `Each round starts every contender alone and stops it again. Start to ready: spawn to the moment every worker has answered ` +
      `GET / (polled every 10 ms, a fresh connection each time, so the cluster's round robin reaches each worker). ` +
      `RSS: VmRSS from /proc/<pid>/status at ready, and after a short load of ${startup.load.root} requests on GET / and ` +
      `${startup.load.cpu} on GET /cpu (the same for every contender). ${startup.rounds} rounds; median [min-max].`,
    '',
    '| contender | start to ready ms | RSS per worker at ready MB | RSS per worker after the short load MB | RSS of primary / PM2 daemon MB | RSS total MB |',
    '|---|---|---|---|---|---|',
  );
  for (const key of keys) {
    const s = samples[key];
    const total = s.rssPerWorkerMb.map((w, i) => w * all[key].workers + (s.rssPrimaryMb[i] ?? 0));
    lines.push(
      `| ${label(key)} | ${spread(s.readyMs)} | ${spread(s.rssReadyPerWorkerMb, 1)} | ${spread(s.rssPerWorkerMb, 1)} | ` +
        `${key === 'A' ? 'none' : spread(s.rssPrimaryMb, 1)} | ${spread(total, 1)} |`,
    );
  }
  lines.push('', '| ratio | start to ready | RSS per worker difference MB, at ready | after the short load |', '|---|---|---|---|');
  for (const [a, b] of pairsOf(keys)) {
    const x = samples[a];
    const y = samples[b];
    lines.push(
      `| ${a}/${b} | ${ratioSpread(ratios(x.readyMs, y.readyMs))} | ${range(differences(x.rssReadyPerWorkerMb, y.rssReadyPerWorkerMb))} | ` +
        `${range(differences(x.rssPerWorkerMb, y.rssPerWorkerMb))} |`,
    );
  }
  return lines.join('\n');
}
