/**
 * Connection distribution: the same nestjs-cluster app (contender C, the sample) three ways, side by
 * side, taking turns under keep-alive load on GET / and GET /cpu in interleaved rounds (A B C, then
 * B C A, ...):
 * - `distribution: 'primary'` (the default): the primary listens and hands each connection, keeping
 *   it until the worker took it;
 * - `distribution: 'node'`: node:cluster's round robin;
 * - `distribution: 'node'` with `NODE_CLUSTER_SCHED_POLICY=none`: the workers accept from the shared
 *   socket, as the kernel wakes them.
 * Figures are medians over the rounds; ratios are taken within a round.
 */
import { fileURLToPath } from 'node:url';
import { cpuDuring, cpuMsPerThousand } from '../lib/cpu-time.js';
import { startGroup, type Group } from '../lib/group.js';
import { HOST } from '../lib/host.js';
import { freePort, waitForWorkers } from '../lib/http.js';
import type { LoadGenerator } from '../lib/load.js';
import { allFinite, median, ratios, ratioSpread, spread } from '../lib/stats.js';

export const DISTRIBUTIONS = ['primary', 'roundRobin', 'schedNone'] as const;
export type Distribution = (typeof DISTRIBUTIONS)[number];

const ENV: Record<Distribution, Record<string, string>> = {
  primary: { CLUSTER_DISTRIBUTION: 'primary' },
  roundRobin: { CLUSTER_DISTRIBUTION: 'node', NODE_CLUSTER_SCHED_POLICY: 'rr' },
  schedNone: { CLUSTER_DISTRIBUTION: 'node', NODE_CLUSTER_SCHED_POLICY: 'none' },
};
const LABEL: Record<Distribution, string> = {
  primary: "`distribution: 'primary'` (default)",
  roundRobin: "`distribution: 'node'`, node:cluster's round robin",
  schedNone: "`distribution: 'node'`, `SCHED_NONE`",
};

export interface DistributionSettings {
  rounds: number;
  workers: number;
  /** Per distribution, route and round. */
  durationS: number;
  connections: number;
  loader: LoadGenerator;
  quiet: () => Promise<void>;
  log?: (line: string) => void;
}

export interface DistributionSamples {
  rootRps: number[];
  cpuRps: number[];
  /** CPU ms per 1,000 requests of the whole cluster, GET /. */
  rootCpuPerK: number[];
  /** Errors and non-2xx answers, both routes. */
  failed: number[];
}

export interface DistributionReport {
  rounds: number;
  samples: Record<Distribution, DistributionSamples>;
  markdown: string;
}

const script = fileURLToPath(new URL('../contenders/library.js', import.meta.url));

async function start(distribution: Distribution, workers: number, lifetimeMs: number): Promise<{ group: Group; port: number }> {
  const port = await freePort();
  const group = startGroup(process.execPath, [script], { PORT: String(port), BENCH_WORKERS: String(workers), ...ENV[distribution] }, lifetimeMs);
  try {
    await waitForWorkers(group, port, workers, 60_000);
  } catch (error) {
    await group.stop();
    throw error;
  }
  return { group, port };
}

export async function benchDistribution({
  rounds,
  workers,
  durationS,
  connections,
  loader,
  quiet,
  log = () => undefined,
}: DistributionSettings): Promise<DistributionReport> {
  const samples = Object.fromEntries(DISTRIBUTIONS.map((d) => [d, { rootRps: [], cpuRps: [], rootCpuPerK: [], failed: [] }])) as unknown as Record<
    Distribution,
    DistributionSamples
  >;
  const lifetimeMs = 120_000 + rounds * DISTRIBUTIONS.length * 2 * (durationS + 2) * 1_000;
  const clusters = new Map<Distribution, { group: Group; port: number }>();
  const load = (d: Distribution, path: string, seconds: number) =>
    loader.run({ url: `http://${HOST}:${clusters.get(d)!.port}${path}`, connections, durationS: seconds, timeoutS: 10 });
  try {
    for (const d of DISTRIBUTIONS) clusters.set(d, await start(d, workers, lifetimeMs));
    for (const d of DISTRIBUTIONS) {
      await load(d, '/', 2); // warm-up: JIT, connections, heap growth
      await load(d, '/cpu', 1);
    }
    for (let round = 0; round < rounds; round++) {
      await quiet();
      const order = DISTRIBUTIONS.map((_, i) => DISTRIBUTIONS[(i + round) % DISTRIBUTIONS.length]!);
      const failed = new Map<Distribution, number>(DISTRIBUTIONS.map((d) => [d, 0]));
      for (const d of order) {
        const { group } = clusters.get(d)!;
        const { result, cpuMs } = await cpuDuring([group.pid], () => load(d, '/', durationS));
        samples[d].rootRps.push(result.requestsPerSecond);
        samples[d].rootCpuPerK.push(cpuMsPerThousand(cpuMs.get(group.pid)!, result.total));
        failed.set(d, failed.get(d)! + result.errors + result.non2xx);
      }
      for (const d of order) {
        const result = await load(d, '/cpu', durationS);
        samples[d].cpuRps.push(result.requestsPerSecond);
        failed.set(d, failed.get(d)! + result.errors + result.non2xx);
      }
      for (const d of DISTRIBUTIONS) samples[d].failed.push(failed.get(d)!);
      log(
        `  distribution ${round + 1}/${rounds}: ` +
          DISTRIBUTIONS.map((d) => `${d} ${samples[d].rootRps.at(-1)!.toFixed(0)}/${samples[d].cpuRps.at(-1)!.toFixed(0)}`).join(', ') +
          ' req/s (GET / / GET /cpu)',
      );
    }
  } finally {
    for (const { group } of clusters.values()) await group.stop();
  }
  return { rounds, samples, markdown: distributionMarkdown(rounds, workers, durationS, connections, samples) };
}

function distributionMarkdown(
  rounds: number,
  workers: number,
  durationS: number,
  connections: number,
  s: Record<Distribution, DistributionSamples>,
): string {
  const row = (d: Distribution) =>
    `| ${LABEL[d]} | ${spread(s[d].rootRps)} | ${spread(s[d].cpuRps)} | ${spread(s[d].rootCpuPerK, 1)} | ${s[d].failed.reduce((a, b) => a + b, 0)} |`;
  const vs = (d: Distribution) =>
    `| ratio 'primary' / ${d === 'roundRobin' ? 'round robin' : 'SCHED_NONE'} | ${ratioSpread(ratios(s.primary.rootRps, s[d].rootRps), 3)} | ${ratioSpread(ratios(s.primary.cpuRps, s[d].cpuRps), 3)} | ${ratioSpread(ratios(s.primary.rootCpuPerK, s[d].rootCpuPerK), 3)} | |`;
  return [
    `${workers} workers, ${rounds} round(s) of ${durationS} s per route, ${connections} keep-alive connections (autocannon, in a process of its own); ` +
      'the three clusters run side by side and take turns in interleaved rounds; medians [min-max].',
    '',
    '| distribution | GET / req/s | GET /cpu req/s | CPU ms per 1,000 requests, GET / | failed requests |',
    '|---|---|---|---|---|',
    ...DISTRIBUTIONS.map(row),
    vs('roundRobin'),
    vs('schedNone'),
  ].join('\n');
}

export function distributionComplete(report: DistributionReport): boolean {
  return DISTRIBUTIONS.every((d) => {
    const { rootRps, cpuRps } = report.samples[d];
    return rootRps.length === report.rounds && cpuRps.length === report.rounds && allFinite([...rootRps, ...cpuRps]) && median(rootRps) > 0;
  });
}
