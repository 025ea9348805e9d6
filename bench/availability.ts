/**
 * Availability during a rolling restart: every worker is replaced while autocannon keeps GET / busy,
 * and every request that did not get a 2xx answer (connection errors, timeouts, non-2xx) counts as
 * failed. The harness (`underLoad`) is shared; each side only says how it triggers the restart.
 *
 * Then the instant of a crash: a worker is SIGKILLed, and the clock runs until a new worker answers
 * (for nestjs-cluster with `standby: 1`, the standby); a burst of new connections opened just after
 * each kill counts those left hanging, neither answered nor reset within a second.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { contenders, PM2_APP, pm2CliArgs, startContender, type Contender, type Running } from './lib/contenders.js';
import type { Group } from './lib/group.js';
import { HOST } from './lib/host.js';
import { burst, getJson, waitForWorkers } from './lib/http.js';
import type { LoadGenerator } from './lib/load.js';
import { processGroupOf } from './lib/procfs.js';
import { killGroup, runNode } from './lib/run-node.js';
import { allFinite, spread } from './lib/stats.js';

export interface AvailabilityOptions {
  rounds: number;
  workers: number;
  connections: number;
  /** Load before the restart is triggered. */
  restartAtS: number;
  /** Load after the last replacement has answered, for requests that were queued on old workers. */
  settleS: number;
  /** Whose crash recovery is timed: the snippet, nestjs-cluster, nestjs-cluster with a standby, PM2. */
  recoveryContenders: readonly RecoveryKey[];
  /** SIGKILLs per contender and round, each once the cluster is whole again (and its standby back). */
  kills: number;
  loader: LoadGenerator;
  log: (line: string) => void;
}

export interface AvailabilityRun {
  /** Errors (including timeouts) plus non-2xx answers. */
  failed: number;
  /** Requests that were answered or failed. */
  total: number;
  /** From the trigger to the moment every replacement worker has answered. */
  restartMs: number;
}

export interface AvailabilityReport {
  markdown: string;
  pm2: AvailabilityRun[];
  library: AvailabilityRun[];
  /** SIGKILL of a worker to the first answer of its replacement (S: of the standby), per contender, ms, one per kill. */
  recovery: Record<RecoveryKey, number[]>;
  /** Connections of the burst after each SIGKILL that hung, per contender, one count per kill. */
  hung: Record<RecoveryKey, number[]>;
}

/** B, C and D as everywhere; S: nestjs-cluster (C) with one warm standby. */
export const RECOVERY_CONTENDERS = ['B', 'C', 'S', 'D'] as const;
export type RecoveryKey = (typeof RECOVERY_CONTENDERS)[number];

/** New connections opened just after each SIGKILL, over `BURST_MS`; one without an answer or an error after `HANG_MS` hung. */
export const BURST = 10;
const BURST_MS = 50;
const HANG_MS = 1_000;
/** How S tells a standby is ready (its `onPrimaryEvent`, bench/contenders/library.ts). */
const STANDBY_READY = /^STANDBY_READY (\d+)$/;

type Trigger = (running: Running) => Promise<void>;

/** Starts `contender`, puts it under load, runs `trigger` meanwhile and waits for all-new workers. */
async function underLoad(contender: Contender, options: AvailabilityOptions, trigger: Trigger): Promise<AvailabilityRun> {
  const running = await startContender(contender, options.workers, { lifetimeMs: 150_000, readyTimeoutMs: 30_000 });
  const url = `http://${HOST}:${running.port}/`;
  // Runs until stopped below; its duration is only a bound.
  const loadRun = options.loader.start({ url, connections: options.connections, durationS: 120, timeoutS: 10 });
  try {
    await sleep(options.restartAtS * 1_000);
    const triggeredAt = performance.now();
    await trigger(running);
    await waitForWorkers(running.group, running.port, contender.workers, 60_000, new Set(running.workerPids));
    const restartMs = performance.now() - triggeredAt;
    await sleep(options.settleS * 1_000);
    const result = await loadRun.stop();
    return { failed: result.errors + result.non2xx, total: result.total + result.errors, restartMs };
  } finally {
    await loadRun.stop().catch(() => undefined);
    await running.stop();
  }
}

/** `pm2 reload` with PM2's default settings, through the CLI against D's private daemon. */
async function pm2Reload(options: AvailabilityOptions): Promise<AvailabilityRun> {
  return underLoad(contenders(options.workers).D, options, async (running) => {
    const { script, args } = pm2CliArgs('reload', PM2_APP);
    const run = await runNode(script, { PM2_HOME: running.pm2Home! }, 60_000, args);
    reapStrayDaemon(running);
    if (run.code !== 0) throw new Error(`pm2 reload exited ${run.code ?? run.signal}:\n${run.lines.slice(-20).join('\n')}`);
  });
}

/**
 * The CLI starts a detached daemon of its own when it cannot reach one: that would outlive the
 * benchmark in a session of its own, so it is killed here rather than trusted to be absent.
 */
