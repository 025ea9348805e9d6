/**
 * What relaying the workers' output costs: requests per second on a route that logs one line per
 * request, with `logs: 'tagged'` (every line goes through the primary, cut into lines and tagged) and
 * with `logs: 'inherit'` (workers write straight to the same file).
 *
 *   npm run build:bench && node bench/dist/logs/run.js [--rounds 8] [--seconds 3] [--connections 50]
 *
 * Both clusters run side by side (an idle cluster costs no CPU) and take turns under the same load,
 * in interleaved rounds (tagged then inherit, then inherit then tagged, ...): the machine's drift over
 * seconds stays out of each round's ratio. Each cluster's stdout and stderr go to a file, as a
 * container runtime's would. Beside requests per second, which move with whatever else the machine
 * runs, the CPU each cluster spends per 1,000 requests (its primary and workers, from /proc), and its
 * primary's alone: the noise-proof measure of what relaying adds. Prints a summary and one
 * `RESULT {json}` line.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { cpuDuring, cpuMsPerThousand } from '../lib/cpu-time.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitForWorkers } from '../lib/http.js';
import type { Group } from '../lib/group.js';
import { HOST } from '../lib/host.js';
import { LoadGenerator } from '../lib/load.js';
import { groupMembers } from '../lib/procfs.js';
import { killGroup, trackGroup, untrackGroup } from '../lib/run-node.js';
import { median, ratios, ratioSpread, spread } from '../lib/stats.js';

type Mode = 'tagged' | 'inherit';
const MODES: readonly Mode[] = ['tagged', 'inherit'];

function option(flag: string, fallback: number): number {
  const i = process.argv.indexOf(flag);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!(Number.isFinite(value) && value > 0)) throw new Error(`${flag}: expected a number > 0`);
  return value;
}

const rounds = option('--rounds', 8);
const seconds = option('--seconds', 3);
const connections = option('--connections', 50);
const workers = option('--workers', 2);
const app = fileURLToPath(new URL('./logging-app.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'nestjs-cluster-logs-bench-'));

interface Cluster {
  readonly mode: Mode;
  readonly port: number;
  readonly group: Group;
  readonly output: string;
}

/** One cluster, its output (stdout and stderr, as one file) to a file of `dir`. */
async function startCluster(mode: Mode): Promise<Cluster> {
  const port = await freePort();
  const output = join(dir, `${mode}.log`);
  const fd = openSync(output, 'w');
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, [app], {
    env: { ...process.env, NO_COLOR: '1', PORT: String(port), BENCH_WORKERS: String(workers), CLUSTER_LOGS: mode },
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
  await waitForWorkers(group, port, workers, 60_000);
  return { mode, port, group, output };
}

/** CPU ms this one process has spent so far (utime + stime, not its children). */
function ownCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

const lines = (file: string, pattern: RegExp) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => pattern.test(l)).length;

const loader = new LoadGenerator();
const clusters: Cluster[] = [];
try {
  for (const mode of MODES) clusters.push(await startCluster(mode));
  const url = (c: Cluster) => `http://${HOST}:${c.port}/`;
  // Warm-up, discarded: JIT, connections, heap growth.
  for (const c of clusters) await loader.run({ url: url(c), connections, durationS: 2, timeoutS: 10 });

  const rps: Record<Mode, number[]> = { tagged: [], inherit: [] };
  const cpu: Record<Mode, number[]> = { tagged: [], inherit: [] };
  const primaryCpu: Record<Mode, number[]> = { tagged: [], inherit: [] };
  const served: Record<Mode, number> = { tagged: 0, inherit: 0 };
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? clusters : [...clusters].reverse();
    for (const c of order) {
      const primaryBefore = ownCpuMs(c.group.pid);
      const { result, cpuMs } = await cpuDuring([c.group.pid], () => loader.run({ url: url(c), connections, durationS: seconds, timeoutS: 10 }));
      cpu[c.mode].push(cpuMsPerThousand(cpuMs.get(c.group.pid)!, result.total));
      primaryCpu[c.mode].push(cpuMsPerThousand(ownCpuMs(c.group.pid) - primaryBefore, result.total));
      if (result.errors > 0 || result.non2xx > 0) throw new Error(`${c.mode}: ${result.errors} errors, ${result.non2xx} non-2xx answers`);
      rps[c.mode].push(result.requestsPerSecond);
      served[c.mode] += result.total;
    }
    process.stdout.write(
      `round ${round + 1}/${rounds}: tagged ${rps.tagged.at(-1)!.toFixed(0)} req/s, inherit ${rps.inherit.at(-1)!.toFixed(0)} req/s\n`,
    );
  }

  // Every request logged its line, and the tagged one went through the primary with its tag.
  const logged = {
    tagged: lines(clusters[0]!.output, /^\[w\d+\] .*GET \/ 200 request \d+/),
    inherit: lines(clusters[1]!.output, /^\[Nest\] .*GET \/ 200 request \d+/),
  };
  const perRound = ratios(rps.tagged, rps.inherit);
  const result = {
    rounds,
    seconds,
    connections,
    workers,
    taggedRps: median(rps.tagged),
    inheritRps: median(rps.inherit),
    ratio: median(perRound),
    ratios: perRound,
    cpuMsPerThousand: { tagged: median(cpu.tagged), inherit: median(cpu.inherit) },
    cpuRatio: median(ratios(cpu.tagged, cpu.inherit)),
    primaryCpuMsPerThousand: { tagged: median(primaryCpu.tagged), inherit: median(primaryCpu.inherit) },
    requests: served,
    loggedLines: logged,
  };
  process.stdout.write(
    [
      `requests/s, logging route, ${workers} workers, ${connections} connections, ${rounds} rounds of ${seconds} s each:`,
      `  logs: 'tagged'  ${spread(rps.tagged)}`,
      `  logs: 'inherit' ${spread(rps.inherit)}`,
      `  tagged / inherit, per round: ${ratioSpread(perRound, 3)} (cost ${((1 - median(perRound)) * 100).toFixed(1)}%)`,
      `CPU ms per 1,000 requests, the whole cluster: tagged ${spread(cpu.tagged, 1)}, inherit ${spread(cpu.inherit, 1)}; tagged / inherit ${ratioSpread(ratios(cpu.tagged, cpu.inherit), 3)}`,
      `CPU ms per 1,000 requests, the primary alone: tagged ${spread(primaryCpu.tagged, 1)}, inherit ${spread(primaryCpu.inherit, 1)}`,
      `  lines logged: tagged ${logged.tagged} of ${served.tagged} requests (+ warm-up), inherit ${logged.inherit} of ${served.inherit}`,
      `RESULT ${JSON.stringify(result)}`,
      '',
    ].join('\n'),
  );
} finally {
  for (const c of clusters) await c.group.stop();
  await loader.close();
  rmSync(dir, { recursive: true, force: true });
}
