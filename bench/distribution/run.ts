/**
 * Connection distribution: the same nestjs-cluster app (contender C, the sample) three ways, side by
 * side, taking turns under keep-alive load on GET / and GET /cpu in interleaved rounds (A B C, then
 * B C A, ...):
 * - `distribution: 'primary'` (the default): the primary listens and hands each connection, keeping
 *   it until the worker took it;
 * - `distribution: 'node'`: node:cluster's round robin;
 * - `distribution: 'node'` with `NODE_CLUSTER_SCHED_POLICY=none`: the workers accept from the shared
 *   socket, as the kernel wakes them;
 * - `distribution: 'node'` with a `listen` hook that listens with `reusePort: true` (Node >= 22.12,
 *   Linux): each worker binds a socket of its own and the kernel deals the connections among them;
 *   once as the machine is (`net.ipv4.tcp_migrate_req` as found, 0 by default), once with
 *   `tcp_migrate_req=1` set for its turns (and set back after each).
 * Figures are medians over the rounds; ratios are taken within a round. Then each cluster loses a
 * worker to SIGKILL a few times, with a burst of new connections at each kill (the crash part of the
 * availability section, `sigkills`): how many hung, how many failed (reset, refused).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BURST, sigkills, type KillFates } from '../availability.js';
import { cpuDuring, cpuMsPerThousand } from '../lib/cpu-time.js';
import { startGroup, type Group } from '../lib/group.js';
import { HOST } from '../lib/host.js';
import { freePort, waitForWorkers } from '../lib/http.js';
import type { LoadGenerator } from '../lib/load.js';
import { allFinite, median, ratios, ratioSpread, spread } from '../lib/stats.js';

export const DISTRIBUTIONS = ['primary', 'roundRobin', 'schedNone', 'reusePort', 'reusePortMigrate'] as const;
export type Distribution = (typeof DISTRIBUTIONS)[number];

const ENV: Record<Distribution, Record<string, string>> = {
  primary: { CLUSTER_DISTRIBUTION: 'primary' },
  roundRobin: { CLUSTER_DISTRIBUTION: 'node', NODE_CLUSTER_SCHED_POLICY: 'rr' },
  schedNone: { CLUSTER_DISTRIBUTION: 'node', NODE_CLUSTER_SCHED_POLICY: 'none' },
  reusePort: { CLUSTER_DISTRIBUTION: 'node', BENCH_REUSE_PORT: '1' },
  reusePortMigrate: { CLUSTER_DISTRIBUTION: 'node', BENCH_REUSE_PORT: '1' },
};
const LABEL: Record<Distribution, string> = {
  primary: "`distribution: 'primary'` (default)",
  roundRobin: "`distribution: 'node'`, node:cluster's round robin",
  schedNone: "`distribution: 'node'`, `SCHED_NONE`",
  reusePort: "`distribution: 'node'`, workers listen with `reusePort: true`",
  reusePortMigrate: "`distribution: 'node'`, workers listen with `reusePort: true`, `net.ipv4.tcp_migrate_req=1`",
};

const MIGRATE_REQ = '/proc/sys/net/ipv4/tcp_migrate_req';

/** Why `d` cannot be measured here, or null if it can. */
export function unmeasurable(d: Distribution): string | null {
  if (d !== 'reusePort' && d !== 'reusePortMigrate') return null;
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  if (process.platform !== 'linux') return `not measured: Linux only here (this is ${process.platform})`;
  if (!(major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12))) {
    return `not measured: needs Node >= 22.12 (this is ${process.version})`;
  }
  if (d === 'reusePortMigrate') {
    try {
      writeFileSync(MIGRATE_REQ, readFileSync(MIGRATE_REQ, 'utf8'));
    } catch {
      return `not measured: needs to set net.ipv4.tcp_migrate_req (root)`;
    }
  }
  return null;
}

/** Runs `fn` with `net.ipv4.tcp_migrate_req` set to 1 when `d` asks for it, and sets back the value found. */
async function withMigrateReq<T>(d: Distribution, fn: () => Promise<T>): Promise<T> {
  if (d !== 'reusePortMigrate') return fn();
  const found = readFileSync(MIGRATE_REQ, 'utf8');
  writeFileSync(MIGRATE_REQ, '1');
  try {
    return await fn();
  } finally {
    writeFileSync(MIGRATE_REQ, found);
  }
}

export interface DistributionSettings {
  rounds: number;
  workers: number;
  /** Per distribution, route and round. */
  durationS: number;
  connections: number;
  /** SIGKILLs of a worker per cluster, after the rounds. */
  kills: number;
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
  /** The SIGKILLs after the rounds. */
  kills: KillFates;
}

