import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startGroup, type ReadGroup } from './group.js';
import { freePort, waitForWorkers } from './http.js';
import { rssMb } from './procfs.js';

export type ContenderKey = 'A' | 'B' | 'C' | 'D';

export interface Contender {
  readonly key: ContenderKey;
  readonly name: string;
  /** Processes that serve requests; the primary of B and C and PM2's daemon in D do not. */
  readonly workers: number;
}

const script = (name: string) => fileURLToPath(new URL(`../contenders/${name}.js`, import.meta.url));
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const pm2Runtime = join(repoRoot, 'node_modules/.bin/pm2-runtime');
const pm2Cli = join(repoRoot, 'node_modules/.bin/pm2');
export const PM2_APP = 'bench-app';

/** PM2 homes still on disk: removed on the way out too, should the run be interrupted. */
const pm2Homes = new Set<string>();
process.on('exit', () => {
  for (const dir of pm2Homes) rmSync(dir, { recursive: true, force: true });
});

export function contenders(workers: number): Record<ContenderKey, Contender> {
  return {
    A: { key: 'A', name: 'single process', workers: 1 },
    B: { key: 'B', name: 'node:cluster snippet', workers },
    C: { key: 'C', name: 'nestjs-cluster', workers },
    D: { key: 'D', name: 'PM2 cluster mode', workers },
  };
}

export interface Running {
  readonly contender: Contender;
  readonly group: ReadGroup;
  readonly port: number;
  readonly readyMs: number;
  readonly workerPids: number[];
  /** Set for D: where its private PM2 state (and RPC socket) lives. */
  readonly pm2Home?: string;
  /** Mean VmRSS of the serving processes, and of the rest of the group (primary, PM2 daemon). */
  memory(): { perWorkerMb: number; primaryMb: number | null };
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Hard cap on the contender's life, whatever the caller does. */
  lifetimeMs: number;
  readyTimeoutMs: number;
  /** Added to its environment (C: `CLUSTER_STANDBY`, say). */
  env?: Record<string, string>;
}

export async function startContender(contender: Contender, workers: number, options: StartOptions): Promise<Running> {
  const port = await freePort();
  const env: Record<string, string> = { PORT: String(port), BENCH_WORKERS: String(workers), ...options.env };
  let pm2Home: string | undefined;
  let group: ReadGroup;
  switch (contender.key) {
    case 'A':
      group = startGroup(process.execPath, [script('app-process')], env, options.lifetimeMs);
      break;
    case 'B':
      group = startGroup(process.execPath, [script('node-cluster')], env, options.lifetimeMs);
      break;
    case 'C':
      group = startGroup(process.execPath, [script('library')], env, options.lifetimeMs);
      break;
    case 'D': {
      // A short path under the system temp dir: PM2's Unix sockets live in PM2_HOME (108-byte limit).
      pm2Home = mkdtempSync(join(tmpdir(), 'bench-pm2-'));
      pm2Homes.add(pm2Home);
      const ecosystem = join(pm2Home, 'ecosystem.json');
      const app = { name: PM2_APP, script: script('app-process'), instances: workers, exec_mode: 'cluster', env };
      writeFileSync(ecosystem, JSON.stringify({ apps: [app] }));
      group = startGroup(process.execPath, [pm2Runtime, 'start', ecosystem], { PM2_HOME: pm2Home }, options.lifetimeMs);
      break;
    }
  }
  const cleanup = async () => {
    await group.stop();
    if (pm2Home) {
      rmSync(pm2Home, { recursive: true, force: true });
      pm2Homes.delete(pm2Home);
    }
  };
  try {
    const { readyMs, workerPids } = await waitForWorkers(group, port, contender.workers, options.readyTimeoutMs);
    return {
      contender,
      group,
      port,
      readyMs,
      workerPids,
      pm2Home,
      memory() {
        const perWorker = workerPids.map(rssMb);
        return {
          perWorkerMb: perWorker.reduce((a, b) => a + b, 0) / perWorker.length,
          primaryMb: workerPids.includes(group.pid) ? null : rssMb(group.pid),
        };
      },
      stop: cleanup,
    };
  } catch (error) {
    await cleanup();
    throw new Error(`${contender.key} (${contender.name}): ${(error as Error).message}`, { cause: error });
  }
}

/** Runs the `pm2` CLI against D's private daemon, e.g. `pm2 reload bench-app`. */
export function pm2CliArgs(...args: string[]): { script: string; args: string[] } {
  return { script: pm2Cli, args };
}
