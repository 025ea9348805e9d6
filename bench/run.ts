/**
 * `npm run bench`: the sample app served four ways (one process, a hand-written node:cluster primary,
 * nestjs-cluster, PM2 cluster mode), plus worker-to-worker messaging, availability during a rolling
 * restart, the cost of relaying the workers' output and the control socket's answer time. Writes
 * docs/benchmarks.md and docs/benchmarks.svg.
 *
 * `npm run bench -- --quick` is the CI smoke test: short rounds, a report under .bench-tmp/, and a
 * non-zero exit when a section produced no figures. Timings never fail it: shared CI machines are too
 * noisy for thresholds.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { availabilityComplete, benchAvailability, RECOVERY_CONTENDERS } from './availability.js';
import { benchMessaging, type MessagingReport } from './messaging/run.js';
import type { MessagingResult } from './messaging/workload.js';
import { benchNodes } from './nodes/run.js';
import { benchMicroservice, type MicroserviceReport } from './microservice/run.js';
import { benchMetrics, metricsComplete, type MetricsReport } from './metrics/run.js';
import { benchWebsockets, websocketsComplete } from './websockets/run.js';
import { benchDistribution, distributionComplete } from './distribution/run.js';
import { benchLogs, logsComplete } from './logs/run.js';
import { benchControl, controlComplete } from './control/run.js';
import { contenders, type ContenderKey } from './lib/contenders.js';
import { LoadGenerator } from './lib/load.js';
import { OtherCpu } from './lib/other-cpu.js';
import { cpuModel } from './lib/procfs.js';
import { allFinite, differences, median, ratios, ratioSpread } from './lib/stats.js';
import { barChart, type Panel } from './lib/svg.js';
import { benchServing, KEYS, servingComplete, signed, type ServingReport } from './serving.js';

type Section = 'serving' | 'messaging' | 'nodes' | 'availability' | 'microservice' | 'metrics' | 'websockets' | 'distribution' | 'logs' | 'control';
const SECTIONS: readonly Section[] = [
  'serving',
  'messaging',
  'nodes',
  'availability',
  'microservice',
  'metrics',
  'websockets',
  'distribution',
  'logs',
  'control',
];

function parseArgs(argv: string[]) {
  const quick = argv.includes('--quick');
  const value = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const only = value('--only')?.split(',') as Section[] | undefined;
  const unknown = only?.filter((s) => !SECTIONS.includes(s)) ?? [];
  if (unknown.length) throw new Error(`--only: unknown section(s) ${unknown.join(', ')}; expected ${SECTIONS.join(', ')}`);
  const rounds = value('--rounds') === undefined ? undefined : Number(value('--rounds'));
  if (rounds !== undefined && !(Number.isInteger(rounds) && rounds > 0)) throw new Error('--rounds: expected a whole number > 0');
  return { quick, only: only ?? SECTIONS, rounds };
}

const args = parseArgs(process.argv.slice(2));
const workers = os.availableParallelism();
// Quick: one short round of each section, with the fewest contenders that show the section works:
// nestjs-cluster and one baseline (serving: the snippet; PM2 is started by the availability section).
const settings = args.quick
  ? {
      serving: {
        contenders: ['B', 'C'] as ContenderKey[],
        connections: 50,
        startup: { rounds: args.rounds ?? 1, prime: false, load: { root: 500, cpu: 50 } },
        http: { rounds: args.rounds ?? 1, durationS: 0.75, warmup: { root: 1_000, cpu: 100 } },
      },
      // No waiting for a quiet machine: the smoke test has a time budget and checks no figure.
      quiet: { maxShare: 1, maxTotalWaitS: 0 },
      messaging: { rounds: args.rounds ?? 1, env: { BENCH_BURST: '20000', BENCH_PINGS: '500' } },
      nodes: { rounds: args.rounds ?? 1, env: { BENCH_BURST: '10000', BENCH_PINGS: '300', BENCH_WARMUP: '1000' } },
      availability: { rounds: 1, connections: 50, restartAtS: 0.5, settleS: 0.5, recoveryContenders: [...RECOVERY_CONTENDERS], kills: 2 },
      microservice: { rounds: args.rounds ?? 1, restartRounds: 1, clients: 12, warmupMs: 300, durationMs: 1_000, restartWindowMs: 20_000 },
      metrics: { rounds: args.rounds ?? 1, workerCounts: [2], warmup: 2, scrapes: 5 },
      websockets: { rounds: args.rounds ?? 1, httpDurationS: 1, clients: 20, messages: 100 },
      distribution: { rounds: args.rounds ?? 1, durationS: 1, connections: 50, kills: 1 },
      logs: { rounds: args.rounds ?? 2, seconds: 1, warmupS: 1, connections: 50, workers: 2 },
      control: { rounds: args.rounds ?? 5, workers: 16 },
    }
  : {
      serving: {
        contenders: [...KEYS],
        connections: 50,
        startup: { rounds: args.rounds ?? 10, prime: true, load: { root: 3_000, cpu: 300 } },
        http: { rounds: args.rounds ?? 12, durationS: 2, warmup: { root: 10_000, cpu: 1_000 } },
      },
      quiet: { maxShare: 0.1, maxTotalWaitS: 60 },
      messaging: { rounds: args.rounds ?? 5, env: {} as Record<string, string> },
      // 10,000 round trips a round: a p99 of 2,000 is the 20th slowest, which one pause of the machine decides.
      nodes: { rounds: args.rounds ?? 5, env: { BENCH_BURST: '50000', BENCH_PINGS: '10000', BENCH_WARMUP: '5000' } as Record<string, string> },
      availability: { rounds: 3, connections: 50, restartAtS: 2, settleS: 1, recoveryContenders: [...RECOVERY_CONTENDERS], kills: 3 },
      microservice: { rounds: args.rounds ?? 6, restartRounds: 3, clients: 12, warmupMs: 1_000, durationMs: 3_000, restartWindowMs: 8_000 },
      metrics: { rounds: args.rounds ?? 5, workerCounts: [2, 4], warmup: 5, scrapes: 20 },
      websockets: { rounds: args.rounds ?? 5, httpDurationS: 3, clients: 100, messages: 1_000 },
      distribution: { rounds: args.rounds ?? 8, durationS: 3, connections: 50, kills: 3 },
      // 2 workers: the relay's cost shows against what the workers do, not against a machine they cannot fill.
      logs: { rounds: args.rounds ?? 8, seconds: 3, warmupS: 2, connections: 50, workers: 2 },
      control: { rounds: args.rounds ?? 20, workers: 16 },
    };

const log = (line: string) => process.stderr.write(`${line}\n`);
const failures: string[] = [];

// The last bound: whatever hangs, the run ends and its 'exit' handlers kill every process group it started.
const deadlineMin = args.quick ? 8 : 25;
setTimeout(() => {
  log(`benchmark still running after ${deadlineMin} min: giving up`);
  process.exit(1);
}, deadlineMin * 60_000).unref();

/** Runs one section; a failure is recorded and the other sections still run. */
async function section<T>(name: Section, run: () => Promise<T>, complete: (result: T) => boolean): Promise<T | null> {
  if (!args.only.includes(name)) return null;
  log(`${name}...`);
  const started = performance.now();
  try {
    const result = await run();
    if (!complete(result)) failures.push(`${name}: missing or NaN figures`);
    log(`${name}: ${((performance.now() - started) / 1000).toFixed(0)} s`);
    return result;
  } catch (error) {
    failures.push(`${name}: ${(error as Error).message}`);
    log(`${name} FAILED: ${(error as Error).stack ?? String(error)}`);
    return null;
  }
}

