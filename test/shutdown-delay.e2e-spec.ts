import { jest } from '@jest/globals';
import { setTimeout } from 'node:timers/promises';
import { ClusterProcess, freePort, get, groupMembers } from './helpers/cluster-process.js';

// A case boots a cluster (up to a minute on a busy machine), then stops it over several seconds.
jest.setTimeout(120_000);

const DELAY_MS = 3_000;

/** Waits until `ms` after `since` (a moment the test is about, not a wait for something to happen). */
const until = (since: number, ms: number) => setTimeout(Math.max(0, since + ms - Date.now()));

describe('shutdown.delayMs (CLUSTER_SHUTDOWN_DELAY_MS): readiness down at once, serving on, then the drain', () => {
  let app: ClusterProcess;
  afterEach(() => app?.killGroup());

  async function start(): Promise<number> {
    const port = await freePort();
    app = ClusterProcess.start({ PORT: String(port), CLUSTER_WORKERS: '2', CLUSTER_SHUTDOWN_DELAY_MS: String(DELAY_MS) });
    await app.waitForReady(2);
    expect(await get(port, '/health/ready')).toMatchObject({ status: 200, body: { info: { traffic: { status: 'up', stopping: false } } } });
    return port;
  }

  /** 1 s after the signal: requests are served (fresh connections, both workers), readiness says 503. */
  async function duringTheDelay(port: number, signalledAt: number): Promise<void> {
    await app.waitForPrimaryEvent((e) => e.type === 'shutdown', 'the shutdown event');
    await until(signalledAt, 1_000);
    const served = new Set<number>();
    for (let i = 0; i < 10; i++) {
      const answer = await get(port, '/');
      expect(answer.status).toBe(200);
      served.add(answer.body.pid);
    }
    expect(served.size).toBe(2);
    for (let i = 0; i < 4; i++) {
      const ready = await get(port, '/health/ready');
      expect(ready).toMatchObject({ status: 503, body: { error: { traffic: { status: 'down', stopping: true, draining: false } } } });
    }
    // Nothing drains yet: no shutdown hook ran.
    expect(app.lines.filter((l) => l.startsWith('SHUTDOWN_HOOK'))).toEqual([]);
    expect(Date.now() - signalledAt).toBeLessThan(DELAY_MS);
  }

  it('SIGTERM to the primary: 1 s later requests get 200 and readiness 503; the cluster drains after the delay and exits 0', async () => {
    const port = await start();
    const signalledAt = Date.now();
    app.signal('SIGTERM');
    await duringTheDelay(port, signalledAt);

    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalledAt).toBeGreaterThanOrEqual(DELAY_MS);
    expect(app.lines.filter((l) => l.startsWith('SHUTDOWN_HOOK'))).toHaveLength(2);
    expect(app.primaryEvents().at(-1)).toMatchObject({ type: 'stopped', code: 0 });
    expect(groupMembers(app.pid)).toEqual([]);
  });

  it('SIGTERM to the whole process group (Ctrl-C, a container runtime): the workers wait for the primary rather than drain on their own', async () => {
    const port = await start();
    const signalledAt = Date.now();
    process.kill(-app.pid, 'SIGTERM');
    await duringTheDelay(port, signalledAt);
    // Past the 1 s after which a worker signalled alone drains itself: still serving.
    await until(signalledAt, 2_000);
    expect((await get(port, '/')).status).toBe(200);

    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalledAt).toBeGreaterThanOrEqual(DELAY_MS);
    expect(groupMembers(app.pid)).toEqual([]);
  });
});
