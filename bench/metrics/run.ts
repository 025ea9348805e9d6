/**
 * Metrics of the whole node: nestjs-cluster's `/metrics` (per-worker and aggregate modes), served by a
 * worker, against prom-client's `AggregatorRegistry.clusterMetrics()` served by a plain node:cluster
 * primary, in interleaved rounds, with 5,000 series per worker on 2 and 4 workers. Each round starts each
 * contender afresh, warms it up, then times back-to-back scrapes and reads the CPU time its primary and
 * its workers spent on them from /proc.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { cpuDuring, cpuMsPerThousand } from '../lib/cpu-time.js';
import { startGroup, type Group } from '../lib/group.js';
import { HOST } from '../lib/host.js';
import { freePort } from '../lib/http.js';
import { groupMembers } from '../lib/procfs.js';
import { allFinite, median, ratios, ratioSpread, spread } from '../lib/stats.js';
import { SERIES_COUNT } from './series.js';

const script = (name: string) => fileURLToPath(new URL(`./${name}.js`, import.meta.url));

type ContenderName = 'aggregatorRegistry' | 'perWorker' | 'aggregate';
const CONTENDERS: Record<ContenderName, { name: string; script: string; env: Record<string, string>; ready: string }> = {
  aggregatorRegistry: { name: 'AggregatorRegistry.clusterMetrics() (primary)', script: script('aggregator-app'), env: {}, ready: '/ready' },
  perWorker: { name: 'nestjs-cluster per-worker', script: script('library-app'), env: { BENCH_MODE: 'per-worker' }, ready: '/metrics' },
  aggregate: { name: 'nestjs-cluster aggregate', script: script('library-app'), env: { BENCH_MODE: 'aggregate' }, ready: '/metrics' },
};
const NAMES = Object.keys(CONTENDERS) as ContenderName[];

/** One contender in one round: medians over its timed scrapes, CPU per scrape. */
export interface ScrapeSample {
  scrapeMs: number;
  primaryCpuMs: number;
  workersCpuMs: number;
  /** CPU of every process of the contender's group (primary, workers, any other) per 1,000 scrapes. */
  cpuPerThousandMs: number;
  bytes: number;
  series: number;
}

export interface MetricsReport {
  rounds: number;
  workers: number[];
  results: Record<number, Record<ContenderName, ScrapeSample[]>>;
  markdown: string;
}

export interface MetricsSettings {
  rounds: number;
  workerCounts: readonly number[];
  warmup: number;
  scrapes: number;
  log?: (line: string) => void;
}