const startedAt = new Date();
const wallStart = performance.now();
const otherCpu = new OtherCpu();
const loader = new LoadGenerator();
let quietWaitMs = 0;
/** Waits for other processes to calm down before a contender starts, within a budget for the whole run. */
async function quiet(): Promise<void> {
  const budgetMs = settings.quiet.maxTotalWaitS * 1_000 - quietWaitMs;
  if (budgetMs <= 0) return;
  const waited = await otherCpu.quiet(workers, settings.quiet.maxShare, budgetMs);
  quietWaitMs += waited;
  if (waited > 500) log(`  waited ${(waited / 1_000).toFixed(0)} s for other processes to go below ${settings.quiet.maxShare * 100}% of the CPU`);
}

/** Every figure of these messaging results is a number. */
const messagingFinite = (results: readonly MessagingResult[]) => allFinite(results.flatMap((m) => [m.messagesPerSecond, m.pingP50Us, m.pingP99Us]));

const serving = await section('serving', () => benchServing({ ...settings.serving, workers, loader, quiet, log }), servingComplete);
const messaging = await section(
  'messaging',
  () => benchMessaging(settings.messaging.rounds, settings.messaging.env),
  (r) => r.raw.length === r.rounds && r.library.length === r.rounds && messagingFinite([...r.raw, ...r.library]),
);
const nodes = await section(
  'nodes',
  () => benchNodes(settings.nodes.rounds, settings.nodes.env),
  (r) =>
    r.relay.length === r.rounds &&
    r.library.length === r.rounds &&
    r.nats.library.length === r.rounds &&
    messagingFinite([...r.relay, ...r.library, ...r.nats.relay, ...r.nats.library, ...r.sameNode.on, ...r.sameNode.off]),
);
const availability = await section(
  'availability',
  () => benchAvailability({ ...settings.availability, workers, loader, log }),
  (r) => availabilityComplete(r, settings.availability.rounds, settings.availability.recoveryContenders),
);

