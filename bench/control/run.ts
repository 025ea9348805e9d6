/**
 * How long `nestjs-cluster status` takes to answer on a node of many workers: one cluster of a small
 * app (small-app.ts) with its control socket, booted once, then, each round, the command as an
 * operator runs it (`status --json`, from its start to its exit, Node's own start included) and the
 * primary's answer alone (the request on the socket to the last byte of the reply). Both include the
 * quarter second over which the primary samples each worker's CPU share. The `control` section of
 * `npm run bench`; alone:
 *
 *   npm run build:bench && node bench/dist/control/run.js [--rounds 20] [--workers 16]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startGroup, type Group } from '../lib/group.js';
import { freePort } from '../lib/http.js';
import { allFinite, median, spread } from '../lib/stats.js';

export interface ControlSettings {
  rounds: number;
  workers: number;
  log?: (line: string) => void;
}

export interface ControlReport {
  rounds: number;
  workers: number;
  /** `nestjs-cluster status --json`, spawn to exit, ms. */
  commandMs: number[];
  /** The status request on the socket to its reply, ms. */
  answerMs: number[];
  /** Start of the primary to every worker ready in the status, ms. */
  bootMs: number;
  markdown: string;
}

/** What `status --json` answers, as far as this bench reads it. */
interface Status {
  readonly processes: ReadonlyArray<{ readonly state: string }>;
}

type CallControl = (socket: string, request: { verb: 'status' }) => Promise<{ ok: boolean; result?: unknown; error?: { message: string } }>;

const script = fileURLToPath(new URL('./small-app.js', import.meta.url));
const cli = fileURLToPath(new URL('../../../dist/cli/nestjs-cluster.js', import.meta.url));
/** The library's own client of the control socket, as the command uses it. */
const { callControl } = (await import(new URL('../../../dist/control/control-client.js', import.meta.url).href)) as { callControl: CallControl };

/** Runs the command as an operator would; resolves with its exit code, its output and how long it took. */
function runCommand(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr, ms: performance.now() - started })));
}

/** Asks for the status on the socket until every one of `workers` is ready in it; resolves when it is. */
async function waitForReady(socket: string, workers: number, group: Group, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (group.exit()) throw new Error(`the cluster exited (${JSON.stringify(group.exit())}):\n${group.tail()}`);
    const reply = await callControl(socket, { verb: 'status' }).catch(() => undefined);
    const ready = reply?.ok ? (reply.result as Status).processes.filter((p) => p.state === 'ready').length : 0;
    if (ready === workers) return;
    if (performance.now() > deadline) throw new Error(`${ready} of ${workers} workers ready after ${timeoutMs} ms:\n${group.tail()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export async function benchControl({ rounds, workers, log = () => undefined }: ControlSettings): Promise<ControlReport> {
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-cluster-control-bench-'));
  const socket = join(dir, 'ctl.sock');
  // Many Nest boots at once on a small machine take long: a generous ready timeout, so that none counts as failed.
  const env = {
    PORT: String(await freePort()),
    BENCH_WORKERS: String(workers),
    CLUSTER_CONTROL_SOCKET: socket,
    CLUSTER_LOGS: 'inherit',
    CLUSTER_READY_TIMEOUT_MS: '300000',
  };
  const group = startGroup(process.execPath, [script], env, 300_000 + rounds * 5_000);
  const commandMs: number[] = [];
  const answerMs: number[] = [];
  try {
    await waitForReady(socket, workers, group, 240_000);
    const bootMs = performance.now() - group.spawnedAt;
    log(`  control: ${workers} workers ready in ${(bootMs / 1000).toFixed(1)} s`);
    for (let round = 0; round < rounds; round++) {
      const run = await runCommand(['status', '--json', '--socket', socket]);
      const status = run.code === 0 ? (JSON.parse(run.stdout) as Status) : undefined;
      if (status?.processes.length !== workers)
        throw new Error(`status --json: exit code ${run.code}, ${status?.processes.length} processes; ${run.stderr}`);
      commandMs.push(run.ms);
      const asked = performance.now();
      const reply = await callControl(socket, { verb: 'status' });
      answerMs.push(performance.now() - asked);
      if (!reply.ok) throw new Error(`status: ${reply.error?.message}`);
    }
    log(`  control: status --json ${median(commandMs).toFixed(0)} ms, the answer alone ${median(answerMs).toFixed(0)} ms (medians of ${rounds})`);
    return { rounds, workers, commandMs, answerMs, bootMs, markdown: controlMarkdown(rounds, workers, commandMs, answerMs, bootMs) };
  } finally {
    await group.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function controlMarkdown(rounds: number, workers: number, commandMs: number[], answerMs: number[], bootMs: number): string {
  return [
    `One cluster of a small app, ${workers} workers (booted once, all ready after ${(bootMs / 1000).toFixed(1)} s), ${rounds} round(s); medians [min-max]. ` +
      "Both figures include the 250 ms over which the primary samples each worker's CPU share.",
    '',
    '| | ms |',
    '|---|---|',
    `| \`nestjs-cluster status --json\`, from the command's start to its exit | ${spread(commandMs)} |`,
    `| the primary's answer alone: the request on the control socket to its reply | ${spread(answerMs)} |`,
  ].join('\n');
}

export function controlComplete(report: ControlReport): boolean {
  return (
    report.commandMs.length === report.rounds && report.answerMs.length === report.rounds && allFinite([...report.commandMs, ...report.answerMs])
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const option = (flag: string, fallback: number): number => {
    const i = process.argv.indexOf(flag);
    const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
    if (!(Number.isInteger(value) && value > 0)) throw new Error(`${flag}: expected a whole number > 0`);
    return value;
  };
  const report = await benchControl({
    rounds: option('--rounds', 20),
    workers: option('--workers', 16),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  const { markdown, ...figures } = report;
  process.stdout.write(
    `${markdown}\nRESULT ${JSON.stringify({ ...figures, commandMedianMs: median(figures.commandMs), answerMedianMs: median(figures.answerMs) })}\n`,
  );
  process.exit(0);
}
