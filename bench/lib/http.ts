import { request } from 'node:http';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { processGroupOf } from './procfs.js';
import type { Group } from './group.js';
import { HOST } from './host.js';

/** A port nothing listens on right now; the contender binds it a moment later. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** One GET on a fresh connection, so the cluster's round robin hands each attempt to the next worker. */
export function getJson<T>(port: number, path: string, timeoutMs = 1_000): Promise<{ status: number; body: T }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: HOST, port, path, agent: false, timeout: timeoutMs, headers: { connection: 'close' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as T });
        } catch (error) {
          reject(error as Error);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** What became of a request on a new connection: an answer, an error (reset, refused), or nothing within the deadline. */
export type Fate = 'answered' | 'failed' | 'hung';

/**
 * `count` GET / on new connections, opened evenly over `overMs`; one that gets neither an answer nor an
 * error (a reset, a refusal) within `hangMs` is `hung`, and is closed.
 */
export function burst(port: number, count: number, overMs: number, hangMs: number): Promise<Fate[]> {
  const one = (): Promise<Fate> =>
    new Promise((resolve) => {
      let settled = false;
      const settle = (fate: Fate) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (fate === 'hung') req.destroy();
        resolve(fate);
      };
      const req = request({ host: HOST, port, path: '/', agent: false, headers: { connection: 'close' } }, (res) => {
        res.resume();
        res.on('end', () => settle(res.statusCode === 200 ? 'answered' : 'failed'));
        res.on('error', () => settle('failed'));
      });
      const timer = setTimeout(() => settle('hung'), hangMs);
      req.on('error', () => settle('failed'));
      req.end();
    });
  return Promise.all(Array.from({ length: count }, (_, i) => sleep((i * overMs) / count).then(one)));
}

export interface Readiness {
  /** Spawn to the answer that completed the set of workers. */
  readyMs: number;
  workerPids: number[];
}

const POLL_MS = 10;

/**
 * Ready means: `workers` distinct processes of the contender's own process group have each answered
 * GET / with 200. The same definition for all four contenders, whatever each one logs or signals.
 */
export async function waitForWorkers(
  group: Group,
  port: number,
  workers: number,
  timeoutMs: number,
  exclude: ReadonlySet<number> = new Set(),
): Promise<Readiness> {
  const pids = new Set<number>();
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const exit = group.exit();
    if (exit) throw new Error(`exited (${exit.code ?? exit.signal}) before ready:\n${group.tail()}`);
    try {
      const { status, body } = await getJson<{ pid: number }>(port, '/');
      if (status === 200 && !exclude.has(body.pid)) {
        // A pid outside the group would mean a stale server on this port, not the contender.
        if (processGroupOf(body.pid) !== group.pid) throw new Error(`port ${port} answered by pid ${body.pid}, not ours`);
        pids.add(body.pid);
        if (pids.size >= workers) return { readyMs: performance.now() - group.spawnedAt, workerPids: [...pids] };
      }
    } catch (error) {
      if ((error as Error).message.includes('not ours')) throw error;
      // not listening yet
    }
    await sleep(POLL_MS);
  }
  throw new Error(`not ready after ${timeoutMs} ms (${pids.size}/${workers} workers answered):\n${group.tail()}`);
}