const microservice = await section(
  'microservice',
  () => benchMicroservice({ ...settings.microservice, workers, log }),
  (r) =>
    (['A', 'B', 'C'] as const).every((k) => r.rps[k].length === r.rounds && allFinite(r.rps[k])) &&
    r.restarts.length === settings.microservice.restartRounds,
);

const metrics = await section('metrics', () => benchMetrics({ ...settings.metrics, log }), metricsComplete);
const websockets = await section('websockets', () => benchWebsockets({ ...settings.websockets, workers, log }), websocketsComplete);
const distribution = await section(
  'distribution',
  () => benchDistribution({ ...settings.distribution, workers, loader, quiet, log }),
  distributionComplete,
);
const logs = await section('logs', () => benchLogs({ ...settings.logs, loader, quiet, log }), logsComplete);
const control = await section('control', () => benchControl({ ...settings.control, log }), controlComplete);

/** Medians of per-round figures behind the summary, the chart and the targets. */
function keyFigures(s: ServingReport | null, m: MessagingReport | null, t: MicroserviceReport | null) {
  const ratio = (a: 'C' | 'D', b: 'B' | 'D', key: 'rootRps' | 'cpuRps' | 'readyMs') => (s ? ratios(s.samples[a][key], s.samples[b][key]) : []);
  return {
    cbRoot: ratio('C', 'B', 'rootRps'),
    cbCpu: ratio('C', 'B', 'cpuRps'),
    cdRoot: ratio('C', 'D', 'rootRps'),
    cdCpu: ratio('C', 'D', 'cpuRps'),
    cbReady: ratio('C', 'B', 'readyMs'),
    cbMemory: s ? differences(s.samples.C.rssPerWorkerMb, s.samples.B.rssPerWorkerMb) : [],
    burst: m
      ? ratios(
          m.library.map((r) => r.messagesPerSecond),
          m.raw.map((r) => r.messagesPerSecond),
        )
      : [],
    tcpCb: t ? ratios(t.rps.C, t.rps.B) : [],
  };
}

await loader.close();

const figures = keyFigures(serving, messaging, microservice);
const med = (values: number[]) => (values.length ? median(values) : NaN);

interface Target {
  what: string;
  values: number[];
  met: (median: number) => boolean;
  shown: (values: number[]) => string;
}

// Three decimals, so that a median just under a target never reads as the target itself.
const ratio3 = (values: number[]) => ratioSpread(values, 3);