function reapStrayDaemon(running: Running): void {
  const pidFile = join(running.pm2Home!, 'pm2.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  const group = processGroupOf(pid);
  if (group === null || group === running.group.pid) return;
  killGroup(group);
  throw new Error(`the pm2 CLI did not reach pm2-runtime and started its own daemon (pid ${pid}, killed)`);
}

/** nestjs-cluster's rolling restart under the same load: SIGHUP to the primary (the group's leader). */
async function libraryRollingRestart(options: AvailabilityOptions): Promise<AvailabilityRun> {
  return underLoad(contenders(options.workers).C, options, async (running) => {
    process.kill(running.group.pid, 'SIGHUP');
  });
}

const RECOVERY_POLL_MS = 10;
const RECOVERY_POLL_TIMEOUT_MS = 100;

/** What each recovery contender starts: S is C with `CLUSTER_STANDBY=1`. */
function recoverySide(key: RecoveryKey, workers: number): { contender: Contender; name: string; standby: boolean } {
  const all = contenders(workers);
  if (key !== 'S') return { contender: all[key], name: all[key].name, standby: false };
  return { contender: all.C, name: `${all.C.name}, \`standby: 1\``, standby: true };
}

/** The next standby S reports ready that is none of `known`; its pid. */
async function standbyReady(running: Running, known: ReadonlySet<number>): Promise<number> {
  const line = await running.group.line((l) => STANDBY_READY.test(l) && !known.has(Number(STANDBY_READY.exec(l)![1])), 60_000);
  return Number(STANDBY_READY.exec(line)![1]);
}

/**
 * Crash recovery, `kills` times on one contender: SIGKILL a serving worker, open a burst of new
 * connections at once, and time until a worker that was not serving answers on the port; then wait
 * until the cluster is whole again (S: and a new standby is ready) before the next kill.
 */
async function recoveryRuns(key: RecoveryKey, options: AvailabilityOptions): Promise<{ ms: number[]; hung: number[] }> {
  const { contender, standby } = recoverySide(key, options.workers);
  const env = standby ? { CLUSTER_STANDBY: '1' } : undefined;
  const running = await startContender(contender, options.workers, { lifetimeMs: 120_000, readyTimeoutMs: 30_000, env });
  try {
    const standbys = new Set<number>();
    if (standby) standbys.add(await standbyReady(running, standbys));
    const nextStandby = standby ? () => standbyReady(running, standbys).then((pid) => void standbys.add(pid)) : undefined;
    return await sigkills({ ...running, name: contender.name, workers: contender.workers }, options.kills, nextStandby);
  } finally {
    await running.stop();
  }
}

/** A cluster to SIGKILL workers of: its group, port and the pids serving now. */
export interface KillTarget {
  readonly name: string;
  readonly group: Group;
  readonly port: number;
  /** Serving processes when whole. */
  readonly workers: number;
  readonly workerPids: readonly number[];
}

/** What `kills` SIGKILLs did: SIGKILL to first new answer (ms), and the burst's connections hung and failed (reset, refused, non-2xx), one per kill. */
export interface KillFates {
  ms: number[];
  hung: number[];
  failed: number[];
}

/**
 * `kills` times: SIGKILL a serving worker of `target`, open a burst of new connections at once, and
 * time until a worker that was not serving answers on the port; then wait until the cluster is whole
 * again (and `ready`, if given, says so too: a new standby) before the next kill.
 */
export async function sigkills(target: KillTarget, kills: number, ready?: () => Promise<void>): Promise<KillFates> {
  const fates: KillFates = { ms: [], hung: [], failed: [] };
  let serving = [...target.workerPids];
  const gone = new Set<number>();
  for (let kill = 0; kill < kills; kill++) {
    const known = new Set([...serving, ...gone]);
    const victim = serving[kill % serving.length]!;
    const killedAt = performance.now();
    process.kill(victim, 'SIGKILL');
    gone.add(victim);
    const burstFates = burst(target.port, BURST, BURST_MS, HANG_MS);
    fates.ms.push(await firstNewAnswer(target, known, killedAt));
    const settled = await burstFates;
    fates.hung.push(settled.filter((fate) => fate === 'hung').length);
    fates.failed.push(settled.filter((fate) => fate === 'failed').length);
    serving = (await waitForWorkers(target.group, target.port, target.workers, 60_000, gone)).workerPids;
    if (ready && kill + 1 < kills) await ready();
  }
  return fates;
}

/** Polls GET / on new connections until a process not in `known` answers; ms since `since`. */
async function firstNewAnswer(target: KillTarget, known: ReadonlySet<number>, since: number): Promise<number> {
  // Short per-request timeouts: a connection handed to the dying worker must not stall the clock.
  while (performance.now() - since < 30_000) {
    const answer = await getJson<{ pid: number }>(target.port, '/', RECOVERY_POLL_TIMEOUT_MS).catch(() => null);
    if (answer?.status === 200 && !known.has(answer.body.pid)) return performance.now() - since;
    await sleep(RECOVERY_POLL_MS);
  }
  throw new Error(`${target.name}: no new worker answered within 30 s`);
}

export async function benchAvailability(options: AvailabilityOptions): Promise<AvailabilityReport> {
  const pm2: AvailabilityRun[] = [];
  const library: AvailabilityRun[] = [];
  const recovery: Record<RecoveryKey, number[]> = { B: [], C: [], S: [], D: [] };
  const hung: Record<RecoveryKey, number[]> = { B: [], C: [], S: [], D: [] };
  for (let round = 0; round < options.rounds; round++) {
    const sides = [
      async () => {
        const run = await pm2Reload(options);
        pm2.push(run);
        options.log(`  round ${round + 1}/${options.rounds} PM2 reload: ${run.failed} failed of ${run.total}, ${run.restartMs.toFixed(0)} ms`);
      },
      async () => {
        const run = await libraryRollingRestart(options);
        library.push(run);
        options.log(`  round ${round + 1}/${options.rounds} nestjs-cluster: ${run.failed} failed of ${run.total}, ${run.restartMs.toFixed(0)} ms`);
      },
    ];
    for (const side of round % 2 ? sides.reverse() : sides) await side();
    // Rotate the order each round, as the other sections do.
    const keys = options.recoveryContenders;
    const order = keys.map((_, i) => keys[(i + round) % keys.length]!);
    for (const key of order) {
      const runs = await recoveryRuns(key, options);
      recovery[key].push(...runs.ms);
      hung[key].push(...runs.hung);
      const name = recoverySide(key, options.workers).name;
      options.log(
        `  round ${round + 1}/${options.rounds} ${name}: SIGKILL to first answer ${runs.ms.map((m) => m.toFixed(0)).join(', ')} ms; ` +
          `hung ${runs.hung.join(', ')} of ${BURST}`,
      );
    }
  }
  return { pm2, library, recovery, hung, markdown: availabilityMarkdown(options, pm2, library, recovery, hung) };
}

export function availabilityComplete(report: AvailabilityReport, rounds: number, recoveryContenders: readonly RecoveryKey[]): boolean {
  const complete = (runs: AvailabilityRun[]) => runs.length === rounds && allFinite(runs.flatMap((r) => [r.failed, r.total, r.restartMs]));
  const recovered = recoveryContenders.every(
    (key) => report.recovery[key].length > 0 && allFinite(report.recovery[key]) && report.hung[key].length === report.recovery[key].length,
  );
  return complete(report.pm2) && complete(report.library) && recovered;
}

function availabilityMarkdown(
  options: Omit<AvailabilityOptions, 'log' | 'loader'>,
  pm2: AvailabilityRun[],
  library: AvailabilityRun[],
  recovery: Record<RecoveryKey, number[]>,
  hung: Record<RecoveryKey, number[]>,
): string {
  const row = (name: string, runs: AvailabilityRun[]) =>
    `| ${name} | ${spread(runs.map((r) => r.failed))} | ${spread(
      runs.map((r) => (100 * r.failed) / r.total),
      2,
    )} | ${spread(runs.map((r) => r.restartMs))} |`;
  const hungCell = (counts: number[]) => `${spread(counts)} (${counts.reduce((a, b) => a + b, 0)} of ${counts.length * BURST})`;
  return [
    `Rolling restart of the ${options.workers} workers under load: autocannon on GET /, ${options.connections} keep-alive connections, ` +
      `from ${options.restartAtS} s before the restart is triggered until ${options.settleS} s after every replacement has answered; ` +
      `${options.rounds} rounds, median [min-max]. ` +
      'Failed = connection errors, timeouts and non-2xx answers.',
    '',
    '| rolling restart | failed requests | failed % | trigger to all workers replaced, ms |',
    '|---|---|---|---|',
    row('D. PM2 `pm2 reload` (default settings)', pm2),
    row('C. nestjs-cluster (SIGHUP)', library),
    '',
    `Crash: SIGKILL of one of the ${options.workers} workers, ${options.kills} time(s) per contender in each of ${options.rounds} round(s), ` +
      'each once every slot answers again (and, with a standby, a new standby is ready). SIGKILL to first answer: GET / on a fresh ' +
      `connection every ${RECOVERY_POLL_MS} ms (each given ${RECOVERY_POLL_TIMEOUT_MS} ms) until a worker that was not serving answers: ` +
      `the replacement, or the standby. Hung: ${BURST} new connections opened in the ${BURST_MS} ms after each SIGKILL, each given ` +
      `${HANG_MS / 1_000} s; one with neither an answer nor an error (reset, refusal) by then hung. Median [min-max] per SIGKILL, total in brackets.`,
    '',
    '| contender | SIGKILL to first answer, ms | connections hung per SIGKILL |',
    '|---|---|---|',
    ...options.recoveryContenders.map(
      (key) => `| ${key}. ${recoverySide(key, options.workers).name} | ${spread(recovery[key])} | ${hungCell(hung[key])} |`,
    ),
  ].join('\n');
}
