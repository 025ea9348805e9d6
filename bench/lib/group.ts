import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { groupMembers } from './procfs.js';
import { killGroup, trackGroup, untrackGroup } from './run-node.js';

export interface Group {
  /** The leader's pid, which is also the group id. */
  readonly pid: number;
  /** `performance.now()` just before the spawn: the start of every start-to-ready figure. */
  readonly spawnedAt: number;
  /** Null while running. */
  exit(): { code: number | null; signal: NodeJS.Signals | null } | null;
  /** The last lines it printed, for error messages. */
  tail(lines?: number): string;
  /** SIGKILLs the whole group and waits until no member is left. */
  stop(): Promise<void>;
}

/** A group whose output is read line by line. */
export interface ReadGroup extends Group {
  /**
   * Resolves with the first line that `match` accepts, among the last lines it printed or those to come;
   * rejects after `timeoutMs`, or once it exited.
   */
  line(match: (line: string) => boolean, timeoutMs: number): Promise<string>;
}

const KEPT_LINES = 200;

/**
 * Starts a long-running command in its own process group. Bounded: after `lifetimeMs` the group is
 * SIGKILLed even if the caller never stops it.
 */
export function startGroup(command: string, args: string[], env: Record<string, string>, lifetimeMs: number): ReadGroup {
  const spawnedAt = performance.now();
  const child = spawn(command, args, {
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const pid = child.pid!;
  trackGroup(pid);
  const lines: string[] = [];
  const listeners = new Set<(line: string) => void>();
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      lines.push(line);
      if (lines.length > KEPT_LINES) lines.shift();
      for (const listener of listeners) listener(line);
    });
  }
  let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  child.on('exit', (code, signal) => (exited = { code, signal }));
  const deadline = setTimeout(() => killGroup(pid), lifetimeMs);

  return {
    pid,
    spawnedAt,
    exit: () => exited,
    tail: (n = 30) => lines.slice(-n).join('\n'),
    line(match, timeoutMs) {
      const printed = lines.find(match);
      if (printed !== undefined) return Promise.resolve(printed);
      return new Promise((resolve, reject) => {
        const done = () => {
          clearTimeout(timer);
          clearInterval(watch);
          listeners.delete(listener);
        };
        const listener = (line: string) => {
          if (!match(line)) return;
          done();
          resolve(line);
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no such line within ${timeoutMs} ms:\n${lines.slice(-30).join('\n')}`));
        }, timeoutMs);
        const watch = setInterval(() => {
          if (exited === null) return;
          done();
          reject(new Error(`exited (${exited.code ?? exited.signal}) first:\n${lines.slice(-30).join('\n')}`));
        }, 100);
        listeners.add(listener);
      });
    },
    async stop() {
      clearTimeout(deadline);
      killGroup(pid);
      // The leader's exit is not enough: a worker could outlive it in the group.
      for (let i = 0; i < 200 && (exited === null || groupMembers(pid).length > 0); i++) {
        killGroup(pid);
        await sleep(10);
      }
      const left = groupMembers(pid);
      if (left.length > 0) throw new Error(`process group ${pid} still has ${left.join(', ')} after SIGKILL`);
      untrackGroup(pid);
    },
  };
}