const targets: Target[] = [
  { what: 'C >= 0.98x B requests/s, GET /', values: figures.cbRoot, met: (v) => v >= 0.98, shown: ratio3 },
  { what: 'C >= 0.98x B requests/s, GET /cpu', values: figures.cbCpu, met: (v) => v >= 0.98, shown: ratio3 },
  { what: 'C >= 1.0x D requests/s, GET /', values: figures.cdRoot, met: (v) => v >= 1, shown: ratio3 },
  { what: 'C >= 1.0x D requests/s, GET /cpu', values: figures.cdCpu, met: (v) => v >= 1, shown: ratio3 },
  { what: 'start to ready C <= 1.05x B', values: figures.cbReady, met: (v) => v <= 1.05, shown: ratio3 },
  { what: 'C >= 0.98x B requests/s, TCP microservice', values: figures.tcpCb, met: (v) => v >= 0.98, shown: ratio3 },
  {
    what: 'RSS per worker C - B < 3 MB',
    values: figures.cbMemory,
    met: (v) => v < 3,
    shown: (v) => `${signed(median(v))} MB [${signed(Math.min(...v))} to ${signed(Math.max(...v))}]`,
  },
];

function summaryMarkdown(): string {
  const lines = [
    '| target | measured: median of per-round figures [min-max] | met (median) | range of rounds on both sides of the target |',
    '|---|---|---|---|',
  ];
  for (const t of targets) {
    if (!allFinite(t.values)) {
      lines.push(`| ${t.what} | no figure | n/a | |`);
      continue;
    }
    const met = t.met(median(t.values));
    // A target that some rounds meet and others miss is closer than this machine can resolve.
    const straddles = t.met(Math.min(...t.values)) !== t.met(Math.max(...t.values));
    lines.push(`| ${t.what} | ${t.shown(t.values)} | ${met ? 'yes' : 'no'} | ${straddles ? 'yes' : 'no'} |`);
  }
  lines.push(...ratioTargets(pathTargets()));
  if (nodes) {
    const p99 = nodes.library.map((r) => r.pingP99Us);
    lines.push(
      `| across nodes, request/reply p99 < 1 ms | ${spreadOf(p99)} us | ${median(p99) < 1_000 ? 'yes' : 'no'} | ${Math.min(...p99) < 1_000 !== Math.max(...p99) < 1_000 ? 'yes' : 'no'} |`,
    );
    const natsP99 = nodes.nats.library.map((r) => r.pingP99Us);
    lines.push(
      `| over NATS, request/reply p99 < 2 ms | ${spreadOf(natsP99)} us | ${median(natsP99) < 2_000 ? 'yes' : 'no'} | ${Math.min(...natsP99) < 2_000 !== Math.max(...natsP99) < 2_000 ? 'yes' : 'no'} |`,
    );
  }
  if (control) {
    lines.push(
      `| \`nestjs-cluster status --json\` with ${control.workers} workers, ms from start to exit (no target; 250 ms of it is the CPU sample) | ${spreadOf(control.commandMs)} | | |`,
    );
  }
  if (microservice) {
    lines.push(
      `| failed requests in a rolling restart of the TCP microservice under load (as low as possible) | ${spreadOf(microservice.restarts.map((r) => r.failed))} | | |`,
    );
  }
  if (metrics) lines.push(...metricsSummary(metrics));
  if (availability) {
    const failed = availability.pm2.map((r) => r.failed);
    lines.push(
      `| failed requests during \`pm2 reload\` (no target) | ${failed.length ? `${median(failed)} [${Math.min(...failed)}-${Math.max(...failed)}]` : 'no figure'} | | |`,
      `| zero failed requests in a nestjs-cluster rolling restart | ${spreadOf(availability.library.map((r) => r.failed))} | ${availability.library.length > 0 && availability.library.every((r) => r.failed === 0) ? 'yes' : 'no'} | |`,
      `| SIGKILL of a worker to the replacement's first answer, ms (no target): snippet / nestjs-cluster / PM2 | ${(['B', 'C', 'D'] as const).map((k) => spreadOf(availability.recovery[k])).join(' / ')} | | |`,
      `| SIGKILL of a worker to the standby's first answer, nestjs-cluster with \`standby: 1\`, < 150 ms | ${spreadOf(availability.recovery.S)} ms | ${availability.recovery.S.length > 0 && median(availability.recovery.S) < 150 ? 'yes' : 'no'} | ${availability.recovery.S.length > 0 && Math.min(...availability.recovery.S) < 150 !== Math.max(...availability.recovery.S) < 150 ? 'yes' : 'no'} |`,
      `| connections hung per SIGKILL, nestjs-cluster (snippet / PM2: no target) | ${spreadOf(availability.hung.C)} (snippet ${spreadOf(availability.hung.B)}, PM2 ${spreadOf(availability.hung.D)}) | ${availability.hung.C.length > 0 && availability.hung.C.every((n) => n === 0) ? 'yes' : 'no'} | |`,
    );
  }
  return lines.join('\n');
}

