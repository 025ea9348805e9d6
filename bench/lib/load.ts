import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { killGroup, trackGroup, untrackGroup } from './run-node.js';

export interface LoadOptions {
  url: string;
  connections: number;
  /** For a run that is stopped by the caller, or one with an `amount`, an upper bound. */
  durationS: number;
  /** Stop after this many requests rather than after `durationS`. */
  amount?: number;
  timeoutS: number;
}

export interface LoadResult {
  /** 2xx answers per second. */
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Completed requests, whatever their status. */
  total: number;
  /** Connection errors and timeouts. */
  errors: number;
  non2xx: number;
  durationS: number;
}

export type LoadJob = { type: 'run'; id: number; options: LoadOptions } | { type: 'stop'; id: number };
export type LoadReply = { id: number; result: LoadResult } | { id: number; error: string };

export interface LoadRun {
  readonly done: Promise<LoadResult>;
  /** Ends the run early; `done` then resolves with what was measured so far. */
  stop(): Promise<LoadResult>;
}

const script = fileURLToPath(new URL('./load-child.js', import.meta.url));

/** Keep-alive load from autocannon in one long-lived child process (see load-child.ts). */
export class LoadGenerator {
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, { resolve: (r: LoadResult) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private exited = false;

  constructor() {
    this.child = spawn(process.execPath, [script], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], detached: true });
    trackGroup(this.child.pid!);
    this.child.on('message', (reply: LoadReply) => {
      const waiter = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if ('error' in reply) waiter?.reject(new Error(`autocannon: ${reply.error}`));
      else waiter?.resolve(reply.result);
    });
    this.child.on('exit', (code, signal) => {
      this.exited = true;
      untrackGroup(this.child.pid!);
      for (const waiter of this.pending.values()) waiter.reject(new Error(`load generator exited (${code ?? signal})`));
      this.pending.clear();
    });
  }

  start(options: LoadOptions): LoadRun {
    if (this.exited) throw new Error('load generator is gone');
    const id = this.nextId++;
    const done = new Promise<LoadResult>((resolve, reject) => {
      // Bounded even if the child hangs: autocannon's own duration plus a margin.
      const timer = setTimeout(() => reject(new Error(`load on ${options.url} did not finish`)), (options.durationS + 30) * 1_000);
      this.pending.set(id, {
        resolve: (r) => (clearTimeout(timer), resolve(r)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
    });
    this.child.send({ type: 'run', id, options } satisfies LoadJob);
    return {
      done,
      stop: () => {
        if (!this.exited) this.child.send({ type: 'stop', id } satisfies LoadJob);
        return done;
      },
    };
  }

  run(options: LoadOptions): Promise<LoadResult> {
    return this.start(options).done;
  }

  async close(): Promise<void> {
    const exited = new Promise((resolve) => (this.exited ? resolve(null) : this.child.once('exit', resolve)));
    killGroup(this.child.pid!);
    await exited;
  }
}
