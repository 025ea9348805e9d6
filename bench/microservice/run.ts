/**
 * A clustered TCP microservice against one process and the hand-written `cluster.isPrimary` snippet:
 * requests/s under several `ClientProxy` clients, in interleaved rounds; then requests failed by
 * nestjs-cluster's rolling restart (SIGHUP) under that load.
 */
import { ClientProxyFactory, Transport } from '@nestjs/microservices';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { firstValueFrom, timeout } from 'rxjs';
import { startGroup, type Group } from '../lib/group.js';
import { freePort } from '../lib/http.js';
import { killGroup, trackGroup, untrackGroup } from '../lib/run-node.js';
import { median, ratios, ratioSpread, spread } from '../lib/stats.js';

type Key = 'A' | 'B' | 'C';
const NAMES: Record<Key, string> = { A: 'single process', B: 'node:cluster snippet', C: 'nestjs-cluster' };
const SCRIPTS: Record<Key, string> = { A: 'tcp-process', B: 'tcp-snippet', C: 'tcp-library' };
const script = (name: string) => fileURLToPath(new URL(`./${name}.js`, import.meta.url));

export interface MicroserviceSettings {
  rounds: number;
  restartRounds: number;
  clients: number;
  warmupMs: number;
  durationMs: number;
  /** How long the load around a rolling restart lasts: long enough for both replacements to boot. */
  restartWindowMs: number;
  workers: number;
  log: (line: string) => void;
}

interface LoadResult {
  requests: number;
  failed: number;
  seconds: number;
  pids: number[];
}

export interface MicroserviceReport {
  rounds: number;
  /** Requests/s of each contender, per round. */
  rps: Record<Key, number[]>;
  /** Failed requests in the load mixed with each rolling restart, and the requests answered. */
  restarts: Array<{ failed: number; requests: number }>;
  markdown: string;
}

export async function benchMicroservice(settings: MicroserviceSettings): Promise<MicroserviceReport> {
  const { rounds, log } = settings;
  const rps: Record<Key, number[]> = { A: [], B: [], C: [] };
  for (let round = 0; round < rounds; round++) {
    const order = (['A', 'B', 'C'] as const).map((_, i, keys) => keys[(i + round) % keys.length]!);
    const line: string[] = [];
    for (const key of order) {
      const running = await start(key, settings);
      try {
        const result = await load(running.port, settings, settings.durationMs);
        rps[key].push(result.requests / result.seconds);
        line.push(`${key} ${(result.requests / result.seconds).toFixed(0)}`);
      } finally {
        await running.group.stop();
      }
    }
    log(`  tcp ${round + 1}/${rounds} ${order.join('')}: ${line.join(', ')} req/s`);
  }

  const restarts: MicroserviceReport['restarts'] = [];
  for (let round = 0; round < settings.restartRounds; round++) {
    const running = await start('C', settings);
    try {
      const result = await load(running.port, settings, settings.restartWindowMs, 1_000, () => process.kill(running.group.pid, 'SIGHUP'));
      const doneLine = /rolling restart \(SIGHUP\) done/.test(running.group.tail(200));
      if (!doneLine) throw new Error(`the rolling restart did not finish within the load:\n${running.group.tail()}`);
      restarts.push({ failed: result.failed, requests: result.requests });
      log(`  tcp rolling restart ${round + 1}/${settings.restartRounds}: ${result.failed} failed of ${result.requests + result.failed}`);
    } finally {
      await running.group.stop();
    }
  }
  return { rounds, rps, restarts, markdown: markdown(rps, restarts, settings) };
}

async function start(key: Key, settings: MicroserviceSettings): Promise<{ group: Group; port: number }> {
  const port = await freePort();
  const group = startGroup(process.execPath, [script(SCRIPTS[key])], { PORT: String(port), BENCH_WORKERS: String(settings.workers) }, 120_000);
  try {
    await waitForWorkers(port, key === 'A' ? 1 : settings.workers, 30_000);
    return { group, port };
  } catch (error) {
    await group.stop();
    throw new Error(`${key} (${NAMES[key]}): ${(error as Error).message}\n${group.tail()}`, { cause: error });
  }
}