/** A ratio target on the newer paths: messages, across nodes, sticky serving. */
interface RatioTarget {
  what: string;
  values: number[];
  met: (median: number) => boolean;
}

function pathTargets(): RatioTarget[] {
  const list: RatioTarget[] = [];
  if (messaging) list.push({ what: 'messaging burst, nestjs-cluster >= 1.5x raw relay', values: figures.burst, met: (v) => v >= 1.5 });
  if (nodes) {
    const across = (key: 'pingP50Us' | 'pingP99Us') =>
      ratios(
        nodes.library.map((r) => r[key]),
        nodes.relay.map((r) => r[key]),
      );
    list.push(
      { what: 'across nodes, request/reply p50 <= 2x the ioredis relay', values: across('pingP50Us'), met: (v) => v <= 2 },
      { what: 'across nodes, request/reply p99 <= 2x the ioredis relay', values: across('pingP99Us'), met: (v) => v <= 2 },
      {
        what: 'over NATS, burst >= 1.0x the hand-written @nats-io relay',
        values: ratios(
          nodes.nats.library.map((r) => r.messagesPerSecond),
          nodes.nats.relay.map((r) => r.messagesPerSecond),
        ),
        met: (v) => v >= 1,
      },
    );
  }
  if (distribution) {
    const { primary, roundRobin } = distribution.samples;
    list.push(
      {
        what: "distribution 'primary' >= 0.98x node:cluster's round robin requests/s, GET /",
        values: ratios(primary.rootRps, roundRobin.rootRps),
        met: (v) => v >= 0.98,
      },
      {
        what: "distribution 'primary' >= 0.98x node:cluster's round robin requests/s, GET /cpu",
        values: ratios(primary.cpuRps, roundRobin.cpuRps),
        met: (v) => v >= 0.98,
      },
    );
  }
  if (websockets) {
    list.push({
      what: 'HTTP through the sticky primary >= 0.95x round robin requests/s',
      values: ratios(websockets.http.sticky.rps, websockets.http.roundRobin.rps),
      met: (v) => v >= 0.95,
    });
  }
  if (logs) {
    list.push({
      what: "worker logs relayed (`logs: 'tagged'`) >= 0.95x `'inherit'` requests/s, a route logging a line per request",
      values: logs.ratios,
      met: (v) => v >= 0.95,
    });
  }
  return list;
}

function ratioTargets(list: readonly RatioTarget[]): string[] {
  return list.map((t) => {
    if (!allFinite(t.values) || t.values.length === 0) return `| ${t.what} | no figure | n/a | |`;
    const straddles = t.met(Math.min(...t.values)) !== t.met(Math.max(...t.values));
    return `| ${t.what} | ${ratio3(t.values)} | ${t.met(median(t.values)) ? 'yes' : 'no'} | ${straddles ? 'yes' : 'no'} |`;
  });
}

