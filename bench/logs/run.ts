/**
 * What relaying the workers' output costs: requests per second on a route that logs one line per
 * request, with `logs: 'tagged'` (every line goes through the primary, cut into lines and tagged) and
 * with `logs: 'inherit'` (workers write straight to the same file). The `logs` section of
 * `npm run bench`; alone:
 *
 *   npm run build:bench && node bench/dist/logs/run.js [--rounds 8] [--seconds 3] [--connections 50] [--workers 2]
 *
 * Both clusters run side by side (an idle cluster costs no CPU) and take turns under the same load,
 * in interleaved rounds (tagged then inherit, then inherit then tagged, ...): the machine's drift over
 * seconds stays out of each round's ratio. Each cluster's stdout and stderr go to a file, as a
 * container runtime's would. Beside requests per second, which move with whatever else the machine
 * runs, the CPU each cluster spends per 1,000 requests (its primary and workers, from /proc), and its
 * primary's alone: the noise-proof measure of what relaying adds.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuDuring, cpuMsPerThousand } from '../lib/cpu-time.js';
import type { Group } from '../lib/group.js';
import { HOST } from '../lib/host.js';
import { freePort, waitForWorkers } from '../lib/http.js';
import { LoadGenerator } from '../lib/load.js';
import { groupMembers } from '../lib/procfs.js';
import { killGroup, trackGroup, untrackGroup } from '../lib/run-node.js';
import { allFinite, median, ratios, ratioSpread, spread } from '../lib/stats.js';

export const LOG_MODES = ['tagged', 'inherit'] as const;
export type LogMode = (typeof LOG_MODES)[number];

export interface LogsSettings {
  rounds: number;
  /** Of load, per cluster and round. */
  seconds: number;
  connections: number;
  workers: number;
  /** Of load on each cluster before the rounds, discarded. */
  warmupS: number;
  loader: LoadGenerator;
  quiet?: () => Promise<void>;
  log?: (line: string) => void;
}

export interface LogsSamples {
  rps: number[];
  /** CPU ms per 1,000 requests of the whole cluster (primary and workers). */
  cpuPerK: number[];
  /** CPU ms per 1,000 requests of the primary alone. */
  primaryCpuPerK: number[];
}

export interface LogsReport {
  rounds: number;
  seconds: number;
  connections: number;
  workers: number;
  samples: Record<LogMode, LogsSamples>;
  /** Requests served in the rounds, and the request lines found in each cluster's output (warm-up included). */
  requests: Record<LogMode, number>;
  loggedLines: Record<LogMode, number>;
  /** Tagged / inherit requests per second, per round. */
  ratios: number[];
  markdown: string;
}

interface Cluster {
  readonly mode: LogMode;
  readonly port: number;
  readonly group: Group;
  readonly output: string;
}

const app = fileURLToPath(new URL('./logging-app.js', import.meta.url));

/** One cluster, its output (stdout and stderr, as one file) to a file of `dir`. */
async function startCluster(mode: LogMode, workers: number, dir: string): Promise<Cluster> {
  const port = await freePort();
  const output = join(dir, `${mode}.log`);
  const fd = openSync(output, 'w');
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, [app], {
    env: { ...process.env, NO_COLOR: '1', PORT: String(port), BENCH_WORKERS: String(workers), CLUSTER_LOGS: mode, CLUSTER_CONTROL_SOCKET: 'off' },
    stdio: ['ignore', fd, fd],
    detached: true,
  });
  closeSync(fd);
  const pid = child.pid!;
  trackGroup(pid);
  let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  child.on('exit', (code, signal) => (exited = { code, signal }));
  const group: Group = {
    pid,
    spawnedAt,
    exit: () => exited,
    tail: (n = 30) => readFileSync(output, 'utf8').split('\n').slice(-n).join('\n'),
    async stop() {
      killGroup(pid);
      for (let i = 0; i < 200 && (exited === null || groupMembers(pid).length > 0); i++) {
        killGroup(pid);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      untrackGroup(pid);
    },
  };
  const cluster = { mode, port, group, output };
  try {
    await waitForWorkers(group, port, workers, 60_000);
  } catch (error) {
    await group.stop();
    throw error;
  }
  return cluster;
}

/** CPU ms this one process has spent so far (utime + stime, not its children). */
function ownCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

const countLines = (file: string, pattern: RegExp) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => pattern.test(l)).length;

