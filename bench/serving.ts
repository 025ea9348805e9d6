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
import { cpuDuring, cpuMsPerThousand } from './lib/cpu-time.js';
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
  /** CPU ms per 1,000 requests of the contender's whole process group (primary or PM2 daemon included). */
  rootCpuPerK: number[];
  cpuCpuPerK: number[];
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
  rootCpuPerK: [],
  cpuCpuPerK: [],
  failedRequests: [],
  readyMs: [],
  rssReadyPerWorkerMb: [],
  rssPerWorkerMb: [],
  rssPrimaryMb: [],
});

const failed = (r: LoadResult) => r.errors + r.non2xx;

/** A load run with the CPU the contender's process group spent during it, per 1,000 requests. */
interface Measured {
  result: LoadResult;
  cpuPerK: number;
}

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
      const root = new Map<ContenderKey, Measured>();
      const cpu = new Map<ContenderKey, Measured>();
      const measured = async (key: ContenderKey, path: string): Promise<Measured> => {
        const r = running.get(key)!;
        const { result, cpuMs } = await cpuDuring([r.group.pid], () => load(r, path, http.durationS));
        return { result, cpuPerK: cpuMsPerThousand(cpuMs.get(r.group.pid)!, result.total) };
      };
      for (const key of order) root.set(key, await measured(key, '/'));
      for (const key of order) cpu.set(key, await measured(key, '/cpu'));
      for (const key of keys) {
        const s = samples[key];
        const r = root.get(key)!;
        const c = cpu.get(key)!;
        s.rootRps.push(r.result.requestsPerSecond);
        s.rootP99Ms.push(r.result.p99Ms);
        s.cpuRps.push(c.result.requestsPerSecond);
        s.cpuP99Ms.push(c.result.p99Ms);
        s.rootCpuPerK.push(r.cpuPerK);
        s.cpuCpuPerK.push(c.cpuPerK);
        s.failedRequests.push(failed(r.result) + failed(c.result));
      }
      log(
        `  http ${round + 1}/${http.rounds} ${order.join('')}: ` +
          keys
            .map((k) => {
              const [r, c] = [root.get(k)!, cpu.get(k)!];
              return `${k} ${r.result.requestsPerSecond.toFixed(0)}/${c.result.requestsPerSecond.toFixed(0)} req/s, ${r.cpuPerK.toFixed(0)}/${c.cpuPerK.toFixed(0)} CPU ms/1k`;
            })
            .join(', ') +
          ' (GET / / GET /cpu)',
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
    const httpSeries = [s.rootRps, s.rootP99Ms, s.cpuRps, s.cpuP99Ms, s.rootCpuPerK, s.cpuCpuPerK, s.failedRequests];
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
      `for ${http.durationS} s on GET /, then on GET /cpu. ${http.rounds} rounds; median [min-max]. CPU ms per 1,000 requests: ` +
      'user + system CPU (from /proc) of every process of the contender (workers, and its primary or PM2 daemon) during its ' +
      'run, per 1,000 requests answered; the load generator is not counted. Less sensitive than req/s to what else runs on the machine.',
    '',
    '| contender | GET / req/s | GET / p99 ms | GET / CPU ms per 1,000 | GET /cpu req/s | GET /cpu p99 ms | GET /cpu CPU ms per 1,000 | failed requests |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const key of keys) {
    const s = samples[key];
    lines.push(
      `| ${label(key)} | ${spread(s.rootRps)} | ${spread(s.rootP99Ms)} | ${spread(s.rootCpuPerK)} | ${spread(s.cpuRps)} | ${spread(s.cpuP99Ms)} | ` +
        `${spread(s.cpuCpuPerK)} | ${s.failedRequests.reduce((a, b) => a + b, 0)} |`,
    );
  }
  lines.push(
    '',
    'Ratios: median of per-round ratios [min-max]; above 1 means the first contender serves more (req/s), answers slower (p99) or spends more CPU per request.',
    '',
    '| ratio | GET / req/s | GET /cpu req/s | GET / p99 | GET /cpu p99 | GET / CPU per 1,000 | GET /cpu CPU per 1,000 |',
    '|---|---|---|---|---|---|---|',
  );
  for (const [a, b] of pairsOf(keys)) {
    const x = samples[a];
    const y = samples[b];
    lines.push(
      `| ${a}/${b} | ${ratioSpread(ratios(x.rootRps, y.rootRps))} | ${ratioSpread(ratios(x.cpuRps, y.cpuRps))} | ` +
        `${ratioSpread(ratios(x.rootP99Ms, y.rootP99Ms))} | ${ratioSpread(ratios(x.cpuP99Ms, y.cpuP99Ms))} | ` +
        `${ratioSpread(ratios(x.rootCpuPerK, y.rootCpuPerK))} | ${ratioSpread(ratios(x.cpuCpuPerK, y.cpuCpuPerK))} |`,
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
