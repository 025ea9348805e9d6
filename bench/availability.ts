/**
 * Availability during a rolling restart: every worker is replaced while autocannon keeps GET / busy,
 * and every request that did not get a 2xx answer (connection errors, timeouts, non-2xx) counts as
 * failed. The harness (`underLoad`) is shared; each side only says how it triggers the restart.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { contenders, PM2_APP, pm2CliArgs, startContender, type Contender, type Running } from './lib/contenders.js';
import { HOST } from './lib/host.js';
import { getJson, waitForWorkers } from './lib/http.js';
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
  /** Whose crash recovery is timed (the full run: the snippet, nestjs-cluster and PM2). */
  recoveryContenders: readonly RecoveryKey[];
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
  /** SIGKILL of a worker to the first answer of its replacement, per contender, ms. */
  recovery: Record<RecoveryKey, number[]>;
}

export const RECOVERY_CONTENDERS = ['B', 'C', 'D'] as const;
export type RecoveryKey = (typeof RECOVERY_CONTENDERS)[number];

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

/** Crash recovery: SIGKILL one worker, then time until a new worker answers on the port. */
async function recoveryMs(contender: Contender, options: AvailabilityOptions): Promise<number> {
  const running = await startContender(contender, options.workers, { lifetimeMs: 60_000, readyTimeoutMs: 30_000 });
  try {
    const original = new Set(running.workerPids);
    const killedAt = performance.now();
    process.kill(running.workerPids[0]!, 'SIGKILL');
    // Short per-request timeouts: a connection handed to the dying worker must not stall the clock.
    while (performance.now() - killedAt < 30_000) {
      const answer = await getJson<{ pid: number }>(running.port, '/', RECOVERY_POLL_TIMEOUT_MS).catch(() => null);
      if (answer?.status === 200 && !original.has(answer.body.pid)) return performance.now() - killedAt;
      await sleep(RECOVERY_POLL_MS);
    }
    throw new Error(`${contender.name}: no replacement answered within 30 s`);
  } finally {
    await running.stop();
  }
}

export async function benchAvailability(options: AvailabilityOptions): Promise<AvailabilityReport> {
  const pm2: AvailabilityRun[] = [];
  const library: AvailabilityRun[] = [];
  const recovery: Record<RecoveryKey, number[]> = { B: [], C: [], D: [] };
  const all = contenders(options.workers);
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
      const ms = await recoveryMs(all[key], options);
      recovery[key].push(ms);
      options.log(`  round ${round + 1}/${options.rounds} ${all[key].name}: SIGKILL to first answer of the replacement ${ms.toFixed(0)} ms`);
    }
  }
  return { pm2, library, recovery, markdown: availabilityMarkdown(options, pm2, library, recovery, all) };
}

export function availabilityComplete(report: AvailabilityReport, rounds: number, recoveryContenders: readonly RecoveryKey[]): boolean {
  const complete = (runs: AvailabilityRun[]) => runs.length === rounds && allFinite(runs.flatMap((r) => [r.failed, r.total, r.restartMs]));
  const recovered = recoveryContenders.every((key) => report.recovery[key].length === rounds && allFinite(report.recovery[key]));
  return complete(report.pm2) && complete(report.library) && recovered;
}

function availabilityMarkdown(
  options: Omit<AvailabilityOptions, 'log' | 'loader'>,
  pm2: AvailabilityRun[],
  library: AvailabilityRun[],
  recovery: Record<RecoveryKey, number[]>,
  all: Record<RecoveryKey, Contender>,
): string {
  const row = (name: string, runs: AvailabilityRun[]) =>
    `| ${name} | ${spread(runs.map((r) => r.failed))} | ${spread(
      runs.map((r) => (100 * r.failed) / r.total),
      2,
    )} | ${spread(runs.map((r) => r.restartMs))} |`;
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
    `Crash recovery: SIGKILL of one of the ${options.workers} workers, then GET / on a fresh connection every 10 ms until a new ` +
      `worker answers (each try on a fresh connection, given ${RECOVERY_POLL_TIMEOUT_MS} ms); ${options.rounds} rounds, median [min-max].`,
    '',
    '| contender | SIGKILL to first answer of the replacement, ms |',
    '|---|---|',
    ...options.recoveryContenders.map((key) => `| ${all[key].name} | ${spread(recovery[key])} |`),
  ].join('\n');
}
