import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  lines: string[];
}

/**
 * Runs a Node script in its own process group and collects its output. Bounded: after `timeoutMs`
 * the whole group is SIGKILLed, so a stuck contender cannot stall the benchmark.
 */
export function runNode(script: string, env: Record<string, string> = {}, timeoutMs = 120_000): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script], {
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const lines: string[] = [];
    for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream }).on('line', (l) => lines.push(l));
    const timer = setTimeout(() => killGroup(child.pid!), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      killGroup(child.pid!); // leave nothing behind, whatever the contender did
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

/** The `RESULT {json}` line a contender printed. */
export function resultOf<T>(run: RunResult, name: string): T {
  const line = run.lines.find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`${name} printed no RESULT (exit ${run.code ?? run.signal}):\n${run.lines.slice(-20).join('\n')}`);
  return JSON.parse(line.slice('RESULT '.length)) as T;
}