/** Scrape time of each mode against AggregatorRegistry on the most workers, and the 50 ms target for 5,000 series. */
function metricsSummary(report: MetricsReport): string[] {
  const most = Math.max(...report.workers);
  const byName = report.results[most]!;
  const baseline = byName.aggregatorRegistry.map((s) => s.scrapeMs);
  return (['perWorker', 'aggregate'] as const).flatMap((mode) => {
    const times = byName[mode].map((s) => s.scrapeMs);
    const label = mode === 'perWorker' ? 'per-worker' : 'aggregate';
    const vs = ratios(times, baseline);
    const bound = mode === 'perWorker' ? 1 : 0.8;
    return [
      `| /metrics scrape, ${label} mode, ${most} workers, <= ${bound.toFixed(1)}x AggregatorRegistry.clusterMetrics() | ${ratio3(vs)} | ${median(vs) <= bound ? 'yes' : 'no'} | ${Math.min(...vs) <= bound !== Math.max(...vs) <= bound ? 'yes' : 'no'} |`,
      `| /metrics scrape, ${label} mode, ${most} workers, < 50 ms for 5,000 series | ${spreadOf(times)} ms | ${median(times) < 50 ? 'yes' : 'no'} | ${Math.min(...times) < 50 !== Math.max(...times) < 50 ? 'yes' : 'no'} |`,
    ];
  });
}

function spreadOf(values: number[]): string {
  return values.length ? `${median(values).toFixed(0)} [${Math.min(...values).toFixed(0)}-${Math.max(...values).toFixed(0)}]` : 'no figure';
}

const machine = {
  cpu: cpuModel() || os.cpus()[0]?.model || 'unknown',
  cores: workers,
  memoryGb: os.totalmem() / 2 ** 30,
  os: `${os.type()} ${os.release()} ${os.arch()}`,
  node: process.version,
};

const others = () => otherCpu.stop(machine.cores);

