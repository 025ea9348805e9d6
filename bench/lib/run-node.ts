import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { createInterface } from 'node:readline';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  lines: string[];
}

/**
 * Process groups this benchmark started and has not yet seen end. Every child runs detached (its own
 * group) so that a whole cluster can be killed at once, which also means a Ctrl-C on the benchmark
 * would not reach them: they are killed here whatever way the benchmark itself ends.
 */
const liveGroups = new Set<number>();
process.on('exit', () => {
  for (const pgid of liveGroups) killGroup(pgid);
});
// A signal's default action would end this process without the 'exit' handlers above.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => process.exit(128 + constants.signals[signal]));
}

export function trackGroup(pgid: number): void {
  liveGroups.add(pgid);
}

export function untrackGroup(pgid: number): void {
  liveGroups.delete(pgid);
}

export function isTrackedGroup(pgid: number): boolean {
  return liveGroups.has(pgid);
}

/**
 * Runs a Node script in its own process group and collects its output. Bounded: after `timeoutMs`
 * the whole group is SIGKILLed, so a stuck contender cannot stall the benchmark.
 */
export function runNode(script: string, env: Record<string, string> = {}, timeoutMs = 120_000, args: string[] = []): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...args], {
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    trackGroup(child.pid!);
    const lines: string[] = [];
    for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream }).on('line', (l) => lines.push(l));
    const timer = setTimeout(() => killGroup(child.pid!), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      killGroup(child.pid!); // leave nothing behind, whatever the contender did
      untrackGroup(child.pid!);
      resolve({ code, signal, lines });
    });
  });
}

export function killGroup(pgid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

/** A line a cluster printed, without the `[w3] ` tag the primary puts before a worker's line. */
export function untagged(line: string): string {
  return line.replace(/^\[w\d+\] /, '');
}

/** The `RESULT {json}` line a contender printed (a worker of a cluster, or a single process). */
export function resultOf<T>(run: RunResult, name: string): T {
  const line = run.lines.map(untagged).find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`${name} printed no RESULT (exit ${run.code ?? run.signal}):\n${run.lines.slice(-20).join('\n')}`);
  return JSON.parse(line.slice('RESULT '.length)) as T;
}