export interface DistributionReport {
  rounds: number;
  /** What ran; the others' samples stay empty. */
  measured: readonly Distribution[];
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
  kills,
  loader,
  quiet,
  log = () => undefined,
}: DistributionSettings): Promise<DistributionReport> {
  const samples = Object.fromEntries(
    DISTRIBUTIONS.map((d) => [d, { rootRps: [], cpuRps: [], rootCpuPerK: [], failed: [], kills: { ms: [], hung: [], failed: [] } }]),
  ) as unknown as Record<Distribution, DistributionSamples>;
  const measured = DISTRIBUTIONS.filter((d) => unmeasurable(d) === null);
  const lifetimeMs = 180_000 + rounds * measured.length * 2 * (durationS + 2) * 1_000;
  const clusters = new Map<Distribution, { group: Group; port: number }>();
  const load = (d: Distribution, path: string, seconds: number) =>
    withMigrateReq(d, () => loader.run({ url: `http://${HOST}:${clusters.get(d)!.port}${path}`, connections, durationS: seconds, timeoutS: 10 }));
  try {
    for (const d of measured) clusters.set(d, await start(d, workers, lifetimeMs));
    for (const d of measured) {
      await load(d, '/', 2); // warm-up: JIT, connections, heap growth
      await load(d, '/cpu', 1);
    }
    for (let round = 0; round < rounds; round++) {
      await quiet();
      const order = measured.map((_, i) => measured[(i + round) % measured.length]!);
      const failed = new Map<Distribution, number>(measured.map((d) => [d, 0]));
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
      for (const d of measured) samples[d].failed.push(failed.get(d)!);
      log(
        `  distribution ${round + 1}/${rounds}: ` +
          measured.map((d) => `${d} ${samples[d].rootRps.at(-1)!.toFixed(0)}/${samples[d].cpuRps.at(-1)!.toFixed(0)}`).join(', ') +
          ' req/s (GET / / GET /cpu)',
      );
    }
    for (const d of measured) {
      const { group, port } = clusters.get(d)!;
      const { workerPids } = await waitForWorkers(group, port, workers, 60_000);
      const fates = await withMigrateReq(d, () => sigkills({ name: d, group, port, workers, workerPids }, kills));
      samples[d].kills = fates;
      log(`  distribution ${d}: ${kills} SIGKILLs, hung ${fates.hung.join(', ')}, failed ${fates.failed.join(', ')} of ${BURST}`);
    }
  } finally {
    for (const { group } of clusters.values()) await group.stop();
  }
  return { rounds, measured, samples, markdown: distributionMarkdown(rounds, workers, durationS, connections, kills, samples) };
}

function distributionMarkdown(
  rounds: number,
  workers: number,
  durationS: number,
  connections: number,
  kills: number,
  s: Record<Distribution, DistributionSamples>,
): string {
  const total = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);
  const row = (d: Distribution) => {
    const why = unmeasurable(d);
    if (why !== null) return `| ${LABEL[d]} | ${why} | | | | | |`;
    const fates = s[d].kills;
    return (
      `| ${LABEL[d]} | ${spread(s[d].rootRps)} | ${spread(s[d].cpuRps)} | ${spread(s[d].rootCpuPerK, 1)} | ${total(s[d].failed)} | ` +
      `${spread(fates.hung)} (${total(fates.hung)} of ${fates.hung.length * BURST}) | ${spread(fates.failed)} (${total(fates.failed)} of ${fates.failed.length * BURST}) |`
    );
  };
  const NAME: Record<Distribution, string> = {
    primary: "'primary'",
    roundRobin: 'round robin',
    schedNone: 'SCHED_NONE',
    reusePort: 'reusePort',
    reusePortMigrate: 'reusePort + tcp_migrate_req=1',
  };
  const vs = (a: Distribution, b: Distribution) =>
    unmeasurable(a) === null && unmeasurable(b) === null
      ? [
          `| ratio ${NAME[a]} / ${NAME[b]} | ${ratioSpread(ratios(s[a].rootRps, s[b].rootRps), 3)} | ${ratioSpread(ratios(s[a].cpuRps, s[b].cpuRps), 3)} | ` +
            `${ratioSpread(ratios(s[a].rootCpuPerK, s[b].rootCpuPerK), 3)} | | | |`,
        ]
      : [];
  return [
    `${workers} workers, ${rounds} round(s) of ${durationS} s per route, ${connections} keep-alive connections (autocannon, in a process of its own); ` +
      'the clusters run side by side and take turns in interleaved rounds; medians [min-max]. ' +
      `Then ${kills} SIGKILL(s) of a worker per cluster, each once every slot answers again, with ${BURST} new connections opened in the 50 ms after ` +
      'each (as in the availability section): hung = neither an answer nor an error within 1 s; failed = reset, refused or non-2xx. ' +
      'Per SIGKILL, median [min-max] (total).',
    '',
    '| distribution | GET / req/s | GET /cpu req/s | CPU ms per 1,000 requests, GET / | failed requests | new connections hung per SIGKILL | failed per SIGKILL |',
    '|---|---|---|---|---|---|---|',
    ...DISTRIBUTIONS.map(row),
    ...vs('primary', 'roundRobin'),
    ...vs('primary', 'schedNone'),
    ...vs('reusePort', 'roundRobin'),
    ...vs('reusePort', 'primary'),
    ...vs('reusePortMigrate', 'roundRobin'),
  ].join('\n');
}

export function distributionComplete(report: DistributionReport): boolean {
  return report.measured.every((d) => {
    const { rootRps, cpuRps, kills } = report.samples[d];
    return (
      rootRps.length === report.rounds &&
      cpuRps.length === report.rounds &&
      allFinite([...rootRps, ...cpuRps]) &&
      median(rootRps) > 0 &&
      allFinite([...kills.hung, ...kills.failed])
    );
  });
}