export async function benchLogs({
  rounds,
  seconds,
  connections,
  workers,
  warmupS,
  loader,
  quiet = () => Promise.resolve(),
  log = () => undefined,
}: LogsSettings): Promise<LogsReport> {
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-cluster-logs-bench-'));
  const clusters: Cluster[] = [];
  const samples = Object.fromEntries(LOG_MODES.map((m) => [m, { rps: [], cpuPerK: [], primaryCpuPerK: [] }])) as unknown as Record<
    LogMode,
    LogsSamples
  >;
  const requests: Record<LogMode, number> = { tagged: 0, inherit: 0 };
  try {
    for (const mode of LOG_MODES) clusters.push(await startCluster(mode, workers, dir));
    const load = (c: Cluster, durationS: number) => loader.run({ url: `http://${HOST}:${c.port}/`, connections, durationS, timeoutS: 10 });
    // Warm-up, discarded: JIT, connections, heap growth.
    for (const c of clusters) await load(c, warmupS);
    for (let round = 0; round < rounds; round++) {
      await quiet();
      const order = round % 2 === 0 ? clusters : [...clusters].reverse();
      for (const c of order) {
        const primaryBefore = ownCpuMs(c.group.pid);
        const { result, cpuMs } = await cpuDuring([c.group.pid], () => load(c, seconds));
        if (result.errors > 0 || result.non2xx > 0) throw new Error(`${c.mode}: ${result.errors} errors, ${result.non2xx} non-2xx answers`);
        samples[c.mode].rps.push(result.requestsPerSecond);
        samples[c.mode].cpuPerK.push(cpuMsPerThousand(cpuMs.get(c.group.pid)!, result.total));
        samples[c.mode].primaryCpuPerK.push(cpuMsPerThousand(ownCpuMs(c.group.pid) - primaryBefore, result.total));
        requests[c.mode] += result.total;
      }
      log(
        `  logs ${round + 1}/${rounds}: tagged ${samples.tagged.rps.at(-1)!.toFixed(0)} req/s, inherit ${samples.inherit.rps.at(-1)!.toFixed(0)} req/s`,
      );
    }
    // Every request logged its line, and the tagged one went through the primary with its tag.
    const loggedLines = {
      tagged: countLines(clusters[0]!.output, /^\[w\d+\] .*GET \/ 200 request \d+/),
      inherit: countLines(clusters[1]!.output, /^\[Nest\] .*GET \/ 200 request \d+/),
    };
    const perRound = ratios(samples.tagged.rps, samples.inherit.rps);
    const report = { rounds, seconds, connections, workers, samples, requests, loggedLines, ratios: perRound };
    return { ...report, markdown: logsMarkdown(report) };
  } finally {
    for (const c of clusters) await c.group.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function logsMarkdown({
  rounds,
  seconds,
  connections,
  workers,
  samples: s,
  requests,
  loggedLines,
  ratios: perRound,
}: Omit<LogsReport, 'markdown'>): string {
  return [
    `${workers} workers, a route that logs one line per request through Nest's \`Logger\`, ${connections} keep-alive connections, ${rounds} interleaved round(s) of ${seconds} s; ` +
      "both clusters' output to a file; medians [min-max].",
    '',
    "| | `logs: 'tagged'` | `logs: 'inherit'` | tagged / inherit, per round |",
    '|---|---|---|---|',
    `| requests/s | ${spread(s.tagged.rps)} | ${spread(s.inherit.rps)} | ${ratioSpread(perRound, 3)} (cost ${((1 - median(perRound)) * 100).toFixed(1)}%) |`,
    `| CPU ms per 1,000 requests, cluster | ${spread(s.tagged.cpuPerK, 1)} | ${spread(s.inherit.cpuPerK, 1)} | ${ratioSpread(ratios(s.tagged.cpuPerK, s.inherit.cpuPerK), 3)} |`,
    `| CPU ms per 1,000 requests, primary | ${spread(s.tagged.primaryCpuPerK, 1)} | ${spread(s.inherit.primaryCpuPerK, 1)} | |`,
    `| request lines in the output (warm-up included) / requests of the rounds | ${loggedLines.tagged} / ${requests.tagged} | ${loggedLines.inherit} / ${requests.inherit} | |`,
  ].join('\n');
}

export function logsComplete(report: LogsReport): boolean {
  return LOG_MODES.every(
    (m) => report.samples[m].rps.length === report.rounds && allFinite(report.samples[m].rps) && median(report.samples[m].rps) > 0,
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const option = (flag: string, fallback: number): number => {
    const i = process.argv.indexOf(flag);
    const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
    if (!(Number.isFinite(value) && value > 0)) throw new Error(`${flag}: expected a number > 0`);
    return value;
  };
  const loader = new LoadGenerator();
  try {
    const report = await benchLogs({
      rounds: option('--rounds', 8),
      seconds: option('--seconds', 3),
      connections: option('--connections', 50),
      workers: option('--workers', 2),
      warmupS: 2,
      loader,
      log: (line) => process.stdout.write(`${line}\n`),
    });
    const { markdown, ...figures } = report;
    process.stdout.write(`${markdown}\nRESULT ${JSON.stringify({ ...figures, ratio: median(report.ratios) })}\n`);
  } finally {
    await loader.close();
  }
  process.exit(0);
}