function fetchText(port: number, path: string, timeoutMs = 10_000): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: HOST, port, path, agent: false, timeout: timeoutMs, headers: { connection: 'close' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** utime + stime of a process, in ms (USER_HZ is 100 on Linux). */
function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

async function waitReady(group: Group, port: number, path: string, workers: number): Promise<void> {
  const deadline = performance.now() + 60_000;
  while (performance.now() < deadline) {
    const exit = group.exit();
    if (exit) throw new Error(`exited (${exit.code ?? exit.signal}) before ready:\n${group.tail()}`);
    try {
      const { status, text } = await fetchText(port, path, 5_000);
      const up = (text.match(/^nestjs_cluster_scrape_up\{slot="\d+"\} 1$/gm) ?? []).length;
      if (status === 200 && (path === '/ready' || up === workers)) return;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  throw new Error(`not ready after 60 s:\n${group.tail()}`);
}

async function measure(contender: ContenderName, workers: number, settings: MetricsSettings): Promise<ScrapeSample> {
  const { script: path, env, ready } = CONTENDERS[contender];
  const port = await freePort();
  const group = startGroup(process.execPath, [path], { ...env, PORT: String(port), BENCH_WORKERS: String(workers) }, 300_000);
  try {
    await waitReady(group, port, ready, workers);
    for (let i = 0; i < settings.warmup; i++) await fetchText(port, '/metrics');
    const pids = groupMembers(group.pid);
    const before = new Map(pids.map((pid) => [pid, cpuMs(pid)]));
    const times: number[] = [];
    let last = '';
    const { cpuMs: groupCpu } = await cpuDuring([group.pid], async () => {
      for (let i = 0; i < settings.scrapes; i++) {
        const started = performance.now();
        const { status, text } = await fetchText(port, '/metrics');
        times.push(performance.now() - started);
        if (status !== 200) throw new Error(`${contender}: /metrics answered ${status}: ${text.slice(0, 200)}`);
        last = text;
      }
    });
    const spent = (pid: number) => cpuMs(pid) - before.get(pid)!;
    const workerPids = pids.filter((pid) => pid !== group.pid);
    return {
      scrapeMs: median(times),
      primaryCpuMs: spent(group.pid) / settings.scrapes,
      workersCpuMs: workerPids.reduce((sum, pid) => sum + spent(pid), 0) / settings.scrapes,
      cpuPerThousandMs: cpuMsPerThousand(groupCpu.get(group.pid)!, settings.scrapes),
      bytes: Buffer.byteLength(last),
      series: last.split('\n').filter((line) => line.startsWith('bench_')).length,
    };
  } finally {
    await group.stop();
  }
}

export async function benchMetrics(settings: MetricsSettings): Promise<MetricsReport> {
  const results: MetricsReport['results'] = {};
  for (const workers of settings.workerCounts) results[workers] = { aggregatorRegistry: [], perWorker: [], aggregate: [] };
  for (let round = 0; round < settings.rounds; round++) {
    for (const workers of settings.workerCounts) {
      // The order rotates each round, so that no contender always runs on a warmer or colder machine.
      const order = NAMES.map((_, i) => NAMES[(i + round) % NAMES.length]!);
      for (const name of order) {
        const sample = await measure(name, workers, settings);
        results[workers]![name].push(sample);
        settings.log?.(`  ${workers} workers, ${name}: ${sample.scrapeMs.toFixed(1)} ms`);
      }
    }
  }
  return { rounds: settings.rounds, workers: [...settings.workerCounts], results, markdown: markdown(settings, results) };
}

export function metricsComplete(report: MetricsReport): boolean {
  return report.workers.every((w) =>
    NAMES.every((name) => {
      const samples = report.results[w]![name];
      return samples.length === report.rounds && allFinite(samples.flatMap((s) => [s.scrapeMs, s.primaryCpuMs, s.workersCpuMs, s.cpuPerThousandMs]));
    }),
  );
}

/** BENCH_CHURN_MS (read by the apps' workers, see series.ts): whether values move between scrapes. */
function churn(): string {
  const ms = Number(process.env.BENCH_CHURN_MS ?? 0);
  return ms > 0
    ? `every one changing every ${ms} ms (BENCH_CHURN_MS)`
    : 'values unchanged between scrapes (BENCH_CHURN_MS=20 changes every series every 20 ms)';
}

function markdown(settings: MetricsSettings, results: MetricsReport['results']): string {
  const lines = [
    `${SERIES_COUNT.toLocaleString('en-US')} series per worker, ${churn()}; ${settings.rounds} rounds, each contender started afresh per round, ${settings.warmup} warm-up scrapes, then the median of ${settings.scrapes} back-to-back scrapes; CPU per scrape from /proc (10 ms ticks, averaged over the scrapes); CPU per 1,000 scrapes: every process of the contender (primary and workers), in s, with its ratio to AggregatorRegistry's in the same round.`,
    '',
    '| workers | contender | scrape, ms | primary CPU per scrape, ms | workers’ CPU per scrape, ms | CPU per 1,000 scrapes, all processes, s | CPU vs AggregatorRegistry | series in the answer | answer, KB | scrape time vs AggregatorRegistry (median of rounds) |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const [workers, byName] of Object.entries(results)) {
    for (const name of NAMES) {
      const samples = byName[name];
      const pick = (key: keyof ScrapeSample) => samples.map((s) => s[key]);
      const versus = (key: keyof ScrapeSample) =>
        name === 'aggregatorRegistry'
          ? ''
          : ratioSpread(
              ratios(
                pick(key),
                byName.aggregatorRegistry.map((s) => s[key]),
              ),
            );
      const ratio = versus('scrapeMs');
      const cpuSeconds = pick('cpuPerThousandMs').map((ms) => ms / 1000);
      lines.push(
        `| ${workers} | ${CONTENDERS[name].name} | ${spread(pick('scrapeMs'), 1)} | ${spread(pick('primaryCpuMs'), 1)} | ${spread(pick('workersCpuMs'), 1)} | ${spread(cpuSeconds, 1)} | ${versus('cpuPerThousandMs')} | ${median(pick('series'))} | ${(median(pick('bytes')) / 1024).toFixed(0)} | ${ratio} |`,
      );
    }
  }
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const quick = process.argv.includes('--quick');
  const report = await benchMetrics({
    rounds: Number(process.env.BENCH_ROUNDS ?? (quick ? 1 : 5)),
    workerCounts: [2, 4],
    warmup: quick ? 2 : 5,
    scrapes: quick ? 5 : 20,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  console.log(report.markdown);
  process.exit(0);
}