/** Until fresh connections have reached every worker (the primary hands them out in turn). */
async function waitForWorkers(port: number, workers: number, timeoutMs: number): Promise<void> {
  const pids = new Set<number>();
  const started = Date.now();
  while (pids.size < workers) {
    if (Date.now() - started > timeoutMs) throw new Error(`only ${pids.size} of ${workers} worker(s) answered within ${timeoutMs} ms`);
    const client = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port } });
    try {
      const answer = await firstValueFrom(client.send<{ pid: number }>('echo', { n: 0 }).pipe(timeout(1_000)));
      pids.add(answer.pid);
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      client.close();
    }
  }
}

/** Runs the load child; `onSignal` is called when it says `SIGNAL` (after `signalAfterMs` of measuring). */
function load(port: number, settings: MicroserviceSettings, durationMs: number, signalAfterMs?: number, onSignal?: () => void): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      PORT: String(port),
      BENCH_CLIENTS: String(settings.clients),
      BENCH_WARMUP_MS: String(settings.warmupMs),
      BENCH_DURATION_MS: String(durationMs),
      NO_COLOR: '1',
    };
    if (signalAfterMs !== undefined) env.BENCH_SIGNAL_AFTER_MS = String(signalAfterMs);
    const child = spawn(process.execPath, [script('tcp-load')], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    trackGroup(child.pid!);
    const lines: string[] = [];
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      if (line === 'SIGNAL') onSignal?.();
    });
    createInterface({ input: child.stderr! }).on('line', (line) => lines.push(line));
    const timer = setTimeout(() => killGroup(child.pid!), durationMs + settings.warmupMs + 30_000);
    child.on('exit', () => {
      clearTimeout(timer);
      killGroup(child.pid!);
      untrackGroup(child.pid!);
      const result = lines.find((l) => l.startsWith('RESULT '));
      if (result) resolve(JSON.parse(result.slice('RESULT '.length)) as LoadResult);
      else reject(new Error(`the TCP load printed no RESULT:\n${lines.slice(-20).join('\n')}`));
    });
  });
}

function markdown(rps: Record<Key, number[]>, restarts: MicroserviceReport['restarts'], settings: MicroserviceSettings): string {
  const rows = (['A', 'B', 'C'] as const).map((key) => `| ${key}. ${NAMES[key]} | ${spread(rps[key])} |`);
  const failed = restarts.map((r) => r.failed);
  const total = restarts.map((r) => r.failed + r.requests);
  return [
    `${settings.clients} \`ClientProxy\` clients (Nest's \`ClientTCP\`, one connection each), each sending a tiny \`echo\` request and waiting for its answer, for ${settings.durationMs / 1_000} s after a ${settings.warmupMs / 1_000} s warm-up; the contenders (bench/microservice) take turns, the order rotating each round; ${settings.rounds} rounds, median [min-max]. ${settings.workers} workers for B and C.`,
    '',
    '| contender | requests/s |',
    '|---|---|',
    ...rows,
    '',
    `| ratio (median of per-round ratios) | requests/s |`,
    '|---|---|',
    `| C/B | ${ratioSpread(ratios(rps.C, rps.B))} |`,
    `| C/A | ${ratioSpread(ratios(rps.C, rps.A))} |`,
    '',
    `Rolling restart of C (SIGHUP) 1 s into the same load, measured for ${settings.restartWindowMs / 1_000} s: ${restarts.length} rounds, failed requests ${failed.length ? `${median(failed)} [${Math.min(...failed)}-${Math.max(...failed)}]` : 'no figure'} of ${total.length ? median(total).toFixed(0) : '?'} (the open connections are handed to each replacement; see the README).`,
  ].join('\n');
}
