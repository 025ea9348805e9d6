import { jest } from '@jest/globals';
import { setTimeout } from 'node:timers/promises';
import { DUPLICATE_SIGNAL_MS } from '../src/cluster.constants.js';
import { ClusterProcess, freePort, get, groupMembers, isAlive } from './helpers/cluster-process.js';

// A case boots a cluster (up to a minute on a busy machine) and then watches it.
jest.setTimeout(120_000);

describe('SIGTERM to the primary', () => {
  let app: ClusterProcess;
  afterEach(() => app.killGroup());

  it('lets an in-flight 2 s request finish with 200, then exits 0', async () => {
    const port = await freePort();
    app = ClusterProcess.start({ PORT: String(port), CLUSTER_WORKERS: '2' });
    await app.waitForReady(2);

    const inFlight = get(port, '/slow?ms=2000');
    await app.waitForLine(/SLOW_START/);
    app.signal('SIGTERM');

    // Answered after its full 2 s, though the signal came while it ran: the worker waited for it.
    const answer = await inFlight;
    expect(answer.status).toBe(200);
    expect(answer.body.waitedMs).toBe(2000);
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(
      app
        .events()
        .filter((e) => e.event.type === 'shutdown')
        .map((e) => e.event.reason),
    ).toEqual(['SIGTERM', 'SIGTERM']);
    expect(groupMembers(app.pid)).toEqual([]);
  });

  it('cuts a request still running at the drain deadline, runs the shutdown hooks, and exits 1', async () => {
    const port = await freePort();
    // 80% of shutdown.timeoutMs goes to HTTP, the rest (2 s here, plenty on a busy machine) to the hooks.
    app = ClusterProcess.start({ PORT: String(port), CLUSTER_WORKERS: '1', CLUSTER_SHUTDOWN_TIMEOUT_MS: '10000' });
    await app.waitForReady(1);

    const inFlight = get(port, '/slow?ms=30000', 60_000).catch((error: Error) => error);
    await app.waitForLine(/SLOW_START/);
    app.signal('SIGTERM');

    expect(await app.exited).toEqual({ code: 1, signal: null });
    // The worker's report of what it cut, and when, is the behaviour under test: it is nowhere but in the log.
    expect(app.output()).toMatch(/drain deadline \(8000 ms\) reached: cut 1 connection\(s\) still busy/);
    expect(app.output()).toMatch(/SHUTDOWN_HOOK/);
    expect(String(await inFlight)).toMatch(/socket hang up|ECONNRESET/);
    expect(groupMembers(app.pid)).toEqual([]);
  });

  it('kills a worker whose drain outlasts shutdown.timeoutMs, and exits 1', async () => {
    const port = await freePort();
    app = ClusterProcess.start({
      PORT: String(port),
      CLUSTER_WORKERS: '1',
      CLUSTER_SHUTDOWN_TIMEOUT_MS: '500',
      FIXTURE_HANG_SHUTDOWN: '1',
    });
    const [worker] = await app.waitForReady(1);
    const signalledAt = Date.now();
    app.signal('SIGTERM');

    expect(await app.exited).toEqual({ code: 1, signal: null });
    expect(Date.now() - signalledAt).toBeGreaterThanOrEqual(500);
    expect(isAlive(worker!.pid)).toBe(false);
    expect(app.primaryEvents()).toContainEqual(expect.objectContaining({ type: 'exit', pid: worker!.pid, signal: 'SIGKILL' }));
    expect(app.primaryEvents().at(-1)).toMatchObject({ type: 'stopped', code: 1 });
    // Why the exit code is 1 (the drain outlasted its limit) is told to the operator in the log.
    expect(app.output()).toMatch(/drain took longer than 500 ms: killing 1 worker\(s\)/);
    expect(groupMembers(app.pid)).toEqual([]);
  });

  it('forces the exit on a second signal', async () => {
    const port = await freePort();
    app = ClusterProcess.start({ PORT: String(port), CLUSTER_WORKERS: '1' });
    await app.waitForReady(1);

    const inFlight = get(port, '/slow?ms=30000', 60_000).catch((error: Error) => error);
    await app.waitForLine(/SLOW_START/);
    app.signal('SIGINT');
    await app.waitForPrimaryEvent((e) => e.type === 'shutdown' && e.reason === 'SIGINT', 'the shutdown to start');
    // A repeat inside the duplicate window counts as the same Ctrl-C; this one is a deliberate second.
    await setTimeout(DUPLICATE_SIGNAL_MS + 100);
    app.signal('SIGINT');

    // Killed, not drained: the 30 s request is cut, long before it could have finished.
    expect(await app.exited).toEqual({ code: 1, signal: null });
    expect(String(await inFlight)).toMatch(/socket hang up|ECONNRESET/);
  });

  it('treats the same signal delivered twice at once (a wrapper forwarding Ctrl-C) as one', async () => {
    const port = await freePort();
    app = ClusterProcess.start({ PORT: String(port), CLUSTER_WORKERS: '1' });
    await app.waitForReady(1);

    const inFlight = get(port, '/slow?ms=1000');
    await app.waitForLine(/SLOW_START/);
    app.signal('SIGINT');
    app.signal('SIGINT');

    expect((await inFlight).status).toBe(200);
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(
      app
        .events()
        .filter((e) => e.event.type === 'shutdown')
        .map((e) => e.event.reason),
    ).toEqual(['SIGINT']);
  });
});