function reportMarkdown(): string {
  const elsewhere = others();
  const all = contenders(workers);
  const { startup, http } = settings.serving;
  const out: string[] = [
    '# Benchmarks',
    '',
    `Generated by \`npm run bench${args.quick ? ' -- --quick' : ''}\` on ${startedAt.toISOString()}; the run took ${((performance.now() - wallStart) / 60_000).toFixed(1)} min.`,
    '',
    '![Key ratios](benchmarks.svg)',
    '',
    '## Machine',
    '',
    '| | |',
    '|---|---|',
    `| CPU | ${machine.cpu} |`,
    `| cores (\`os.availableParallelism()\`) | ${machine.cores} |`,
    `| memory | ${machine.memoryGb.toFixed(1)} GB |`,
    `| OS | ${machine.os} |`,
    `| Node.js | ${machine.node} |`,
    `| date | ${startedAt.toISOString().slice(0, 10)} |`,
    `| rounds | HTTP ${http.rounds}, start and memory ${startup.rounds}, messaging ${settings.messaging.rounds}, across nodes ${settings.nodes.rounds}, availability ${settings.availability.rounds}, TCP microservice ${settings.microservice.rounds} (+${settings.microservice.restartRounds} rolling restarts), metrics ${settings.metrics.rounds}, worker logs ${settings.logs.rounds}, control socket ${settings.control.rounds} |`,
    `| duration | HTTP: ${http.durationS} s per contender, route and round after a warm-up; availability: load from ${settings.availability.restartAtS} s before the restart to ${settings.availability.settleS} s after it |`,
    '| also on the CPU | the load generator: autocannon, in a child process of its own, on the same cores as the contenders (no spare core to pin it to), so every figure is what the server manages while sharing the machine with its client; the benchmark runner, idle during loads |',
    `| other processes | ${elsewhere.cpuSeconds.toFixed(0)} CPU-seconds during the run, ${(100 * elsewhere.share).toFixed(1)}% of all cores (sampled from /proc each second; anything but the benchmark's own process groups)` +
      (settings.quiet.maxTotalWaitS > 0
        ? `; before each serving round the run waited for a second with other processes under ${settings.quiet.maxShare * 100}% of the cores, ${(quietWaitMs / 1_000).toFixed(0)} s of waiting in all (budget ${settings.quiet.maxTotalWaitS} s) |`
        : ' |'),
    '',
    '## Contenders',
    '',
    `All serve the same compiled sample app (\`sample/app.module.ts\`: GET / answers a tiny JSON, GET /cpu does a few ms of prime counting) on 127.0.0.1, with ${workers} workers (one per core) for B, C and D. The order rotates each round (A B C D, B C D A, ...).`,
    '',
    `- **A. ${all.A.name}**: \`NestFactory.create(AppModule)\` and \`listen\` (bench/contenders/app-process.ts).`,
    `- **B. ${all.B.name}**: the usual \`cluster.isPrimary\` snippet: fork N, re-fork on exit; workers create the app and listen (bench/contenders/node-cluster.ts).`,
    `- **C. ${all.C.name}**: \`bootstrapClustered(AppModule, { workers: ${workers} })\`, with a \`listen\` hook binding 127.0.0.1: the sample's main.ts without its CORS set-up, which the others lack (bench/contenders/library.ts).`,
    `- **D. ${all.D.name}**: \`pm2-runtime\` in the foreground, ecosystem \`instances: ${workers}, exec_mode: 'cluster'\`, each worker running A's script; private PM2_HOME in a temp dir.`,
    '',
    'The sample imports `ClusterModule`; in A, B and D its `ClusterService` runs standalone.',
    '',
    '## Summary',
    '',
    'Targets are reported, not asserted. "met" compares the median with the target; the last column says whether single rounds fell on both sides of it, i.e. whether the difference is within what this machine can resolve.',
    '',
    summaryMarkdown(),
    '',
  ];
  out.push('## Serving', '', serving ? serving.markdown : 'No figures: the section failed.', '');
  out.push(
    '## Messaging',
    '',
    'Worker-to-worker messages between 2 workers: `ClusterService` against a hand-written `process.send` relay through the primary (bench/messaging).',
    '',
    messaging ? messaging.markdown : 'No figures: the section failed.',
    '',
  );
  out.push(
    '## Across nodes (Redis)',
    '',
    "Two nodes of one worker each on a redis-server of the run's own: a worker of one node sends to and asks a worker of the other through both primaries (`ClusterService`), against a hand-written ioredis pub/sub relay between two processes; then the same-node workload above with Redis on and off (bench/nodes).",
    '',
    nodes ? nodes.markdown : 'No figures: the section failed.',
    '',
  );
  out.push('## Availability during a rolling restart', '', availability ? availability.markdown : 'No figures: the section failed.', '');
  out.push('## TCP microservice', '', microservice ? microservice.markdown : 'No figures: the section failed.', '');
  out.push(
    '## Metrics (Prometheus)',
    '',
    "A scrape of `/metrics` on a node of 2 and 4 workers: nestjs-cluster's `ClusterMetricsModule` (per-worker and aggregate modes), answered by whichever worker the scrape reaches, against a plain node:cluster primary answering from prom-client's `AggregatorRegistry.clusterMetrics()` (bench/metrics).",
    '',
    metrics ? metrics.markdown : 'No figures: the section failed.',
    '',
    '## WebSockets',
    '',
    'HTTP through the sticky primary against the round robin, and socket.io broadcasts across the workers against `@socket.io/cluster-adapter` + `@socket.io/sticky` (bench/websockets).',
    '',
    websockets ? websockets.markdown : 'No figures: the section failed.',
    '',
    '## Connection distribution',
    '',
    "The same nestjs-cluster app with the primary dealing connections (`distribution: 'primary'`), with node:cluster's round robin, with `SCHED_NONE`, and with workers listening with `reusePort: true` (Node >= 22.12), then SIGKILLs of a worker under a burst of new connections (bench/distribution).",
    '',
    distribution ? distribution.markdown : 'No figures: the section failed.',
    '',
    '## Worker logs',
    '',
    "Requests per second on a route that logs one line per request, with the workers' output relayed, cut into lines and tagged by the primary (`logs: 'tagged'`, the default) and written straight to the same file (`logs: 'inherit'`); both clusters side by side, taking turns (bench/logs).",
    '',
    logs ? logs.markdown : 'No figures: the section failed.',
    '',
    '## Control socket',
    '',
    'How long `nestjs-cluster status` takes to answer on a node of many workers (bench/control).',
    '',
    control ? control.markdown : 'No figures: the section failed.',
    '',
  );
  if (failures.length) out.push('## Failures', '', ...failures.map((f) => `- ${f.split('\n')[0]}`), '');
  out.push(
    '## Method',
    '',
    '- HTTP: the four contenders run side by side and take turns; start and memory: each contender alone, started afresh every round. Every process is killed by its process group at the end.',
    '- Ratios are taken within a round, then the median over rounds is reported: pairing cancels most of the machine drift between rounds.',
    `- With ${workers} cores shared by the servers and the load generator, differences of a few percent between B, C and D are within the noise the min-max ranges show.`,
    '- Processes are killed with SIGKILL to their whole group; PID 1 may list a killed worker as `<defunct>` for a few seconds until it reaps it.',
    '',
  );
  return out.join('\n');
}

function chart(): string {
  const bar = (label: string, values: number[], target?: Target & { at: number; text: string }) => {
    const value = med(values);
    if (!target) return { label, value };
    return { label, value, target: { at: target.at, text: target.text, met: Number.isFinite(value) && target.met(value) } };
  };
  const t = (i: number, at: number, text: string) => ({ ...targets[i]!, at, text });
  const ratioPanel: Panel = {
    title: 'nestjs-cluster (C) against the snippet (B) and PM2 (D): median of per-round ratios',
    unit: 'x',
    reference: 1,
    // As in the summary: a median just under a target must not read as the target.
    decimals: 3,
    bars: [
      bar('C/B requests/s, GET /', figures.cbRoot, t(0, 0.98, '≥ 0.98x')),
      bar('C/B requests/s, GET /cpu', figures.cbCpu, t(1, 0.98, '≥ 0.98x')),
      bar('C/D requests/s, GET /', figures.cdRoot, t(2, 1, '≥ 1x')),
      bar('C/D requests/s, GET /cpu', figures.cdCpu, t(3, 1, '≥ 1x')),
      bar('C/B start to ready (lower is better)', figures.cbReady, t(4, 1.05, '≤ 1.05x')),
      bar('C/B requests/s, TCP microservice', figures.tcpCb, t(5, 0.98, '≥ 0.98x')),
      bar('messaging burst, library / raw relay', figures.burst),
    ],
  };
  const memoryPanel: Panel = {
    title: 'Resident memory per worker after a short load, C minus B',
    unit: ' MB',
    reference: 0,
    decimals: 1,
    bars: [bar('RSS per worker, C - B (lower is better)', figures.cbMemory, t(6, 3, '< 3 MB'))],
  };
  const subtitle =
    `${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${startedAt.toISOString().slice(0, 10)}; ` +
    `${settings.serving.http.rounds} HTTP rounds, ${settings.serving.startup.rounds} start rounds; load generator on the same cores`;
  return barChart('nestjs-cluster benchmark: key ratios', subtitle, [ratioPanel, memoryPanel]);
}

const markdown = reportMarkdown();
process.stdout.write(`${markdown}\n`);
// Only a complete full run may replace the published figures.
const published = !args.quick && args.only === SECTIONS;
const outDir = fileURLToPath(new URL(published ? '../../docs/' : '../../.bench-tmp/', import.meta.url));
mkdirSync(outDir, { recursive: true });
writeFileSync(`${outDir}benchmarks.md`, markdown);
writeFileSync(`${outDir}benchmarks.svg`, chart());
log(`wrote ${outDir}benchmarks.md and benchmarks.svg`);

if (failures.length) {
  log(`FAILED sections:\n${failures.map((f) => `- ${f}`).join('\n')}`);
}
// Explicit: a handle left open by a dependency must not keep a finished benchmark alive.
process.exit(failures.length ? 1 : 0);
